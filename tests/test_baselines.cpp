// The baselines' released presets and our variants as named options: MPPI over all
// samples, iLQR (regulariser 20, 200 iterations, zero start, -r with its full Hessian),
// shooting GN (no clipping, multiplier updates, one summed residual per step), and the
// restarts' winner by a sampled rollout; image_collocation as a planner of the table.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "agent/evaluation.h"
#include "core/error.h"
#include "env/env.h"
#include "io/config.h"
#include "model/analytic_models.h"
#include "model/lottery_model.h"
#include "model/rssm.h"
#include "model/rssm_latent_model.h"
#include "plan/collocation/latco.h"
#include "plan/planner.h"
#include "plan/rollout.h"
#include "plan/sampling/sampling_planners.h"
#include "plan/shooting/ilqr.h"
#include "plan/shooting/shooting_gn.h"
#include "tests/planner_test_models.h"

using namespace latco;

// Released shooting_cem.py (agent shooting_mppi): softmax(gamma R) over every sample, std without
// the 1e-6 floor; tabletop: 10,000 samples as CEM.
TEST(MppiPreset, AllSamplesAsReleased) {
  const SamplingSettings s = sampling_settings_from("mppi", Config());
  EXPECT_TRUE(s.all_samples);
  EXPECT_EQ(s.min_var, 0.0f);
  EXPECT_EQ(s.gamma, 10.0f);
  Config tt;
  tt.set("mppi_preset", "tabletop");
  EXPECT_EQ(sampling_settings_from("mppi", tt).samples, 10000);
  Config el;
  el.set("mppi_weights", "elites");
  EXPECT_FALSE(sampling_settings_from("mppi", el).all_samples);
  Config bad = Config::parse("mppi_weights: best\n", "m.yaml");
  EXPECT_THROW(sampling_settings_from("mppi", bad), Error);
}

// With a temperature near 0 the softmax is uniform: over all samples the refit mean is the sample
// mean (near the initial 0); over the elites it moves towards the goal.
TEST(MppiPreset, AllSamplesWeighEverySample) {
  auto m = near_goal_model();
  Config all, elites;
  for (Config* c : {&all, &elites}) {
    c->set("mppi_samples", "4000");
    c->set("mppi_elites", "40");
    c->set("mppi_iterations", "1");
    c->set("mppi_gamma", "1e-9");
  }
  elites.set("mppi_weights", "elites");
  const float z0[4] = {0, 0, 0, 0};
  auto mean_abs = [&](const Config& c) {
    auto a = make_planner("mppi", m, 10, c)->plan(z0, 3).actions.to_vector();
    double s = 0;
    for (float v : a) s += std::fabs(v);
    return s / a.size();
  };
  const double ma = mean_abs(all), me = mean_abs(elites);
  EXPECT_LT(ma, 0.05);  // ~ N(0, 1/4000) per entry (clipped samples)
  EXPECT_GT(me, 2 * ma);
}

// Released shooting_ilqr.py and planning_agent.py: ilqr_u_trustreg 20, optimization_steps 200 (config),
// actions from zeros, cost -r with second derivatives; ours by ilqr_preset: ours.
TEST(IlqrPreset, ReleasedAndOurs) {
  PointMassModel m;
  IlqrSettings r;
  r.load(Config());
  EXPECT_EQ(r.iterations, 200);
  EXPECT_EQ(r.mu_init, 20.0);
  EXPECT_EQ(r.init_std, 0.0f);
  EXPECT_TRUE(r.reward_cost);
  EXPECT_TRUE(r.released_schedule);
  EXPECT_TRUE(r.penalty);
  Config oc;
  oc.set("ilqr_preset", "ours");
  IlqrSettings o;
  o.load(oc);
  EXPECT_EQ(o.iterations, 50);
  EXPECT_EQ(o.mu_init, 1e-6);
  EXPECT_EQ(o.init_std, 1.0f);
  EXPECT_FALSE(o.reward_cost);
  EXPECT_FALSE(o.released_schedule);
  EXPECT_FALSE(o.penalty);
  Config bad = Config::parse("ilqr_cost: hessian\n", "i.yaml");
  EXPECT_THROW(make_planner("ilqr", m, 5, bad), Error);
  // The released preset from zero actions moves towards the goal and returns clipped actions.
  auto g = near_goal_model();
  Config few;
  few.set("ilqr_iterations", "30");
  const float z0[4] = {0, 0, 0, 0};
  auto planner = make_planner("ilqr", g, 15, few);
  const PlanResult& res = planner->plan(z0, 1);
  std::vector<float> zeros(30, 0.0f), lat(16 * 4);
  EXPECT_GT(res.predicted_return, rollout_return(g, z0, zeros.data(), 15, lat.data()) + 0.1);
  for (int k = 0; k < 30; ++k) EXPECT_LE(std::fabs(res.actions[k]), 1.0f);
}

