// The command line as a user meets it: every command's --help (usage, flags, and the config
// keys it reads with defaults and meanings), `latco list`, unexpected arguments, --version.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "agent/agent.h"
#include "app/command.h"
#include "app/key_help.h"
#include "env/episode.h"
#include "io/npz.h"
#include "io/progress.h"

using namespace latco;

namespace {
std::string run_out(const std::string& name, std::vector<std::string> args) {
  testing::internal::CaptureStdout();
  int rc = run_command(name, std::move(args));
  std::string out = testing::internal::GetCapturedStdout();
  EXPECT_EQ(rc, 0) << name;
  return out;
}
}  // namespace

TEST(Cli, EveryCommandHasHelpWithUsageAndFlags) {
  for (const Command& c : commands()) {
    const std::string name = c.name;
    SCOPED_TRACE(name);
    const CommandHelp h = c.usage();
    std::string out = run_out(name, {"--help"});
    EXPECT_NE(out.find("usage: latco " + name), std::string::npos) << out;
    for (const auto& f : h.flags) EXPECT_NE(out.find("  " + f.name + " "), std::string::npos) << f.name;
  }
}

TEST(Cli, TrainHelpListsEveryKeyOfItsSettingsWithDefaultAndMeaning) {
  std::string out = run_out("train", {"--help"});
  // The keys come from the settings structs themselves: every field of AgentSettings and
  // RssmSettings, and the planners' keys, each with its default and a meaning.
  std::vector<std::pair<std::string, std::string>> kv;
  AgentSettings s;
  RssmSettings ms;
  Config::describe(s, kv);
  Config::describe(ms, kv);
  for (const auto& [k, v] : kv) {
    SCOPED_TRACE(k);
    size_t at = out.find("\n  " + k + " ");
    ASSERT_NE(at, std::string::npos);
    std::string line = out.substr(at + 1, out.find('\n', at + 1) - at - 1);
    EXPECT_NE(line.find("(default " + (v.empty() ? std::string("\"\"") : v) + ")"), std::string::npos) << line;
  }
  for (const char* k : {"latco_iterations", "cem_samples", "mppi_gamma", "gd_lr", "ilqr_iterations"})
    EXPECT_NE(out.find("\n  " + std::string(k) + " "), std::string::npos) << k;
  for (const auto& l : find_command("train")->usage().keys()) EXPECT_FALSE(l.meaning.empty()) << l.name << " has no meaning";
  for (const char* cmd : {"eval", "demo", "train-model", "plan"})
    for (const auto& l : find_command(cmd)->usage().keys()) EXPECT_FALSE(l.meaning.empty()) << cmd << ": " << l.name;
}

TEST(Cli, KeyMeaningsFollowTheStructThatBindsTheKey) {
  // `seed` means different things to the agent and to train-model.
  std::string train = run_out("train", {"--help"}), model = run_out("train-model", {"--help"});
  EXPECT_NE(train.find("every random stream of the run derives from it"), std::string::npos);
  EXPECT_NE(model.find("model init, noise and replay streams"), std::string::npos);
  // Prefixed keys (`cem_samples`, `mppi_samples`) take the meaning of their field.
  std::vector<HelpLine> keys = config_keys([](const Config& cfg) {
    AgentSettings s;
    cfg.apply(s);
  });
  ASSERT_FALSE(keys.empty());
  EXPECT_EQ(keys[0].name, "task");
  EXPECT_EQ(keys[0].value, "reach");
}

TEST(Cli, ListTasksAndPlanners) {
  std::string tasks = run_out("list", {"tasks"}), planners = "\n" + run_out("list", {"planners"});
  for (const char* t : {"reach", "cheetah_run", "lottery"}) EXPECT_NE(tasks.find(std::string(t) + " "), std::string::npos);
  for (const char* p : {"latco", "cem", "shooting_gd", "mppi"})
    EXPECT_NE(planners.find(std::string("\n") + p + " "), std::string::npos) << planners;
  EXPECT_THROW(run_command("list", {"everything"}), Error);
}

TEST(Cli, UnexpectedPositionalArgumentsAreAnError) {
  try {
    run_command("train", {"configs/cpu/reach_latco.yaml"});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--config configs/cpu/reach_latco.yaml"), std::string::npos) << e.what();
  }
  EXPECT_THROW(run_command("collect", {"--task", "reach", "--out", "x", "extra"}), Error);
}

TEST(Cli, VersionNamesTheCommit) {
  const char* bin = std::getenv("LATCO_BIN");
  std::string exe = bin ? bin : "build/latco";
  if (!std::filesystem::exists(exe)) GTEST_SKIP() << exe << " not built";
  std::string tmp = testing::TempDir() + "/latco_version.txt";
  ASSERT_EQ(std::system((exe + " --version > " + tmp).c_str()), 0);
  std::ifstream f(tmp);
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_EQ(ss.str().rfind("latco ", 0), 0u) << ss.str();
  EXPECT_NE(ss.str().find("(commit "), std::string::npos) << ss.str();
}

// ----- what the commands write -----
namespace {
std::string fresh_dir(const std::string& name) {
  const std::string d = testing::TempDir() + "/latco_cli_" + name;
  std::filesystem::remove_all(d);
  return d;
}
const std::vector<std::string> kTinyModel = {"model_image_size=16", "model_stoch=4",  "model_deter=8",
                                             "model_hidden=8",      "model_depth=4",  "model_reward_hidden=8",
                                             "model_batch=4",       "model_length=8"};
std::vector<std::string> operator+(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}
}  // namespace

