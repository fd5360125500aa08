// The shooting planners (plan/shooting/): shooting GN, shooting GD and iLQR against the dense
// optimum of a linear-quadratic problem, GN's two Jacobian sweeps, GD's bounds and restarts, and
// iLQR's backward pass against hand-written Riccati gains, its blocked form and its reference.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/config.h"
#include "model/analytic_models.h"
#include "plan/planner.h"
#include "plan/rollout.h"
#include "plan/shooting/ilqr.h"
#include "tests/planner_test_models.h"

using namespace latco;

namespace {

// The unconstrained LQ optimum by a dense solve in the actions (independent of any planner code):
//   z_t = F^t z0 + sum_{s<t} F^{t-1-s} G a_s,   cost = sum_{t=1..H} |L z_t|^2 + w sum_t |a_t|^2.
// Returns J* = -cost*, fills a*: (H, A).
double lq_dense_optimum(const LinearQuadraticModel& m, const std::vector<float>& z0, int H, std::vector<double>* a_opt) {
  const int Z = m.latent_dim(), A = m.action_dim(), n = H * A;
  const auto &F = m.F(), &G = m.G(), &L = m.L();
  // z_t = b_t + M_t a, with M_t: (Z, n), b_t: (Z), built step by step.
  std::vector<double> b(z0.begin(), z0.end()), M(Z * n, 0.0);
  std::vector<double> Hm(n * n, 0.0), g(n, 0.0);  // cost = a^T Hm a + 2 g^T a + const
  for (int i = 0; i < n; ++i) Hm[i * n + i] = m.action_cost();
  for (int t = 0; t < H; ++t) {
    std::vector<double> b2(Z, 0.0), M2(Z * n, 0.0);
    for (int i = 0; i < Z; ++i) {
      for (int k = 0; k < Z; ++k) {
        b2[i] += F[i * Z + k] * b[k];
        for (int c = 0; c < n; ++c) M2[i * n + c] += F[i * Z + k] * M[k * n + c];
      }
      for (int j = 0; j < A; ++j) M2[i * n + t * A + j] += G[i * A + j];
    }
    b = b2, M = M2;
    // L z_t = L b + L M a
    for (int i = 0; i < Z; ++i) {
      double lb = 0;
      std::vector<double> lm(n, 0.0);
      for (int k = 0; k < Z; ++k) {
        lb += L[i * Z + k] * b[k];
        for (int c = 0; c < n; ++c) lm[c] += L[i * Z + k] * M[k * n + c];
      }
      for (int x = 0; x < n; ++x) {
        g[x] += lm[x] * lb;
        for (int y = 0; y < n; ++y) Hm[x * n + y] += lm[x] * lm[y];
      }
    }
  }
  // Hm a = -g by Gaussian elimination with partial pivoting.
  std::vector<double> rhs(n);
  for (int i = 0; i < n; ++i) rhs[i] = -g[i];
  for (int c = 0; c < n; ++c) {
    int p = c;
    for (int r = c + 1; r < n; ++r)
      if (std::fabs(Hm[r * n + c]) > std::fabs(Hm[p * n + c])) p = r;
    for (int k = 0; k < n; ++k) std::swap(Hm[c * n + k], Hm[p * n + k]);
    std::swap(rhs[c], rhs[p]);
    for (int r = c + 1; r < n; ++r) {
      const double f = Hm[r * n + c] / Hm[c * n + c];
      for (int k = c; k < n; ++k) Hm[r * n + k] -= f * Hm[c * n + k];
      rhs[r] -= f * rhs[c];
    }
  }
  a_opt->assign(n, 0.0);
  for (int r = n - 1; r >= 0; --r) {
    double s = rhs[r];
    for (int k = r + 1; k < n; ++k) s -= Hm[r * n + k] * (*a_opt)[k];
    (*a_opt)[r] = s / Hm[r * n + r];
  }
  std::vector<float> af(a_opt->begin(), a_opt->end()), lat((H + 1) * Z);
  return rollout_return(m, z0.data(), af.data(), H, lat.data());
}

// ----- known optimum: linear-quadratic problem, bounds not binding -----

struct LqCase {
  LinearQuadraticModel model = LinearQuadraticModel::random(4, 2, 21, 0.1f);
  int H = 8;
  std::vector<float> z0 = random_vec(4, 22);
  std::vector<double> a_opt;
  double J_opt = lq_dense_optimum(model, z0, H, &a_opt);
};

void expect_reaches_lq_optimum(const std::string& planner, Config cfg, double tol_J, double tol_a) {
  LqCase lq;
  auto p = make_planner(planner, lq.model, lq.H, cfg);
  const PlanResult& res = p->plan(lq.z0.data(), 5);
  EXPECT_LE(res.predicted_return, lq.J_opt + 1e-4 * std::fabs(lq.J_opt)) << planner << ": beat the optimum?";
  EXPECT_NEAR(res.predicted_return, lq.J_opt, tol_J * std::fabs(lq.J_opt)) << planner;
  double da = 0;
  for (int k = 0; k < lq.H * 2; ++k) da = std::max(da, std::fabs(res.actions[k] - lq.a_opt[k]));
  EXPECT_LT(da, tol_a) << planner << ": max action error";
  EXPECT_EQ(res.actions.shape(), (Shape{lq.H, 2}));
  EXPECT_EQ(res.latents.shape(), (Shape{lq.H + 1, 4}));
  EXPECT_FALSE(res.iters.empty());
  EXPECT_GT(res.timing.total, 0.0);
}

}  // namespace

