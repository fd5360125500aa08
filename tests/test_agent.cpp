// The agent end to end on a tiny model: every artifact of a run and of the demo is
// written; train N, stop, resume, train M equals N+M straight; config errors name
// file, line and key.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "agent/agent.h"
#include "app/command.h"
#include "core/thread_pool.h"
#include "io/checkpoint.h"

using namespace latco;
namespace fs = std::filesystem;

namespace {

const char* kTiny =
    "task: reach\nplanner: cem\nhorizon: 4\nreplan_every: 4\ntime_limit: 12\nprefill_episodes: 2\n"
    "pretrain_steps: 2\nepisodes: 2\nupdates_per_episode: 2\neval_every: 1\ncheckpoint_every_episodes: 1\n"
    "model_image_size: 16\nmodel_stoch: 3\nmodel_deter: 6\nmodel_hidden: 6\nmodel_depth: 2\n"
    "model_reward_hidden: 6\nmodel_batch: 3\nmodel_length: 6\ncem_samples: 20\ncem_elites: 4\ncem_iterations: 2\n";

std::string fresh_dir(const std::string& name) {
  std::string d = (fs::temp_directory_path() / ("latco_test_agent_" + name)).string();
  fs::remove_all(d);
  return d;
}

Config tiny(const std::string& extra = "") { return Config::parse(std::string(kTiny) + extra, "tiny.yaml"); }

}  // namespace

TEST(Agent, TinyRunWritesEveryArtifact) {
  const std::string dir = fresh_dir("artifacts");
  Agent agent(tiny(), dir, false, true);
  agent.run();
  EXPECT_EQ(agent.episodes_done(), 4);
  EXPECT_EQ(agent.env_steps(), 4 * 12);
  EXPECT_EQ(agent.grad_steps(), 2 + 2 * 2);
  for (const char* f : {"config.yaml", "metrics.csv", "episodes/ep000000.npz", "episodes/ep000003.npz",
                        "eval/ep000003_0.png", "eval/ep000004_0.png", "plans/ep000004.png"})
    EXPECT_TRUE(fs::exists(dir + "/" + f)) << f;
  EXPECT_FALSE(latest_checkpoint(dir + "/checkpoints").empty());
  // metrics.csv: a header and one row per episode plus one per evaluation.
  std::ifstream csv(dir + "/metrics.csv");
  std::string line;
  int rows = 0;
  std::getline(csv, line);
  EXPECT_EQ(line.rfind("episode,env_steps,agent_steps,grad_steps,eval,return,success", 0), 0u) << line;
  while (std::getline(csv, line)) ++rows;
  EXPECT_EQ(rows, 4 + 2);
  // A second run into the same folder without --resume is refused.
  EXPECT_THROW(Agent(tiny(), dir, false, true), Error);

  // `latco eval` with another planner than the run's: the run's cem_* keys are still known keys.
  EXPECT_EQ(run_command("eval", {"--run", dir, "--planner", "shooting_gd", "--episodes", "1", "gd_iterations=2"}), 0);
}

TEST(Agent, TinyDemoWritesEveryArtifact) {
  const std::string dir = fresh_dir("demo");
  fs::create_directories(dir);
  std::ofstream(dir + "/demo.yaml")
      << "task: reach\nhorizon: 4\nreplan_every: 2\ntime_limit: 8\n"
         "demo_expert_episodes: 2\ndemo_random_episodes: 1\ndemo_train_steps: 3\ndemo_online_rounds: 1\n"
         "demo_online_steps: 1\ndemo_eval_episodes: 2\ndemo_planners: latco,cem,shooting_gd\n"
         "model_image_size: 16\nmodel_stoch: 3\nmodel_deter: 6\nmodel_hidden: 6\nmodel_depth: 2\n"
         "model_reward_hidden: 6\nmodel_batch: 2\nmodel_length: 4\n"
         "latco_iterations: 3\ncem_samples: 20\ncem_elites: 4\ncem_iterations: 2\ngd_iterations: 3\n";
  ASSERT_EQ(run_command("demo", {"--config", dir + "/demo.yaml", "demo_out=" + dir + "/results"}), 0);
  const std::string out = dir + "/results";
  for (const char* f : {"results.md", "learning_curve.png", "latco_plan.png", "optimization.png", "episode_latco.png",
                        "episode_cem.png", "episode_shooting_gd.png", "data/expert0000.npz", "data/random0002.npz",
                        "data/online00_latco.npz", "model/metrics.csv", "model/config.yaml"})
    EXPECT_TRUE(fs::exists(out + "/" + f)) << f;
  // The table has a row per planner; 3 offline steps plus 1 online step were taken.
  std::ifstream md(out + "/results.md");
  std::string text((std::istreambuf_iterator<char>(md)), std::istreambuf_iterator<char>());
  for (const char* p : {"| latco |", "| cem |", "| shooting_gd |"}) EXPECT_NE(text.find(p), std::string::npos) << p;
  EXPECT_NE(latest_checkpoint(out + "/model/checkpoints").find("ckpt-000000004.bin"), std::string::npos);
  // The demo's model folder is a run folder: `latco eval` evaluates it with any planner.
  EXPECT_EQ(run_command("eval", {"--run", out + "/model", "--planner", "cem", "--episodes", "1"}), 0);
}

TEST(Agent, ResumeEqualsStraightRun) {
  set_num_threads(1);
  const std::string straight = fresh_dir("straight"), split = fresh_dir("split");
  {
    Agent a(tiny(), straight, false, true);
    a.run();
  }
  {
    Config c = tiny();
    c.override_with("episodes=1");
    Agent b(c, split, false, true);
    b.run();
  }
  {
    Agent b(tiny(), split, true, true);  // continue to episodes = 2
    EXPECT_EQ(b.episodes_done(), 3);
    b.run();
    EXPECT_EQ(b.episodes_done(), 4);
  }
  Checkpoint x = load_checkpoint(latest_checkpoint(straight + "/checkpoints"));
  Checkpoint y = load_checkpoint(latest_checkpoint(split + "/checkpoints"));
  EXPECT_EQ(x.grad_steps, y.grad_steps);
  EXPECT_EQ(x.env_steps, y.env_steps);
  ASSERT_EQ(x.tensors.size(), y.tensors.size());
  ASSERT_GT(x.tensors.size(), 10u);
  for (const auto& [name, t] : x.tensors) {
    ASSERT_TRUE(y.tensors.count(name)) << name;
    EXPECT_EQ(t.to_vector(), y.tensors.at(name).to_vector()) << name;
  }
  set_num_threads(2);
}

TEST(Agent, ConfigErrorsNameFileLineAndKey) {
  const std::string dir = fresh_dir("errors");
  try {
    Agent a(tiny("horizn: 12\n"), dir, false, true);
    FAIL() << "unknown key accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tiny.yaml line 23, key 'horizn'"), std::string::npos) << e.what();
  }
  try {
    Agent a(Config::parse(std::string(kTiny) + "action_noise: loud\n", "bad.yaml"), dir, false, true);
    FAIL() << "bad type accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.yaml line 23, key 'action_noise'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Agent(tiny("task: no_such_task\n"), dir, false, true), Error);
}