TEST(Cli, CollectTrainModelEvalAndPlotConnect) {
  const std::string dir = fresh_dir("offline");
  // collect creates nested folders; its files name task, seed and policy.
  run_out("collect", {"--task", "reach", "--episodes", "2", "--size", "16", "--out", dir + "/data/reach"});
  auto m = read_npz(dir + "/data/reach/reach_00001.npz");
  ASSERT_TRUE(m.count("task") && m.count("seed") && m.count("policy"));
  EXPECT_EQ(std::string(m["task"].bytes.begin(), m["task"].bytes.end()), "reach");
  EXPECT_EQ(std::string(m["policy"].bytes.begin(), m["policy"].bytes.end()), "scripted:reach");
  EXPECT_EQ(m["seed"].descr, "<u8");
  EXPECT_EQ(load_episode(dir + "/data/reach/reach_00001.npz").T, 151);  // still an episode file
  // A run's own episode files name their origin too.
  const std::string run = fresh_dir("origin");
  run_out("train", std::vector<std::string>{"--out", run, "prefill_episodes=1", "pretrain_steps=0", "episodes=1",
                                            "updates_per_episode=1", "eval_every=0", "time_limit=3", "horizon=3",
                                            "latco_iterations=1"} +
                       kTinyModel);
  auto r0 = read_npz(run + "/episodes/ep000000.npz"), r1 = read_npz(run + "/episodes/ep000001.npz");
  EXPECT_EQ(std::string(r0["policy"].bytes.begin(), r0["policy"].bytes.end()), "random");
  EXPECT_EQ(std::string(r1["policy"].bytes.begin(), r1["policy"].bytes.end()), "latco");
  // train-model's folder: eval (with the task named) and plot work on it.
  std::string out = run_out("train-model", std::vector<std::string>{"--data", dir + "/data/reach", "--out",
                                                                   dir + "/model", "--steps", "4", "image_every=0"} +
                                               kTinyModel);
  EXPECT_NE(out.find("train-model 4/4 steps"), std::string::npos) << out;
  EXPECT_THROW(run_command("eval", {"--run", dir + "/model", "--episodes", "1"}), Error);  // which task?
  out = run_out("eval", {"--run", dir + "/model", "--episodes", "1", "task=reach", "horizon=4", "latco_iterations=2",
                         "time_limit=5"});
  EXPECT_NE(out.find("latco"), std::string::npos) << out;
  for (const char* f : {"results.md", "episode.gif", "episode.png", "plan.gif"})  // eval's pictures, in RUN/eval_latco
    EXPECT_TRUE(std::filesystem::exists(dir + "/model/eval_latco/" + f)) << f;
  run_out("plot", {dir + "/model"});
  EXPECT_TRUE(std::filesystem::exists(dir + "/model/curves.png"));
}

TEST(Cli, TrainPrintsOneProgressLineFormatAndEvaluationsApart) {
  const std::string dir = fresh_dir("train");
  std::string out = run_out("train", std::vector<std::string>{"--out", dir, "prefill_episodes=1", "pretrain_steps=3",
                                                              "episodes=2", "updates_per_episode=1", "eval_every=1",
                                                              "time_limit=5", "horizon=4", "latco_iterations=2"} +
                                         kTinyModel);
  // Each phase starts a line; every line has count of total, rate, elapsed and ETA; evaluations
  // are lines of their own.
  for (const char* s : {"[1/3] prefill 1/1 episodes", "[2/3] pretrain ", "[3/3] online ", " elapsed | ETA ",
                        "last episode: return", "\neval after 2 episodes"})
    EXPECT_NE(out.find(s), std::string::npos) << s << "\n" << out;
}

TEST(Cli, ProgressEtaCountsEveryPhase) {
  Progress p({{"a", 10, "steps"}, {"b", 10, "steps"}}, 1e9);
  bool lower = false;
  p.update(0, 5, "");
  p.eta_seconds(&lower);
  EXPECT_TRUE(lower);  // phase b not measured yet: the ETA is a lower bound
  EXPECT_NE(p.line("").find(">"), std::string::npos) << p.line("");
  p.begin(1);
  p.update(1, 5, "loss 1.0");
  const double eta = p.eta_seconds(&lower);
  EXPECT_FALSE(lower);
  EXPECT_GE(eta, 0);
  EXPECT_NE(p.line("loss 1.0").find("[2/2] b 5/10 steps"), std::string::npos) << p.line("loss 1.0");
  EXPECT_EQ(Progress::format_seconds(185), "3m05s");
}

TEST(Cli, RenderGifAndPlanWithSeveralPlanners) {
  const std::string dir = fresh_dir("pictures");
  std::filesystem::create_directories(dir);
  std::string out = run_out("render", {"--task", "lottery", "--out", dir + "/lottery.gif"});
  EXPECT_NE(out.find("goal"), std::string::npos) << out;  // names the goal reached
  EXPECT_GT(std::filesystem::file_size(dir + "/lottery.gif"), 500u);
  EXPECT_THROW(run_command("render", {"--task", "reach", "--out", dir + "/x.jpg"}), Error);
  out = run_out("plan", {"--model", "lottery", "--planners", "latco,cem", "--out", dir + "/plan", "latco_iterations=20",
                         "cem_samples=50", "cem_elites=5", "cem_iterations=3"});
  for (const char* s : {"latco ", "cem ", "lottery goal", "safe goal"}) EXPECT_NE(out.find(s), std::string::npos) << s;
  for (const char* f : {"optimization.png", "iterations_latco.csv", "iterations_cem.csv"})
    EXPECT_TRUE(std::filesystem::exists(dir + "/plan/" + f)) << f;
}
