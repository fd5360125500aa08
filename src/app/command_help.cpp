// `latco train --help` and `latco eval --help` (their config keys: the agent's, the model's and
// every planner's), and `latco list tasks|planners`.
#include <cstdio>

#include "agent/agent.h"
#include "app/command.h"
#include "app/key_help.h"
#include "model/rssm_latent_model.h"
#include "plan/planner.h"

namespace latco {
namespace {

// The keys of a run's config: agent, model, and every planner's (the planner table's keys column).
std::vector<HelpLine> run_keys() {
  return config_keys([](const Config& cfg) {
    AgentSettings s;
    RssmSettings ms;
    cfg.apply(s);
    cfg.apply(ms);
    read_planner_keys(cfg);
  });
}

}  // namespace

CommandHelp help_train() {
  return CommandHelp{"latco train --config FILE [--out DIR] [--dry-run] [--no-host] [key=value ...] | "
                           "latco train --resume --out DIR [--force-changes KEY,...] [key=value ...]",
                           {{"--config", "", "config file (configs/cpu/*.yaml, configs/paper/*.yaml); none: defaults"},
                            {"--out", "runs/TASK-PLANNER-sSEED", "run folder: config.yaml, metrics.csv, checkpoints/, "
                                                                  "episodes/, eval/, plans/"},
                            {"--resume", "", "continue the run in --out from its newest intact checkpoint and its "
                                             "stored config.yaml (no --config needed)"},
                            {"--force-changes", "", "with --resume: the settings that alter the experiment (task, "
                                                    "model sizes, seed, ...) that may still change"},
                            {"--no-host", "", "leave the host name out of manifest.yaml (for manifests meant to be "
                                              "committed)"},
                            {"--dry-run", "", "resolve every key, build environment, model and planner, then stop"}},
                           "",
                           run_keys};
}

CommandHelp help_eval() {
  return CommandHelp{"latco eval --run DIR [--planner P] [--episodes N] [--seed S] [--out DIR] [key=value ...]",
                          {{"--run", "", "run folder of `latco train`, or of `latco train-model` with task=NAME (required)"},
                           {"--planner", "the run's planner", "planner to evaluate with (latco list planners)"},
                           {"--episodes", "10", "evaluation episodes"},
                           {"--seed", "1000", "episode i starts from a seed derived from (seed, i)"},
                           {"--out", "RUN/eval_PLANNER", "folder for results.md, episode.gif, episode.png and "
                                                         "(LatCo planners) plan.gif: the plan decoded across iterations"}},
                          "",
                          run_keys};
}

CommandHelp help_config() {
  return CommandHelp{"latco config --config FILE [key=value ...]",
                            {{"--config", "", "config file; none: the defaults"}},
                            "",
                            run_keys};
}

int cmd_list(const Args& args) {
  args.check_all_read("list");
  const std::string what = args.positional.empty() ? "" : args.positional[0];
  if (!(args.positional.size() == 1 && (what == "tasks" || what == "planners"))) LATCO_FAIL("list: expected 'tasks' or 'planners'");
  if (what == "planners") {
    for (const auto& n : all_planner_names()) std::printf("%-24s %s\n", n.c_str(), planner_help(n).c_str());
    return 0;
  }
  EnvSettings es;
  es.render_images = false;
  for (const auto& n : env_names()) {
    auto env = make_env(n, es);
    std::printf("%-16s %2d-D actions, %3d decisions per episode, action repeat %d\n", n.c_str(),
                env->action_dim(), env->time_limit(), env->action_repeat());
  }
  return 0;
}
CommandHelp help_list() {
  return CommandHelp{"latco list tasks|planners", {}, "tasks | planners: what to list", {}};
}

}  // namespace latco
