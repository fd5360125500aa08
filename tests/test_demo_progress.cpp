// The demo's one progress line: every phase (collect, pretrain, online, evaluate, figures) on the
// common multi-phase format, numbered of five, with an ETA; evaluation counts on it too.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "app/command.h"

using namespace latco;
namespace fs = std::filesystem;

TEST(DemoProgress, EveryPhaseOnTheCommonLine) {
  const std::string dir = testing::TempDir() + "/latco_demo_progress";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir + "/demo.yaml")
      << "task: reach\nhorizon: 4\nreplan_every: 2\ntime_limit: 8\n"
         "demo_expert_episodes: 2\ndemo_random_episodes: 1\ndemo_train_steps: 3\ndemo_online_rounds: 1\n"
         "demo_online_steps: 2\ndemo_eval_episodes: 2\ndemo_planners: latco,cem\n"
         "model_image_size: 16\nmodel_stoch: 3\nmodel_deter: 6\nmodel_hidden: 6\nmodel_depth: 2\n"
         "model_reward_hidden: 6\nmodel_batch: 2\nmodel_length: 4\n"
         "latco_iterations: 3\ncem_samples: 20\ncem_elites: 4\ncem_iterations: 2\n";
  testing::internal::CaptureStdout();
  const int rc = run_command("demo", {"--config", dir + "/demo.yaml", "demo_out=" + dir + "/results"});
  const std::string out = testing::internal::GetCapturedStdout();
  ASSERT_EQ(rc, 0) << out;
  // Not a terminal here: a line at each phase's start (and every 10 s).
  for (const char* head : {"[1/5] collect 1/3 episodes | ", "[2/5] pretrain 1/3 steps | ", "[3/5] online 1/2 steps | ",
                           "[4/5] evaluate 1/4 episodes | ", "[5/5] figures 1/2 figures | "}) {
    const size_t at = out.find(head);
    ASSERT_NE(at, std::string::npos) << head << "\n" << out;
    const std::string line = out.substr(at, out.find('\n', at) - at);
    EXPECT_NE(line.find(" elapsed | ETA "), std::string::npos) << line;
  }
  EXPECT_NE(out.find("| loss "), std::string::npos) << out;                  // training shows its loss
  EXPECT_NE(out.find("| latco: last return "), std::string::npos) << out;   // evaluation names the planner
  EXPECT_EQ(out.find("world model 1/"), std::string::npos) << out;          // no separate progress line
  fs::remove_all(dir);
}