TEST(LinearQuadratic, DenseOptimumIsAStationaryPoint) {
  LqCase lq;
  std::vector<float> a(lq.a_opt.begin(), lq.a_opt.end()), lat((lq.H + 1) * 4);
  for (int k = 0; k < lq.H * 2; ++k) {  // any perturbation lowers J
    auto ap = a;
    ap[k] += 0.05f;
    EXPECT_LT(rollout_return(lq.model, lq.z0.data(), ap.data(), lq.H, lat.data()), lq.J_opt);
  }
}

TEST(LinearQuadratic, ShootingGnReachesOptimum) {
  expect_reaches_lq_optimum("shooting_gn", Config(), 1e-4, 1e-2);
}

TEST(LinearQuadratic, ShootingGnAdjointJacobianReachesOptimum) {
  Config cfg;
  cfg.set("gn_jacobian", "adjoint");
  expect_reaches_lq_optimum("shooting_gn", cfg, 1e-4, 1e-2);
}

// Both ways of forming d rho / d a give the same plan (C = 1 < A: auto picks the adjoint sweep).
TEST(ShootingGn, AdjointAndForwardJacobiansAgree) {
  TanhModel m(6, 3, 91);
  auto z0 = random_vec(6, 92);
  std::vector<float> plans[2];
  const char* modes[2] = {"forward", "adjoint"};
  for (int k = 0; k < 2; ++k) {
    Config cfg;
    cfg.set("gn_jacobian", modes[k]);
    cfg.set("gn_iterations", "30");
    plans[k] = make_planner("shooting_gn", m, 10, cfg)->plan(z0.data(), 3).actions.to_vector();
  }
  double diff = 0;
  for (size_t i = 0; i < plans[0].size(); ++i) diff = std::max(diff, double(std::fabs(plans[0][i] - plans[1][i])));
  EXPECT_LT(diff, 1e-4);
  Config bad;
  bad.set("gn_jacobian", "reverse");
  EXPECT_THROW(make_planner("shooting_gn", m, 10, bad), Error);
}

TEST(LinearQuadratic, IlqrReachesOptimum) {
  Config ours;  // Gauss-Newton expansion, mu from 1e-6: converges in a few iterations
  ours.set("ilqr_preset", "ours");
  ours.set("ilqr_iterations", "20");
  expect_reaches_lq_optimum("ilqr", ours, 1e-5, 1e-3);
  // The released preset (full Hessian of -r, here exact up to the differences; mu kept >= 20).
  expect_reaches_lq_optimum("ilqr", Config(), 1e-4, 1e-2);
}