// The released cost -r has its full Hessian: on r = -|L z|^2 (L = I here) that is 2 I at every step,
// and on the point mass's Gaussian bump the Hessian of -r, which a Gauss-Newton expansion lacks.
TEST(IlqrPreset, FullHessianOfMinusReward) {
  auto lq = LinearQuadraticModel::random(3, 2, 5, 0.1f);
  Config one;
  one.set("ilqr_iterations", "1");
  Ilqr ilqr(lq, 4, [&] { IlqrSettings s; s.load(one); return s; }());
  const float z0[3] = {0.5f, -0.3f, 0.8f};
  ilqr.plan(z0, 1);
  const std::vector<double>& h = ilqr.cost_hessians();
  for (int t = 1; t <= 4; ++t)
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) EXPECT_NEAR(h[(t * 3 + i) * 3 + j], i == j ? 2.0 : 0.0, 2e-3) << t << i << j;
  // Point mass: -r = -exp(-|p - g|^2 / 2 s^2); at p = g its Hessian is diag(1/s^2, 1/s^2, 0, 0).
  PointMassSettings ps;
  ps.goal_x = 0.0f, ps.goal_y = 0.0f, ps.goal_sigma = 0.5f;
  PointMassModel pm(ps);
  Ilqr ip(pm, 1, [&] { IlqrSettings s; s.load(one); return s; }());
  const float at_goal[4] = {0, 0, 0, 0};
  ip.plan(at_goal, 1);  // zero actions from rest: z_1 = 0, the goal
  const std::vector<double>& g = ip.cost_hessians();
  EXPECT_NEAR(g[16 + 0], 4.0, 2e-2);
  EXPECT_NEAR(g[16 + 5], 4.0, 2e-2);
  EXPECT_NEAR(g[16 + 1], 0.0, 1e-3);
  EXPECT_NEAR(g[16 + 10], 0.0, 1e-3);
}

// Released shooting_gn.py: no clipping, lam += act_viol every step, one residual per step.
TEST(ShootingGnPreset, ReleasedAndOurs) {
  PointMassModel m;
  ShootingGnSettings r;
  r.load(Config());
  EXPECT_FALSE(r.clip);
  EXPECT_EQ(r.act_lr, 1.0);
  EXPECT_TRUE(r.summed);
  EXPECT_EQ(r.iterations, 100);
  EXPECT_EQ(r.damping, 1e-2);
  EXPECT_EQ(r.step, 0.1);
  Config oc;
  oc.set("gn_preset", "ours");
  ShootingGnSettings o;
  o.load(oc);
  EXPECT_TRUE(o.clip);
  EXPECT_EQ(o.act_lr, 0.0);
  EXPECT_FALSE(o.summed);
  Config bad = Config::parse("gn_residuals: stacked\n", "g.yaml");
  EXPECT_THROW(make_planner("shooting_gn", m, 5, bad), Error);
  // Both improve on the point mass and return actions within the bounds.
  auto g = near_goal_model();
  const float z0[4] = {0, 0, 0, 0};
  std::vector<float> zeros(30, 0.0f), lat(16 * 4);
  const double J0 = rollout_return(g, z0, zeros.data(), 15, lat.data());
  const Config released;
  for (const Config* c : {&released, static_cast<const Config*>(&oc)}) {
    auto planner = make_planner("shooting_gn", g, 15, *c);
    const PlanResult& res = planner->plan(z0, 2);
    EXPECT_GT(res.iters.back().reward, res.iters.front().reward);
    EXPECT_GT(res.predicted_return, J0);
    for (int k = 0; k < 30; ++k) EXPECT_LE(std::fabs(res.actions[k]), 1.0f);
  }
}

