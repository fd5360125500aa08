// Every shipped config runs with the command it is for, through that command's own path:
// `latco train --config F --dry-run` (or `latco demo ... --dry-run` for the demo's config) resolves
// every key, builds the environment, model and planner, and stops without writing anything.
#include <gtest/gtest.h>

#include <filesystem>

#include "agent/agent.h"
#include "core/command.h"

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