TEST(LinearQuadratic, ShootingGdReachesOptimum) {
  Config cfg;  // Adam at a constant rate hovers within about lr of the optimum: smaller rate, more steps
  cfg.set("gd_iterations", "3000");
  cfg.set("gd_lr", "0.01");
  expect_reaches_lq_optimum("shooting_gd", cfg, 1e-3, 3e-2);
}

TEST(ShootingGd, KeepsActionsWithinBoundsAndImproves) {
  auto m = near_goal_model();
  Config cfg;
  cfg.set("gd_iterations", "200");
  auto p = make_planner("shooting_gd", m, 15, cfg);
  const float z0[4] = {0, 0, 0, 0};
  const PlanResult& res = p->plan(z0, 2);
  for (int k = 0; k < 30; ++k) EXPECT_LE(std::fabs(res.actions[k]), 1.0f);
  EXPECT_GT(res.iters.back().reward, res.iters.front().reward);
  EXPECT_GT(res.timing.derivatives, 0.0);
  // Restart 0 is the single run above, so the best of three can only be as good or better.
  const double J1 = res.predicted_return;
  cfg.set("gd_restarts", "3");
  auto p3 = make_planner("shooting_gd", m, 15, cfg);
  const PlanResult& res3 = p3->plan(z0, 2);
  EXPECT_GE(res3.predicted_return, J1);
  EXPECT_EQ(res3.iters.size(), 200u);
}

// ----- iLQR backward pass against hand-written Riccati gains (2 states, 1 action) -----

TEST(Ilqr, BackwardPassMatchesRiccatiGains) {
  // z' = F z + G a; cost sum_t z^T Q z (t >= 1) + R a^2; expanded at zero: l_z = 0, l_zz = 2Q, l_aa = 2R.
  const int H = 4;
  const double dt = 0.125, q0 = 1.0, q1 = 0.5, R = 0.2;
  const float F[4] = {1, float(dt), 0, 1}, G[2] = {0, float(dt)};
  std::vector<float> fz(H * 4), fa(H * 2);
  for (int t = 0; t < H; ++t) {
    std::copy(F, F + 4, &fz[t * 4]);
    std::copy(G, G + 2, &fa[t * 2]);
  }
  std::vector<double> lz((H + 1) * 2, 0.0), lzz((H + 1) * 4, 0.0), la(H, 0.0), laa(H, 2 * R);
  for (int t = 1; t <= H; ++t) lzz[t * 4 + 0] = 2 * q0, lzz[t * 4 + 3] = 2 * q1;
  LqrExpansion e{H, 2, 1, fz.data(), fa.data(), lz.data(), lzz.data(), la.data(), laa.data()};
  BackwardWorkspace ws;
  ws.resize(2, 1);
  std::vector<double> k(H), K(H * 2), k_ref(H), K_ref(H * 2);
  double dV[2];
  ASSERT_EQ(ilqr_backward_pass_ref(e, 0.0, &ws, k_ref.data(), K_ref.data(), dV), -1);
  ASSERT_EQ(ilqr_backward_pass(e, 0.0, &ws, k.data(), K.data(), dV), -1);
  for (int i = 0; i < H * 2; ++i) EXPECT_NEAR(K_ref[i], K[i], 1e-12);

  // Riccati, written out for 2x2: P_H = Q; K_t = -(R + G'PG)^{-1} G'PF; P_t = Q_t + F'PF + F'PG K_t,
  // with Q_0 = 0 (z_0 carries no cost). Here G = (0, dt), F = [[1, dt], [0, 1]].
  double p00 = q0, p01 = 0, p11 = q1;
  for (int t = H - 1; t >= 0; --t) {
    const double gpg = dt * dt * p11;                               // G'PG
    const double gpf0 = dt * p01, gpf1 = dt * (dt * p01 + p11);     // G'PF = dt * (row 2 of PF)
    const double s = R + gpg;
    const double K0 = -gpf0 / s, K1 = -gpf1 / s;
    EXPECT_NEAR(K[t * 2 + 0], K0, 1e-9) << "t=" << t;
    EXPECT_NEAR(K[t * 2 + 1], K1, 1e-9) << "t=" << t;
    EXPECT_NEAR(k[t], 0.0, 1e-12);
    // F'PF
    const double a00 = p00, a01 = dt * p00 + p01, a11 = dt * dt * p00 + 2 * dt * p01 + p11;
    const double qt0 = t > 0 ? q0 : 0, qt1 = t > 0 ? q1 : 0;
    // F'PG K = (G'PF)' K = -(G'PF)'(G'PF)/s
    p00 = qt0 + a00 + gpf0 * K0;
    p01 = a01 + gpf0 * K1;
    p11 = qt1 + a11 + gpf1 * K1;
  }
  EXPECT_NEAR(ws.Vxx[0], 2 * p00, 1e-9);  // V = z'Pz: V_xx = 2P
  EXPECT_NEAR(ws.Vxx[1], 2 * p01, 1e-9);
  EXPECT_NEAR(ws.Vxx[3], 2 * p11, 1e-9);
}

