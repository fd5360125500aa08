// LatCo without second-order steps (plan/collocation/latco_first_order.h, the paper's Adam
// ablation): the Lagrangian's gradient against central differences, the preset, and a plan that
// enforces the dynamics and finds the reward.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "io/config.h"
#include "model/analytic_models.h"
#include "plan/collocation/latco_first_order.h"
#include "plan/planner.h"
#include "plan/rollout.h"
#include "tests/planner_test_models.h"

using namespace latco;

TEST(LatcoFirstOrder, LagrangianGradientMatchesFiniteDifferences) {
  for (int c = 0; c < 4; ++c) {  // -r or softplus(-r)^2 / model residuals; Tanh model and LQ
    const int use_lq = c % 2;
    TanhModel tanh_model(4, 2, 51);
    LinearQuadraticModel lq = LinearQuadraticModel::random(4, 2, 52, 0.1f);
    const LatentModel& m = use_lq ? static_cast<const LatentModel&>(lq) : tanh_model;
    const int H = 5, n = H * (4 + 2);
    LatcoFirstOrderSettings fs;
    Config fc;
    fc.set("fo_objective", c < 2 ? "reward" : "softplus2");
    fc.set("fo_dyn_scale", "3");  // a scale other than 1, small enough for central differences in float
    fs.load(fc);
    LatcoFirstOrder p(m, H, fs);
    auto z0 = random_vec(4, 53);
    auto x = random_vec(n, 54, 0.6f);
    x[H * 4 + 1] = 1.4f;  // one action beyond the bound: the bound term is active
    std::vector<double> lambda(H), nu(H);
    for (int t = 0; t < H; ++t) lambda[t] = 0.5 + t, nu[t] = 2.0;
    std::vector<float> g(n), scratch(n);
    p.lagrangian(z0.data(), x.data(), lambda.data(), nu.data(), g.data(), nullptr, nullptr);
    const float eps = 1e-2f;
    double max_err = 0, max_g = 0;
    for (int k = 0; k < n; ++k) {
      auto xp = x, xm = x;
      xp[k] += eps, xm[k] -= eps;
      const double fd = (p.lagrangian(z0.data(), xp.data(), lambda.data(), nu.data(), nullptr, nullptr, nullptr) -
                         p.lagrangian(z0.data(), xm.data(), lambda.data(), nu.data(), nullptr, nullptr, nullptr)) /
                        (2 * eps);
      max_err = std::max(max_err, std::fabs(fd - g[k]));
      max_g = std::max(max_g, std::fabs(fd));
    }
    EXPECT_GT(max_g, 0.1);
    EXPECT_LT(max_err, 2e-3 * (1 + max_g)) << (use_lq ? "LQ " : "tanh ") << c << " max |g| " << max_g;
  }
}

// The preset: the paper's Adam ablation (5000 steps, multipliers every 5 steps at rate 1.5) with the
// released routine's objective -r and dynamics scale 1e4 (config.yaml: latco_first_order).
TEST(LatcoFirstOrder, PresetFollowsThePaperAndReleasedConfig) {
  PointMassModel m;
  auto p = make_planner("latco_no_second_order", m, 5, Config());
  const LatcoFirstOrderSettings& s = dynamic_cast<LatcoFirstOrder&>(*p).settings();
  EXPECT_EQ(s.iterations, 5000);
  EXPECT_EQ(s.dual_every, 5);
  EXPECT_EQ(s.dual_lr, 1.5);
  EXPECT_EQ(s.dyn_scale, 1e4);
  EXPECT_TRUE(s.reward_objective);
  Config bad = Config::parse("fo_objective: loss\n", "fo.yaml");
  EXPECT_THROW(make_planner("latco_no_second_order", m, 5, bad), Error);
}

TEST(LatcoFirstOrder, EnforcesDynamicsAndFindsReward) {
  auto m = near_goal_model();
  Config cfg;
  cfg.set("fo_iterations", "1500");  // the paper runs 5000; the plain dual rule is slow
  auto p = make_planner("latco_no_second_order", m, 15, cfg);
  const float z0[4] = {0, 0, 0, 0};
  const PlanResult& res = p->plan(z0, 4);
  ASSERT_EQ(res.iters.size(), 1500u);
  EXPECT_LT(res.iters.back().dyn_violation, 1e-2 * res.iters.front().dyn_violation);
  EXPECT_GT(res.iters.back().mean_lambda, 1.0);  // multipliers rose while the dynamics were violated
  std::vector<float> zeros(30, 0.0f), lat(16 * 4);
  EXPECT_GT(res.predicted_return, rollout_return(m, z0, zeros.data(), 15, lat.data()) + 1.0);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(res.latents[i], z0[i]);  // z_0 is given, never optimised
}
