// `latco train` (Algorithm 1 online, or offline-plus-online with offline_data)
// and `latco eval` (a trained run with any planner).
#include <cstdio>
#include <filesystem>

#include "agent/agent.h"
#include "agent/evaluation.h"
#include "core/command.h"
#include "core/device_select.h"
#include "io/checkpoint.h"
#include "model/rssm_latent_model.h"
#include "plan/planner.h"

namespace latco {
namespace {

std::string default_run_name(const Config& cfg) {
  return "runs/" + cfg.get_string("task", "reach") + "-" + cfg.get_string("planner", "latco") + "-s" +
         std::to_string(cfg.get_int("seed", 0));
}

}  // namespace

LATCO_COMMAND(train,
              "online MBRL (Algorithm 1): --config FILE [--out runs/NAME] [--resume] [--dry-run] [key=value ...]") {
  Config cfg = args.has("config") ? Config::load(args.get("config")) : Config();
  for (const auto& kv : args.overrides) cfg.override_with(kv);
  const bool resume = args.has("resume");
  // --dry-run resolves every key and builds the environment, model and planner, then stops:
  // it writes nothing, reads no offline data and allocates no replay.
  const bool dry_run = args.has("dry-run");
  std::string out = args.get("out", "");
  args.check_all_read("train");
  if (out.empty()) {
    Config probe = cfg;  // reading keys marks them used: probe a copy
    out = default_run_name(probe);
  }
  if (dry_run) {
    Agent agent(cfg, out, resume, true, true);
    std::printf("train --dry-run: every key resolved; would write %s/\n%s", out.c_str(), agent.summary().c_str());
    return 0;
  }
  Agent agent(cfg, out, resume);
  agent.run();
  std::printf("train: done: %lld episodes, %lld env steps, %lld gradient steps; metrics in %s/metrics.csv\n",
              (long long)agent.episodes_done(), (long long)agent.env_steps(), (long long)agent.grad_steps(),
              out.c_str());
  return 0;
}

LATCO_COMMAND(eval, "evaluate a run: --run runs/NAME [--planner P] [--episodes N] [--seed S] [key=value ...]") {
  const std::string run = args.get("run");
  LATCO_CHECK(!run.empty()) << "eval: --run runs/NAME is required";
  Config cfg = Config::load(run + "/config.yaml");
  for (const auto& kv : args.overrides) cfg.override_with(kv);
  if (args.has("planner")) cfg.override_with("planner=" + args.get("planner"));
  const int episodes = static_cast<int>(args.get_int("episodes", 10));
  const uint64_t seed = static_cast<uint64_t>(args.get_int("seed", 1000));
  args.check_all_read("eval");

  AgentSettings s;
  RssmSettings ms;
  cfg.apply(s);
  cfg.apply(ms);
  EnvSettings es;
  es.image_size = ms.image_size;
  es.time_limit = s.time_limit;
  auto env = make_env(s.task, es);
  Rssm model(ms, env->action_dim(), s.seed);
  if (select_device(s.device, s.require_device, "eval", cfg.where("device")) == Device::CUDA)
    std::printf("eval: evaluation plans on the CPU in this build (the device serves training and train's planner)\n");
  ModelTrainer trainer(model, s.seed);
  const std::string ck = latest_checkpoint(run + "/checkpoints");
  if (ck.empty()) LATCO_FAIL("eval: no checkpoint in " << run << "/checkpoints");
  trainer.load(load_checkpoint(ck), ck);
  std::printf("eval: %s (%lld gradient steps), task %s, %d episodes\n", ck.c_str(), (long long)trainer.steps(),
              s.task.c_str(), episodes);
  // A run's config holds its own planner's keys, whichever planner evaluates: check every key now.
  read_planner_keys(cfg, RssmLatentModel(model.transition()), s.horizon);
  cfg.check_all_used();
  EvalSummary r = evaluate_planner(*env, model, s.planner, cfg, s.horizon, s.replan_every, episodes, seed);
  std::printf("%s", format_eval_table({r}, false).c_str());
  return 0;
}

}  // namespace latco