TEST(Ilqr, ExpectedImprovementIsExactOnAQuadraticProblem) {
  // For an LQ problem, the cost change of the full step equals dV[0] + dV[1] (mu = 0).
  LqCase lq;
  const int H = lq.H, Z = 4, A = 2;
  auto a = random_vec(H * A, 31);
  Linearization lin;
  lin.resize(H, Z, A);
  const double J0 = rollout_forward(lq.model, lq.z0.data(), a.data(), &lin);
  rollout_jacobians(lq.model, &lin);
  std::vector<double> lz((H + 1) * Z, 0.0), lzz((H + 1) * Z * Z, 0.0), la(H * A), laa(H * A * A, 0.0);
  const double w = lq.model.action_cost();
  for (int t = 1; t <= H; ++t)
    for (int i = 0; i < Z; ++i) {  // L = I: l = |z|^2
      lz[t * Z + i] = 2 * lin.z[t * Z + i];
      lzz[(t * Z + i) * Z + i] = 2;
    }
  for (int t = 0; t < H; ++t)
    for (int i = 0; i < A; ++i) la[t * A + i] = 2 * w * a[t * A + i], laa[(t * A + i) * A + i] = 2 * w;
  LqrExpansion e{H, Z, A, lin.fz.data(), lin.fa.data(), lz.data(), lzz.data(), la.data(), laa.data()};
  BackwardWorkspace ws;
  ws.resize(Z, A);
  std::vector<double> k(H * A), K(H * A * Z);
  double dV[2];
  ASSERT_EQ(ilqr_backward_pass(e, 0.0, &ws, k.data(), K.data(), dV), -1);
  // Open-loop step with feedback on the state deviation (linear dynamics: exact).
  std::vector<float> z(Z), zn(Z), anew(H * A);
  std::copy(lq.z0.begin(), lq.z0.end(), z.begin());
  for (int t = 0; t < H; ++t) {
    for (int i = 0; i < A; ++i) {
      double v = a[t * A + i] + k[t * A + i];
      for (int j = 0; j < Z; ++j) v += K[(t * A + i) * Z + j] * (z[j] - lin.z[t * Z + j]);
      anew[t * A + i] = static_cast<float>(v);
    }
    lq.model.predict(1, z.data(), &anew[t * A], zn.data());
    z = zn;
  }
  std::vector<float> lat((H + 1) * Z);
  const double J1 = rollout_return(lq.model, lq.z0.data(), anew.data(), H, lat.data());
  EXPECT_LT(dV[0] + dV[1], 0.0);
  EXPECT_NEAR(-(J1 - J0), dV[0] + dV[1], 1e-3 * std::fabs(dV[0] + dV[1]));
  EXPECT_NEAR(J1, lq.J_opt, 1e-4 * std::fabs(lq.J_opt));  // one Newton step solves an LQ problem
}

