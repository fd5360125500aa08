// The sampling planners (plan/sampling/): CEM and MPPI improve the return over iterations, are
// bitwise reproducible across thread counts and use their seed, weigh samples differently; their
// presets and range errors (and a planner setting's range error through make_planner).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "io/config.h"
#include "model/analytic_models.h"
#include "plan/planner.h"
#include "plan/rollout.h"
#include "plan/sampling/sampling_planners.h"
#include "tests/planner_test_models.h"

using namespace latco;

class SamplingTest : public ::testing::TestWithParam<const char*> {};

TEST_P(SamplingTest, ImprovesReturnOverIterations) {
  auto m = near_goal_model();
  Config cfg;
  const std::string p = GetParam();
  cfg.set(p + "_samples", "300");
  cfg.set(p + "_elites", "30");
  cfg.set(p + "_iterations", "8");
  auto planner = make_planner(p, m, 15, cfg);
  const float z0[4] = {0, 0, 0, 0};
  const PlanResult& res = planner->plan(z0, 3);
  ASSERT_EQ(res.iters.size(), 8u);
  EXPECT_GT(res.iters.back().reward, res.iters.front().reward + 0.5) << p;
  std::vector<float> zeros(30, 0.0f), lat(16 * 4);
  EXPECT_GT(res.predicted_return, rollout_return(m, z0, zeros.data(), 15, lat.data()) + 1.0) << p;
  for (int k = 0; k < 30; ++k) EXPECT_LE(std::fabs(res.actions[k]), m.action_max());
  EXPECT_GT(res.timing.rollouts, 0.0);
}

TEST_P(SamplingTest, BitwiseReproducibleAcrossThreadCounts) {
  TanhModel m(6, 2, 17);
  Config cfg;
  const std::string p = GetParam();
  cfg.set(p + "_samples", "200");
  cfg.set(p + "_elites", "20");
  cfg.set(p + "_iterations", "4");
  auto planner = make_planner(p, m, 10, cfg);
  auto z0 = random_vec(6, 18);
  const int saved = num_threads();
  set_num_threads(1);
  std::vector<float> a1 = planner->plan(z0.data(), 99).actions.to_vector();
  set_num_threads(2);
  std::vector<float> a2 = planner->plan(z0.data(), 99).actions.to_vector();
  std::vector<float> a3 = planner->plan(z0.data(), 100).actions.to_vector();
  set_num_threads(saved);
  ASSERT_EQ(a1.size(), a2.size());
  EXPECT_EQ(std::memcmp(a1.data(), a2.data(), a1.size() * sizeof(float)), 0) << p;
  EXPECT_NE(std::memcmp(a1.data(), a3.data(), a1.size() * sizeof(float)), 0) << p << ": seed ignored";
}

INSTANTIATE_TEST_SUITE_P(Planners, SamplingTest, ::testing::Values("cem", "mppi"));

TEST(Sampling, MppiWeightsDifferFromCem) {
  auto m = near_goal_model();
  Config cfg;
  for (std::string p : {"cem", "mppi"}) {
    cfg.set(p + "_samples", "100");
    cfg.set(p + "_elites", "20");
    cfg.set(p + "_iterations", "2");
  }
  const float z0[4] = {0, 0, 0, 0};
  auto a = make_planner("cem", m, 10, cfg)->plan(z0, 1).actions.to_vector();
  auto b = make_planner("mppi", m, 10, cfg)->plan(z0, 1).actions.to_vector();
  EXPECT_NE(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0);
}

// ----- settings and errors -----

TEST(Settings, PresetsAndRangeErrors) {
  Config cfg;
  cfg.set("cem_preset", "tabletop");
  auto s = sampling_settings_from("cem", cfg);
  EXPECT_EQ(s.samples, 10000);
  EXPECT_EQ(s.elites, 100);
  EXPECT_EQ(s.iterations, 100);
  EXPECT_FLOAT_EQ(sampling_settings_from("mppi", Config()).gamma, 10.0f);
  Config bad = Config::parse("cem_samples: 10\ncem_elites: 20\n", "bad.yaml");
  try {
    sampling_settings_from("cem", bad);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.yaml"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("cem_elites"), std::string::npos) << e.what();
  }
  Config bad2;
  bad2.set("cem_preset", "huge");
  EXPECT_THROW(sampling_settings_from("cem", bad2), Error);
  Config bad3 = Config::parse("gd_lr: -1\n", "gd.yaml");
  PointMassModel m;
  EXPECT_THROW(make_planner("shooting_gd", m, 5, bad3), Error);
}
