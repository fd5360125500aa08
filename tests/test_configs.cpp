// Every shipped experiment config parses, names a known task and planner, and
// has no unknown keys (the same checks `latco train` makes before it starts); `latco config`
// prints the resolved settings of a paper config with their sources.
#include <gtest/gtest.h>

#include <filesystem>

#include "agent/agent.h"
#include "core/command.h"

using namespace latco;
namespace fs = std::filesystem;

TEST(Configs, EveryExperimentConfigIsValid) {
  int checked = 0;
  for (const char* folder : {"configs/paper", "configs/cpu"}) {
    ASSERT_TRUE(fs::is_directory(folder)) << folder << " (run the tests from the repository root)";
    for (const auto& f : fs::directory_iterator(folder)) {
      if (f.path().extension() != ".yaml") continue;
      SCOPED_TRACE(f.path().string());
      Config cfg = Config::load(f.path().string());
      AgentSettings s;
      RssmSettings ms;
      cfg.apply(s);
      cfg.apply(ms);
      EXPECT_NO_THROW(make_env(s.task, EnvSettings{16}));
      // Planners read their settings independently of the model's size: a tiny RSSM stands in.
      TransitionSizes sz;
      sz.stoch = 3, sz.deter = 4, sz.hidden = 4, sz.reward_hidden = 4;
      Rng rng(1);
      TransitionWeights w = TransitionWeights::init(sz, rng);
      RssmLatentModel stand_in(w);
      EXPECT_NO_THROW(make_planner(s.planner, stand_in, s.horizon, cfg));
      // Keys of presets for planners this file does not select are allowed in the bases.
      for (const char* k : {"cem_preset", "mppi_preset", "gd_iterations", "latco_iterations", "latco_eps_dyn",
                            "latco_eps_act", "cem_samples", "cem_elites", "cem_iterations", "mppi_samples",
                            "mppi_elites", "mppi_iterations", "fo_iterations", "latco_solver", "latco_dual_rule"})
        cfg.get_string(k, "");
      EXPECT_NO_THROW(cfg.check_all_used());
      ++checked;
    }
  }
  EXPECT_GE(checked, 80);
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
