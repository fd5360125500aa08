// Every shipped experiment config parses, names a known task and planner, and
// has no unknown keys (the same checks `latco train` makes before it starts).
#include <gtest/gtest.h>

#include <filesystem>

#include "agent/agent.h"

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
                            "mppi_elites", "mppi_iterations", "fo_iterations"})
        cfg.get_string(k, "");
      EXPECT_NO_THROW(cfg.check_all_used());
      ++checked;
    }
  }
  EXPECT_GE(checked, 80);
}
