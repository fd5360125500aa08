#include "agent/pictures.h"

#include <algorithm>
#include <cstdio>

#include "agent/agent.h"
#include "model/rssm_latent_model.h"
#include "plan/planner.h"

namespace latco {

std::vector<Image> episode_frames(const Episode& e, const std::string& title, int scale) {
  std::vector<Image> frames;
  double ret = 0;
  char line[128];
  for (int t = 0; t < e.T; ++t) {
    Image im(e.H, e.W);
    std::copy(e.image.begin() + size_t(t) * e.H * e.W * 3, e.image.begin() + size_t(t + 1) * e.H * e.W * 3,
              im.rgb.begin());
    ret += e.reward[t];
    std::snprintf(line, sizeof line, "t=%d  return %.1f%s", t, ret, e.success[t] ? "  success" : "");
    frames.push_back(with_title(scale > 1 ? upscale(im, scale) : im, {title, line}));
  }
  pad_to_common_size(frames);  // the titles differ in width
  return frames;
}

std::vector<Image> plan_iteration_frames(Env& env, const Rssm& model, const std::string& planner, const Config& cfg,
                                         int horizon, uint64_t episode_seed, uint64_t plan_seed) {
  if (planner.rfind("latco", 0) != 0 || planner == "latco_no_second_order") return {};
  RssmLatentModel latent(model.transition());
  Observation o = env.reset(episode_seed);
  std::vector<float> zero(env.action_dim(), 0.0f), z0(model.latent_dim());
  model.latent(model.filter_step(model.initial_state(), zero.data(), o.image.data()), z0.data());
  const int full = int(cfg.get_int("latco_iterations", 200));
  std::vector<int> ks;
  for (int k : {0, 1, 2, 3, 5, 8, 12, 20, 35, 50, 80, 120, 200, 300, 500})
    if (k < full) ks.push_back(k);
  ks.push_back(full);
  std::vector<Image> frames;
  char line[160];
  for (int k : ks) {
    Config c = cfg;
    c.override_with("latco_iterations=" + std::to_string(k));
    auto p = make_planner(planner, latent, horizon, c);
    const PlanResult& r = p->plan(z0.data(), plan_seed);
    const IterStats last = r.iters.empty() ? IterStats{} : r.iters.back();
    std::snprintf(line, sizeof line, "after %d iterations: planned reward %.2f, dynamics violation %.2g", k,
                  last.reward, last.dyn_violation);
    frames.push_back(with_title(upscale(decode_latents(model, r.latents, std::max(1, horizon / 10)), 2),
                                {planner + " plan decoded, z_0 .. z_H left to right", line}));
  }
  pad_to_common_size(frames);  // the titles differ in width
  return frames;
}

}  // namespace latco
