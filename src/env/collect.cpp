#include "env/collect.h"

#include <vector>

#include "core/error.h"
#include "core/streams.h"

namespace latco {

Episode collect_episode(Env& env, Expert* expert, uint64_t seed, int hold) {
  LATCO_CHECK(hold >= 1) << "collect: hold must be at least 1, got " << hold;
  Episode e;
  e.H = e.W = env.image_size();
  e.A = env.action_dim();
  Observation o = env.reset(seed);
  if (expert) expert->reset(seed);
  Rng rng = Rng(seed).derive(streams::kCollectActions);
  e.append(o.image.data(), nullptr, 0.0f, env.success());
  std::vector<float> a(env.action_dim());
  std::vector<double> state = env.state();
  for (int t = 0;; ++t) {
    if (expert) {
      expert->act(state, a.data());
    } else if (t % hold == 0) {
      for (float& x : a) x = rng.uniform(-1.0f, 1.0f);
    }
    StepResult r = env.step(a.data());
    e.append(r.obs.image.data(), a.data(), r.reward, r.success);
    state = r.state;
    if (r.done) break;
  }
  return e;
}

}  // namespace latco
