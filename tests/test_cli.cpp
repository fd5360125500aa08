// The command line as a user meets it: every command's --help (usage, flags, and the config
// keys it reads with defaults and meanings), `latco list`, unexpected arguments, --version.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "agent/agent.h"
#include "core/command.h"
#include "io/key_help.h"

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
  for (const auto& [name, c] : commands()) {
    SCOPED_TRACE(name);
    const CommandHelp* h = command_help(name);
    ASSERT_NE(h, nullptr) << "no LATCO_COMMAND_HELP for " << name;
    std::string out = run_out(name, {"--help"});
    EXPECT_NE(out.find("usage: latco " + name), std::string::npos) << out;
    for (const auto& f : h->flags) EXPECT_NE(out.find("  " + f.name + " "), std::string::npos) << f.name;
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
  for (const auto& l : command_help("train")->keys()) EXPECT_FALSE(l.meaning.empty()) << l.name << " has no meaning";
  for (const char* cmd : {"eval", "demo", "train-model", "plan"})
    for (const auto& l : command_help(cmd)->keys()) EXPECT_FALSE(l.meaning.empty()) << cmd << ": " << l.name;
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