// latco_winner: sample picks the restart by one sampled rollout (released imagine_feat with
// deterministic=False); the reported return stays the mean rollout of the chosen actions.
TEST(RestartWinner, SampledRolloutAsReleased) {
  LotteryModel m;
  std::vector<float> z0(3);
  m.start(z0.data());
  Config mean, sample;
  for (Config* c : {&mean, &sample}) {
    c->set("latco_iterations", "20");
    c->set("latco_restarts", "6");
  }
  sample.set("latco_winner", "sample");
  auto pm = make_planner("latco", m, 20, mean);
  auto ps = make_planner("latco", m, 20, sample);
  const PlanResult& rm = pm->plan(z0.data(), 5);
  const double jm = rm.predicted_return;
  const PlanResult& rs = ps->plan(z0.data(), 5);
  std::vector<float> lat(21 * 3);
  EXPECT_NEAR(rs.predicted_return, rollout_return(m, z0.data(), rs.actions.data(), 20, lat.data()), 1e-6);
  EXPECT_LE(rs.predicted_return, jm + 1e-9);  // the mean winner maximises exactly this
  Config bad;
  bad.set("latco_winner", "best");
  EXPECT_THROW(make_planner("latco", m, 5, bad), Error);
}

// image_collocation is a planner of the table on the whole world model: made by name with the Rssm,
// listed in the unknown-name error, its keys read with every planner's, and run by evaluate_planner.
TEST(ImageCollocation, RegisteredAndRunsFromEval) {
  Rssm rssm(tiny_rssm(), 4, 81);
  RssmLatentModel view(rssm.transition());
  Config cfg;
  cfg.set("ic_iterations", "3");
  auto p = make_planner("image_collocation", view, 3, cfg, &rssm);
  EXPECT_EQ(p->name(), "image_collocation");
  std::vector<float> z0(rssm.latent_dim(), 0.1f);
  EXPECT_EQ(p->plan(z0.data(), 1).iters.size(), 3u);
  try {
    make_planner("image_collocation", view, 3, cfg);
    FAIL() << "expected an error without the world model";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("whole world model"), std::string::npos) << e.what();
  }
  try {
    make_planner("image_colocation", view, 3, cfg, &rssm);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    for (const auto& n : all_planner_names()) EXPECT_NE(std::string(e.what()).find(" " + n), std::string::npos) << n;
    EXPECT_NE(std::string(e.what()).find("image_collocation"), std::string::npos) << e.what();
  }
  const auto latent_only = planner_names();
  EXPECT_EQ(std::count(latent_only.begin(), latent_only.end(), "image_collocation"), 0);
  Config keys;
  keys.set("ic_lr", "0.01");
  read_planner_keys(keys);
  EXPECT_NO_THROW(keys.check_all_used());
  EnvSettings es;
  es.image_size = 16;
  es.time_limit = 4;
  auto env = make_env("reach", es);
  ASSERT_EQ(env->action_dim(), 4);
  EvalSummary sum = evaluate_planner(*env, rssm, "image_collocation", cfg, 3, 2, 1, 7);
  EXPECT_EQ(sum.planner, "image_collocation");
  EXPECT_EQ(sum.runs.size(), 1u);
  EXPECT_EQ(sum.runs[0].steps, 4);
}

