// Rollouts (plan/rollout.h), the pieces every planner shares: the test model's Jacobians and
// backprop through time against central differences, the Section 4 reward residual softplus(-r)
// and its gradient (also as an op of the autodiff graph), and batched rollouts against single ones.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "autodiff/var.h"
#include "core/tensor.h"
#include "plan/rollout.h"
#include "tests/planner_test_models.h"

using namespace latco;

// ----- derivatives -----

TEST(Rollout, TanhModelJacobiansMatchFiniteDifferences) {
  TanhModel m(5, 2, 3);
  auto z = random_vec(5, 1), a = random_vec(2, 2);
  std::vector<float> dz(25), da(10), dr(5), zp(5), zm(5);
  m.predict_jacobians(1, z.data(), a.data(), nullptr, dz.data(), da.data());
  m.reward_gradient(1, z.data(), nullptr, dr.data());
  const float eps = 1e-3f;
  for (int j = 0; j < 5; ++j) {
    auto z1 = z, z2 = z;
    z1[j] += eps, z2[j] -= eps;
    m.predict(1, z1.data(), a.data(), zp.data());
    m.predict(1, z2.data(), a.data(), zm.data());
    for (int i = 0; i < 5; ++i) EXPECT_NEAR(dz[i * 5 + j], (zp[i] - zm[i]) / (2 * eps), 2e-3);
    float rp, rm;
    m.reward(1, z1.data(), &rp);
    m.reward(1, z2.data(), &rm);
    EXPECT_NEAR(dr[j], (rp - rm) / (2 * eps), 2e-3);
  }
  for (int j = 0; j < 2; ++j) {
    auto a1 = a, a2 = a;
    a1[j] += eps, a2[j] -= eps;
    m.predict(1, z.data(), a1.data(), zp.data());
    m.predict(1, z.data(), a2.data(), zm.data());
    for (int i = 0; i < 5; ++i) EXPECT_NEAR(da[i * 2 + j], (zp[i] - zm[i]) / (2 * eps), 2e-3);
  }
}

// Shooting GD's gradient: BPTT through the stored Jacobians against central differences of rollout_return.
TEST(Rollout, BackpropThroughTimeMatchesFiniteDifferences) {
  TanhModel m(6, 2, 7);
  const int H = 12, A = 2;
  auto z0 = random_vec(6, 4);
  auto a = random_vec(H * A, 5, 0.4f);
  clip_actions(H * A, 0.9f, a.data());  // inside the bounds: rollout_return's clipping is inactive
  Linearization lin;
  lin.resize(H, 6, A);
  const double J = rollout_forward(m, z0.data(), a.data(), &lin);
  std::vector<float> lat((H + 1) * 6), g(H * A);
  EXPECT_NEAR(J, rollout_return(m, z0.data(), a.data(), H, lat.data()), 1e-4 * (1 + std::fabs(J)));
  rollout_jacobians(m, &lin);
  backprop_return(&lin, m.action_cost(), g.data());
  const float eps = 1e-2f;
  double max_err = 0, max_g = 0;
  for (int k = 0; k < H * A; ++k) {
    auto ap = a, am = a;
    ap[k] += eps, am[k] -= eps;
    const double fd = (rollout_return(m, z0.data(), ap.data(), H, lat.data()) -
                       rollout_return(m, z0.data(), am.data(), H, lat.data())) / (2 * eps);
    max_err = std::max(max_err, std::fabs(fd - g[k]));
    max_g = std::max(max_g, std::fabs(fd));
  }
  EXPECT_GT(max_g, 1e-2);  // the check is not vacuous
  EXPECT_LT(max_err, 5e-3 * (1 + max_g)) << "max |g| " << max_g;
}

