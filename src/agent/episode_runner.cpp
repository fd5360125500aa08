#include "agent/episode_runner.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/streams.h"
#include "core/timer.h"

namespace latco {

EpisodeStats run_episode(Env& env, const Rssm& model, Planner* planner, const ActSettings& s, uint64_t seed,
                         Episode* record, PlanResult* first_plan) {
  const int A = env.action_dim(), Z = model.latent_dim();
  LATCO_CHECK(model.action_dim() == A) << "model has " << model.action_dim() << " actions, task " << env.name()
                                       << " has " << A;
  LATCO_CHECK(s.replan_every >= 1) << "replan_every must be at least 1";
  Timer clock;
  EpisodeStats st;
  Rng noise = Rng(seed).derive(streams::kActionNoise);
  Rng plan_seeds = Rng(seed).derive(streams::kPlanSeeds);
  Rng random_policy = Rng(seed).derive(streams::kRandomPolicy);

  Observation obs = env.reset(seed);
  std::vector<float> act(A, 0.0f), zero(A, 0.0f), z(Z);
  if (record) {
    *record = Episode();
    record->H = obs.height;
    record->W = obs.width;
    record->A = A;
    record->append(obs.image.data(), nullptr, 0.0f, false);
  }
  // Line 4: infer the latent from the first image (the action into it is zero).
  RssmState state;
  if (planner) state = model.filter_step(model.initial_state(), zero.data(), obs.image.data());
  if (planner) planner->reset();

  std::vector<float> cached;  // (T_cache, A) from the last plan
  int next = 0;
  for (int t = 0; t < env.time_limit(); ++t) {
    if (planner) {
      if (next >= static_cast<int>(cached.size()) / A || next >= s.replan_every) {
        // Lines 5-9: plan H steps from the filtered latent.
        model.latent(state, z.data());
        if (st.plans > 0) planner->shift(next);  // warm starts continue from the executed prefix
        Timer pt;
        const PlanResult& p = planner->plan(z.data(), plan_seeds.derive(st.plans).next_u64());
        st.plan_seconds += pt.seconds();
        if (st.plans == 0) {
          st.predicted_return = p.predicted_return;
          if (first_plan) *first_plan = p;
        }
        ++st.plans;
        const int keep = std::min<int>(s.replan_every, static_cast<int>(p.actions.size(0)));
        cached.assign(p.actions.data(), p.actions.data() + keep * A);
        next = 0;
      }
      for (int i = 0; i < A; ++i) {
        float a = cached[next * A + i];
        if (s.action_noise > 0) a += s.action_noise * noise.normal();
        act[i] = std::clamp(a, -1.0f, 1.0f);
      }
      ++next;
    } else {
      for (int i = 0; i < A; ++i) act[i] = random_policy.uniform(-1.0f, 1.0f);
    }
    // Line 10: execute in the environment.
    StepResult r = env.step(act.data());
    st.ret += r.reward;
    st.success = st.success || r.success;
    ++st.steps;
    if (record) record->append(r.obs.image.data(), act.data(), r.reward, r.success);
    if (r.done) break;
    if (planner) state = model.filter_step(state, act.data(), r.obs.image.data());
  }
  st.env_steps = st.steps * env.action_repeat();
  st.seconds = clock.seconds();
  st.outcome = env.outcome();
  return st;
}

}  // namespace latco
