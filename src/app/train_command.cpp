// `latco train` (Algorithm 1 online, or offline-plus-online with offline_data)
// and `latco eval` (a trained run with any planner).
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "agent/agent.h"
#include "agent/evaluation.h"
#include "agent/pictures.h"
#include "app/command.h"
#include "app/manifest.h"
#include "core/device_select.h"
#include "io/checkpoint.h"
#include "io/gif.h"
#include "model/rssm_latent_model.h"
#include "plan/planner.h"

namespace latco {
namespace {

std::string default_run_name(const Config& cfg) {
  return "runs/" + cfg.get_string("task", "reach") + "-" + cfg.get_string("planner", "latco") + "-s" +
         std::to_string(cfg.get_int("seed", 0));
}

void write_file_text(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
  if (!f) LATCO_FAIL("cannot write " << path);
}

}  // namespace

int cmd_train(const Args& args) {
  Config cfg = args.has("config") ? Config::load(args.get("config")) : Config();
  for (const auto& kv : args.overrides) cfg.override_with(kv);
  const bool resume = args.has("resume");
  // --dry-run resolves every key and builds the environment, model and planner, then stops:
  // it writes nothing, reads no offline data and allocates no replay.
  const bool dry_run = args.has("dry-run");
  std::string out = args.get("out", "");
  const std::string force = args.has("force-changes") ? args.get("force-changes") : "";
  const bool with_host = !args.has("no-host");  // manifests meant to be committed
  args.check_all_read("train");
  if (!force.empty() && !resume) LATCO_FAIL("train: --force-changes only applies with --resume");
  if (out.empty()) {
    Config probe = cfg;  // reading keys marks them used: probe a copy
    out = default_run_name(probe);
  }
  // A resumed run continues from its stored config.yaml; what is given now may only change it as allowed.
  if (resume) cfg = resume_config(out, cfg, force);
  if (dry_run) {
    Agent agent(cfg, out, resume, true, true);
    std::printf("train --dry-run: every key resolved; would write %s/\n%s", out.c_str(), agent.summary().c_str());
    return 0;
  }
  if (!resume && !latest_checkpoint(out + "/checkpoints").empty())  // before the manifest is touched
    LATCO_FAIL(out << " already holds a run: pass --resume to continue it, or choose another --out");
  // manifest.yaml records this attempt: its start now, its end and exit status below.
  RunManifest manifest(out, "train", cfg, resume ? latest_checkpoint(out + "/checkpoints") : "", with_host);
  try {
    Agent agent(cfg, out, resume);
    if (const int sig = agent.run()) {  // stopped by a signal after writing a checkpoint
      manifest.finish(128 + sig, true);
      return 128 + sig;
    }
    const int64_t total = agent.settings().prefill_episodes + agent.settings().episodes;
    manifest.finish(0, agent.episodes_done() < total);
    std::printf("train: done: %lld episodes, %lld env steps, %lld gradient steps; metrics in %s/metrics.csv\n",
                (long long)agent.episodes_done(), (long long)agent.env_steps(), (long long)agent.grad_steps(),
                out.c_str());
  } catch (const std::exception& e) {
    manifest.fail(e.what());
    throw;
  }
  return 0;
}

int cmd_eval(const Args& args) {
  const std::string run = args.get("run");
  LATCO_CHECK(!run.empty()) << "eval: --run runs/NAME is required";
  Config cfg = Config::load(run + "/config.yaml");
  for (const auto& kv : args.overrides) cfg.override_with(kv);
  if (args.has("planner")) cfg.override_with("planner=" + args.get("planner"));
  // A `latco train-model` folder: its config holds the model's keys and its training keys, and
  // no task; evaluation keeps the model's keys and what the command line gives (task=NAME).
  if (cfg.has("train_steps")) {
    Config kept;
    for (const auto& [k, e] : cfg.entries())
      if (k.rfind("model_", 0) == 0 || k == "seed" || e.source == "command line") kept.set(k, e.value);
    if (!kept.has("task")) LATCO_FAIL(run << " is a train-model folder, which does not name its task: add task=NAME");
    cfg = kept;
  }
  const int episodes = static_cast<int>(args.get_int("episodes", 10));
  const uint64_t seed = static_cast<uint64_t>(args.get_int("seed", 1000));
  std::string out = args.get("out", "");
  args.check_all_read("eval");

  AgentSettings s;
  RssmSettings ms;
  cfg.apply(s);
  cfg.apply(ms);
  auto env = make_run_env(s, ms);
  Rssm model(ms, env->action_dim(), s.seed);
  const Device device = select_device(s.device, s.require_device, "eval", cfg.where("device"));
  ModelTrainer trainer(model, s.seed);
  const std::string ck = latest_checkpoint(run + "/checkpoints");
  if (ck.empty()) LATCO_FAIL("eval: no checkpoint in " << run << "/checkpoints");
  trainer.load(load_checkpoint(ck), ck);
  std::printf("eval: %s (%lld gradient steps), task %s, %d episodes\n", ck.c_str(), (long long)trainer.steps(),
              s.task.c_str(), episodes);
  // A run's config holds its own planner's keys, whichever planner evaluates: check every key now.
  read_planner_keys(cfg);
  cfg.check_all_used();
  std::vector<Episode> eps;
  EvalSummary r = evaluate_planner(*env, model, s.planner, cfg, s.horizon, s.replan_every, episodes, seed, &eps, ProgressSlot(), device);
  std::printf("%s", format_eval_table({r}, false).c_str());
  // Pictures of the first episode and of the planner's first plan, in --out (default RUN/eval_PLANNER).
  if (out.empty()) out = run + "/eval_" + s.planner;
  std::filesystem::create_directories(out);
  write_file_text(out + "/results.md", format_eval_table({r}, true));
  const std::string title = s.task + ", planner " + s.planner + ", episode 0";
  write_gif(out + "/episode.gif", episode_frames(eps[0], title, 4), 8);
  write_png(out + "/episode.png", with_title(episode_sheet(eps[0], 5, 10),
                                             {title, "every 5th step; * = success at that step"}));
  std::vector<Image> plan = plan_iteration_frames(*env, model, s.planner, cfg, s.horizon, Rng(seed).derive(0).next_u64(), 0);
  if (!plan.empty()) write_gif(out + "/plan.gif", plan, 60);
  std::printf("eval: wrote %s/: results.md episode.gif episode.png%s\n", out.c_str(), plan.empty() ? "" : " plan.gif");
  return 0;
}

}  // namespace latco
