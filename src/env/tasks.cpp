// Every task `make_env` can build, one row each: the name of `--task` / `task:` and the factory
// next to the task's class in env/task_<name>.cpp. Adding a task: declare its factory below and
// add its row (see env/env.h).
#include "env/env.h"

namespace latco {

using E = std::unique_ptr<Env>;
using S = const EnvSettings&;
E new_task_reach(S), new_task_reach_dense(S), new_task_push(S), new_task_push_dense(S), new_task_button(S),
    new_task_button_dense(S), new_task_window(S), new_task_window_dense(S), new_task_drawer(S),
    new_task_drawer_dense(S), new_task_hammer(S), new_task_hammer_dense(S), new_task_thermos(S),
    new_task_thermos_dense(S), new_task_lottery(S), new_task_lottery_paper(S), new_task_reacher_easy(S),
    new_task_cheetah_run(S), new_task_quadruped_walk(S);

const std::vector<TaskEntry>& task_table() {
  static const std::vector<TaskEntry> table = {
      // ----- tabletop (Sawyer-like arm; sparse reward, and _dense with a shaped one) -----
      {"reach", new_task_reach},       {"reach_dense", new_task_reach_dense},
      {"push", new_task_push},         {"push_dense", new_task_push_dense},
      {"button", new_task_button},     {"button_dense", new_task_button_dense},
      {"window", new_task_window},     {"window_dense", new_task_window_dense},
      {"drawer", new_task_drawer},     {"drawer_dense", new_task_drawer_dense},
      {"hammer", new_task_hammer},     {"hammer_dense", new_task_hammer_dense},
      {"thermos", new_task_thermos},   {"thermos_dense", new_task_thermos_dense},
      // ----- the lottery of Figure 7 (as released, and as the paper's text describes it) -----
      {"lottery", new_task_lottery},   {"lottery_paper", new_task_lottery_paper},
      // ----- locomotion and reaching (DeepMind Control) -----
      {"reacher_easy", new_task_reacher_easy},
      {"cheetah_run", new_task_cheetah_run},
      {"quadruped_walk", new_task_quadruped_walk},
  };
  return table;
}

}  // namespace latco
