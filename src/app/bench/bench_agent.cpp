// `latco bench agent`: environment steps per second of the acting loop (filter,
// plan with LatCo every T_cache steps, act, render) on a tabletop task with the
// CPU-scale config (configs/base/cpu.yaml); training excluded.
#include "agent/episode_runner.h"
#include "app/command.h"
#include "kernels/flops.h"
#include "model/rssm_latent_model.h"

namespace latco {

int bench_agent(const Args& args) {
  Config cfg = Config::load(args.get("config", "configs/base/cpu.yaml"));
  for (const auto& kv : args.overrides) cfg.override_with(kv);
  const int steps = static_cast<int>(args.get_int("steps", 60));
  args.check_all_read("bench agent");
  RssmSettings ms;
  cfg.apply(ms);
  const int horizon = static_cast<int>(cfg.get_int("horizon", 30));
  const int replan = static_cast<int>(cfg.get_int("replan_every", 30));
  EnvSettings es;
  es.image_size = ms.image_size;
  es.time_limit = steps;
  auto env = make_env(cfg.get_string("task", "reach"), es);
  Rssm model(ms, env->action_dim(), 0);
  RssmLatentModel latent(model.transition());
  auto planner = make_planner("latco", latent, horizon, cfg);
  EpisodeStats st = run_episode(*env, model, planner.get(), ActSettings{replan, 0.0f}, 1, nullptr);
  bench_print("agent_env_steps_per_s", st.env_steps / st.seconds, "steps/s");
  bench_print("agent_plan_s", st.plan_seconds / st.plans, "s");
  return 0;
}

}  // namespace latco