TEST(Ilqr, BlockedBackwardPassMatchesReference) {
  const int H = 6, Z = 37, A = 3;
  auto fz = random_vec(H * Z * Z, 81, 0.2f), fa = random_vec(H * Z * A, 82);
  std::vector<double> lz((H + 1) * Z), lzz((H + 1) * Z * Z, 0.0), la(H * A), laa(H * A * A, 0.0);
  auto r1 = random_vec((H + 1) * Z, 83), r2 = random_vec((H + 1) * Z * 4, 84), r3 = random_vec(H * A, 85);
  for (int i = 0; i < (H + 1) * Z; ++i) lz[i] = r1[i];
  for (int i = 0; i < H * A; ++i) la[i] = r3[i];
  for (int t = 0; t <= H; ++t)  // l_zz = 2 C^T C with C (4, Z): positive semi-definite, rank 4
    for (int i = 0; i < Z; ++i)
      for (int j = 0; j < Z; ++j)
        for (int q = 0; q < 4; ++q) lzz[(t * Z + i) * Z + j] += 2.0 * r2[(t * 4 + q) * Z + i] * r2[(t * 4 + q) * Z + j];
  for (int t = 0; t < H; ++t)
    for (int i = 0; i < A; ++i) laa[(t * A + i) * A + i] = 0.2;
  LqrExpansion e{H, Z, A, fz.data(), fa.data(), lz.data(), lzz.data(), la.data(), laa.data()};
  BackwardWorkspace w1, w2;
  w1.resize(Z, A);
  w2.resize(Z, A);
  std::vector<double> k1(H * A), K1(H * A * Z), k2(H * A), K2(H * A * Z);
  double dV1[2], dV2[2];
  ASSERT_EQ(ilqr_backward_pass_ref(e, 1e-3, &w1, k1.data(), K1.data(), dV1), -1);
  ASSERT_EQ(ilqr_backward_pass(e, 1e-3, &w2, k2.data(), K2.data(), dV2), -1);
  auto close = [](double a, double b) { return std::fabs(a - b) <= 1e-8 * (1 + std::fabs(b)); };
  for (int i = 0; i < H * A; ++i) ASSERT_TRUE(close(k2[i], k1[i])) << i << ": " << k2[i] << " vs " << k1[i];
  for (int i = 0; i < H * A * Z; ++i) ASSERT_TRUE(close(K2[i], K1[i])) << i << ": " << K2[i] << " vs " << K1[i];
  EXPECT_TRUE(close(dV2[0], dV1[0]));
  EXPECT_TRUE(close(dV2[1], dV1[1]));
  for (int i = 0; i < Z * Z; ++i) ASSERT_TRUE(close(w2.Vxx[i], w1.Vxx[i])) << i;
}

TEST(Ilqr, BackwardPassReportsIndefiniteQuu) {
  const int H = 3;
  std::vector<float> fz(H * 4, 0.0f), fa(H * 2, 1.0f);
  std::vector<double> lz((H + 1) * 2, 0.0), lzz((H + 1) * 4, 0.0), la(H, 0.0), laa(H, -1.0);
  LqrExpansion e{H, 2, 1, fz.data(), fa.data(), lz.data(), lzz.data(), la.data(), laa.data()};
  BackwardWorkspace ws;
  ws.resize(2, 1);
  std::vector<double> k(H), K(H * 2);
  double dV[2];
  EXPECT_EQ(ilqr_backward_pass(e, 0.0, &ws, k.data(), K.data(), dV), H - 1);
  EXPECT_EQ(ilqr_backward_pass(e, 2.0, &ws, k.data(), K.data(), dV), -1);  // regularised: fine
}
