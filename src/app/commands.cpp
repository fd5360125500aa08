// Every command of `latco` and every benchmark of `latco bench`, one line each. Adding a command:
// write `int cmd_NAME(const Args&)` and `CommandHelp help_NAME()` in a file of src/app/, declare
// them below and add their row; a benchmark: `int bench_NAME(const Args&)` and its row.
#include "app/command.h"

namespace latco {

int cmd_collect(const Args&), cmd_config(const Args&), cmd_demo(const Args&), cmd_eval(const Args&),
    cmd_list(const Args&), cmd_plan(const Args&), cmd_plot(const Args&), cmd_render(const Args&),
    cmd_report(const Args&), cmd_sweep(const Args&), cmd_train(const Args&), cmd_train_model(const Args&);
CommandHelp help_collect(), help_config(), help_demo(), help_eval(), help_list(), help_plan(), help_plot(),
    help_render(), help_report(), help_sweep(), help_train(), help_train_model();
int bench_agent(const Args&), bench_autodiff(const Args&), bench_conv(const Args&), bench_conv_cuda(const Args&),
    bench_env(const Args&), bench_gemm(const Args&), bench_gemm_cuda(const Args&), bench_jacobian(const Args&),
    bench_lm(const Args&), bench_lm_cuda(const Args&), bench_planners(const Args&), bench_rssm(const Args&);

// name, one line for `latco --help`, the command, its `latco NAME --help`
const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"collect", "episode files from a scripted or random policy: --task T --out DIR [--episodes N] [--policy P]",
       cmd_collect, help_collect},                                                          // app/env_commands.cpp
      {"config", "the resolved settings of a run, each with its source: --config FILE [key=value ...]; runs nothing",
       cmd_config, help_config},                                                            // app/config_command.cpp
      {"demo", "end-to-end demo (make run): --config configs/demo.yaml [--dry-run] [key=value ...]",
       cmd_demo, help_demo},                                                                // app/demo.cpp
      {"eval", "evaluate a run: --run runs/NAME [--planner P] [--episodes N] [--seed S] [key=value ...]",
       cmd_eval, help_eval},                                                                // app/train_command.cpp
      {"list", "one line per task or planner: latco list tasks|planners",
       cmd_list, help_list},                                                                // app/command_help.cpp
      {"plan", "plans on an analytic model, drawn: --model lq|pointmass|lottery [--planners latco,cem,shooting_gd] "
               "[--out DIR]",
       cmd_plan, help_plan},                                                                // app/plan_command.cpp
      {"plot", "learning curves of runs: latco plot runs/a runs/b ... [--out curves.png]",
       cmd_plot, help_plot},                                                                // app/curves.cpp
      {"render", "one episode as a contact sheet (.png) or an animation (.gif): --task T --out F [--policy P]",
       cmd_render, help_render},                                                            // app/env_commands.cpp
      {"report", "aggregate a sweep: runs/NAME [--out DIR] [--last K]  (report.md, scores.json, figures)",
       cmd_report, help_report},                                                            // app/report.cpp
      {"sweep", "experiment grids: plan SWEEP.yaml --out runs/NAME | run runs/NAME --index I [--retry-failed] | "
                "local runs/NAME --jobs J | slurm runs/NAME [--partition P] [--time MIN] [--cpus C] [--mem M] "
                "[--gpus G] [--max-running K] [--submit] | status runs/NAME",
       cmd_sweep, help_sweep},                                                              // app/sweep_commands.cpp
      {"train", "online MBRL (Algorithm 1): --config FILE [--out runs/NAME] [--dry-run] [--no-host] [key=value ...] | "
                "--resume --out runs/NAME [--force-changes KEY,...] [key=value ...]",
       cmd_train, help_train},                                                              // app/train_command.cpp
      {"train-model", "train the world model: --data DIR [--config FILE] [--steps N] [--out runs/NAME] [--resume] "
                      "[key=value ...]",
       cmd_train_model, help_train_model},                                                  // app/train_model.cpp
  };
  return table;
}

// name, the benchmark (app/bench/)
const std::vector<Bench>& benches() {
  static const std::vector<Bench> table = {
      {"agent", bench_agent},          {"autodiff", bench_autodiff}, {"conv", bench_conv},
      {"conv_cuda", bench_conv_cuda},  {"env", bench_env},           {"gemm", bench_gemm},
      {"gemm_cuda", bench_gemm_cuda},  {"jacobian", bench_jacobian}, {"lm", bench_lm},
      {"lm_cuda", bench_lm_cuda},      {"planners", bench_planners}, {"rssm", bench_rssm},
  };
  return table;
}

}  // namespace latco
