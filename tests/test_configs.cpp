// Every shipped config runs with the command it is for, through that command's own path:
// `latco train --config F --dry-run` (or `latco demo ... --dry-run` for the demo's config) resolves
// every key, builds the environment, model and planner, and stops without writing anything;
// `latco config` prints the resolved settings of a paper config with their sources.
#include <gtest/gtest.h>

#include <filesystem>

#include "agent/agent.h"
#include "app/command.h"

using namespace latco;
namespace fs = std::filesystem;

namespace {

// Every .yaml under configs/ except sweep files (those are expanded by `latco sweep`).
std::vector<std::string> shipped_configs() {
  std::vector<std::string> files;
  for (const auto& f : fs::recursive_directory_iterator("configs")) {
    const std::string p = f.path().string();
    if (f.path().extension() == ".yaml" && p.find("/sweeps/") == std::string::npos) files.push_back(p);
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string scratch(const std::string& name) {
  return (fs::temp_directory_path() / ("latco_test_configs_" + name)).string();
}

int dry_run(const std::string& file, const std::string& out, std::vector<std::string> extra = {}) {
  const bool demo = fs::path(file).filename() == "demo.yaml";
  std::vector<std::string> args = {"--config", file, "--dry-run"};
  if (demo) args.push_back("demo_out=" + out);
  else args.insert(args.end(), {"--out", out});
  args.insert(args.end(), extra.begin(), extra.end());
  return run_command(demo ? "demo" : "train", args);
}

}  // namespace

TEST(Configs, EveryShippedConfigPassesItsCommandsDryRun) {
  ASSERT_TRUE(fs::is_directory("configs")) << "run the tests from the repository root";
  const std::string out = scratch("out");
  fs::remove_all(out);
  int checked = 0;
  for (const auto& f : shipped_configs()) {
    SCOPED_TRACE(f);
    EXPECT_NO_THROW(EXPECT_EQ(dry_run(f, out), 0));
    EXPECT_FALSE(fs::exists(out)) << "a dry run wrote " << out;
    ++checked;
  }
  EXPECT_GE(checked, 90);
}

TEST(Configs, AnyPlannerCanBeChosenOnTheCommandLineFromATabletopConfig) {
  // One config compares planners: the LatCo config's keys must not stop planner=cem, and so on.
  const std::string out = scratch("planners");
  for (const char* file : {"configs/cpu/reach_latco.yaml", "configs/paper/button_latco.yaml"})
    for (const auto& p : planner_names()) {
      SCOPED_TRACE(std::string(file) + " planner=" + p);
      EXPECT_NO_THROW(EXPECT_EQ(dry_run(file, out, {"planner=" + p}), 0));
    }
  EXPECT_FALSE(fs::exists(out));
}

TEST(Configs, DryRunStillRejectsUnknownKeysAndNames) {
  const std::string out = scratch("bad");
  try {
    dry_run("configs/cpu/button_latco.yaml", out, {"latco_iteratons=5"});
    ADD_FAILURE() << "a misspelt key was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("latco_iteratons"), std::string::npos) << e.what();
  }
  EXPECT_THROW(dry_run("configs/cpu/button_latco.yaml", out, {"planner=no_such_planner"}), Error);
  EXPECT_THROW(dry_run("configs/cpu/button_latco.yaml", out, {"task=no_such_task"}), Error);
  EXPECT_FALSE(fs::exists(out));
}

TEST(Configs, AllDefaultTrainDryRunWorks) {
  const std::string out = scratch("defaults");
  EXPECT_EQ(run_command("train", {"--dry-run", "--out", out}), 0);
  EXPECT_FALSE(fs::exists(out));
}

namespace {
std::string latco_config(std::vector<std::string> args) {
  testing::internal::CaptureStdout();
  try {
    run_command("config", args);
  } catch (...) {
    testing::internal::GetCapturedStdout();
    throw;
  }
  return testing::internal::GetCapturedStdout();
}
bool has_line(const std::string& out, const std::string& start) {
  return out.find("\n" + start) != std::string::npos;
}
}  // namespace

// The paper's training lengths (Appendix E.1: 500K tabletop, 800K locomotion, 400K offline plus
// online environment steps) and the released solver and dual rule, each traced to its file and line.
TEST(Configs, LatcoConfigShowsThePaperProtocol) {
  std::string out = latco_config({"--config", "configs/paper/reach_latco.yaml"});
  EXPECT_NE(out.find("= 500100 environment steps"), std::string::npos) << out;
  EXPECT_TRUE(has_line(out, "episodes: 3300")) << out;
  EXPECT_TRUE(has_line(out, "latco_solver: released")) << out;
  EXPECT_TRUE(has_line(out, "latco_dual_rule: released")) << out;
  EXPECT_TRUE(has_line(out, "model_free_nats_mode: batch_mean")) << out;
  EXPECT_TRUE(has_line(out, "model_adam_eps: 1e-07")) << out;
  EXPECT_NE(out.find("configs/base/tabletop.yaml line"), std::string::npos) << out;
  EXPECT_NE(out.find("task: reach"), std::string::npos);
  // Every key of the struct is listed, the unset ones as defaults.
  EXPECT_NE(out.find("latco_lambda0: 1"), std::string::npos);
  EXPECT_NE(out.find("# default"), std::string::npos);

  out = latco_config({"--config", "configs/paper/cheetah_run_latco.yaml"});
  EXPECT_NE(out.find("= 800000 environment steps"), std::string::npos) << out;
  EXPECT_TRUE(has_line(out, "latco_solver: released")) << out;
  out = latco_config({"--config", "configs/paper/offline_hammer_latco.yaml"});
  EXPECT_NE(out.find("(75 decisions x action repeat 2) = 400050 environment steps"), std::string::npos) << out;

  // Command-line overrides win and say so; presets say which.
  out = latco_config({"--config", "configs/paper/push_cem.yaml", "cem_elites=50", "seed=3"});
  EXPECT_NE(out.find("cem_elites: 50"), std::string::npos) << out;
  EXPECT_NE(out.find("# command line"), std::string::npos) << out;
  EXPECT_NE(out.find("cem_samples: 10000"), std::string::npos) << out;
  EXPECT_NE(out.find("# preset cem_preset: tabletop"), std::string::npos) << out;

  // Unknown keys and bad values are the errors `latco train` gives.
  EXPECT_THROW(latco_config({"--config", "configs/paper/reach_latco.yaml", "latco_iterationz=3"}), Error);
  EXPECT_THROW(latco_config({"--config", "configs/paper/reach_latco.yaml", "model_free_nats_mode=mean"}), Error);
  EXPECT_THROW(latco_config({}), Error);
}