TEST(Rollout, SoftplusResidualGradientMatchesFiniteDifferences) {
  TanhModel m(4, 1, 9);  // no cost residuals: rho = softplus(-r)
  ASSERT_EQ(state_residual_dim(m), 1);
  auto z = random_vec(4, 6);
  float c, dc[4], r, dr[4];
  state_residuals(m, 1, z.data(), &c, dc, &r, dr);
  EXPECT_NEAR(c, softplus_neg(r), 1e-6);
  const float eps = 1e-3f;
  for (int j = 0; j < 4; ++j) {
    auto zp = z, zm = z;
    zp[j] += eps, zm[j] -= eps;
    float cp, cm;
    state_residuals(m, 1, zp.data(), &cp, nullptr, &r, dr);
    state_residuals(m, 1, zm.data(), &cm, nullptr, &r, dr);
    EXPECT_NEAR(dc[j], (cp - cm) / (2 * eps), 1e-3);
  }
  EXPECT_NEAR(softplus_neg(-800.0), 800.0, 1e-9);  // stable for large |r|
  EXPECT_NEAR(softplus_neg(800.0), 0.0, 1e-12);
}

// The graph form (image collocation's residuals) is the scalar definition: the same values and
// d rho / dr bit for bit, gradients that accumulate; and it agrees within float rounding with the
// composition softplus(-r) of autodiff ops that image collocation used before it.
TEST(Rollout, SoftplusResidualOnTheGraphIsTheScalarOne) {
  std::vector<float> rs = {-800, -40, -17.5f, -3, -1, -0.25f, 0, 1e-4f, 0.5f, 2, 9, 25, 90, 800};
  for (float x : random_vec(50, 7, 6.0f)) rs.push_back(x);
  const int n = int(rs.size());
  const Tensor rt = Tensor::from({n}, rs), seed = Tensor::from({n}, random_vec(n, 8));
  ad::Var r = ad::leaf(rt, true);
  ad::Var rho = softplus_neg(r);
  ad::backward(rho, seed);
  ad::Var r2 = ad::leaf(rt, true);
  ad::Var rho2 = ad::softplus(-r2);
  ad::backward(rho2, seed);
  for (int i = 0; i < n; ++i) {
    EXPECT_EQ(rho.value()[i], static_cast<float>(softplus_neg(rs[i]))) << rs[i];
    EXPECT_EQ(r.grad()[i], static_cast<float>(seed[i] * softplus_neg_grad(rs[i]))) << rs[i];
    EXPECT_NEAR(rho2.value()[i], rho.value()[i], 3e-7 * std::fabs(rho.value()[i]) + 1e-37) << rs[i];
    EXPECT_NEAR(r2.grad()[i], r.grad()[i], 3e-7 * std::fabs(r.grad()[i]) + 1e-37) << rs[i];
  }
  ad::Var twice = ad::sum(softplus_neg(r));  // d r accumulates: seed + d rho / dr
  ad::backward(twice);
  for (int i = 0; i < n; ++i)
    EXPECT_EQ(r.grad()[i], static_cast<float>(seed[i] * softplus_neg_grad(rs[i])) +
                               static_cast<float>(softplus_neg_grad(rs[i]))) << rs[i];
  ad::NoGradGuard no_grad;  // no graph: a constant
  EXPECT_FALSE(softplus_neg(r).requires_grad());
}

TEST(Rollout, BatchedRolloutMatchesSingleRollouts) {
  TanhModel m(5, 2, 11);
  const int N = 7, H = 9, A = 2, Z = 5;
  auto z0 = random_vec(Z, 12);
  auto acts = random_vec(H * N * A, 13, 0.5f);  // (H, N, A)
  clip_actions(H * N * A, 1.0f, acts.data());   // rollout_batch expects actions within bounds
  std::vector<float> za(N * Z), zb(N * Z), r(N), lat((H + 1) * Z), seq(H * A);
  std::vector<double> ret(N);
  rollout_batch(m, N, H, z0.data(), acts.data(), za.data(), zb.data(), r.data(), ret.data());
  for (int n = 0; n < N; ++n) {
    for (int t = 0; t < H; ++t)
      for (int j = 0; j < A; ++j) seq[t * A + j] = acts[(t * N + n) * A + j];
    EXPECT_NEAR(ret[n], rollout_return(m, z0.data(), seq.data(), H, lat.data()), 1e-5);
  }
}
