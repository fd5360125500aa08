// Baseline planners on known answers: BPTT gradients against finite differences,
// shooting GD / GN and iLQR against the dense optimum of a linear-quadratic
// problem, iLQR's backward pass against hand-written Riccati gains, CEM / MPPI
// improvement and bitwise reproducibility across thread counts.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "core/thread_pool.h"
#include "io/config.h"
#include "model/analytic_models.h"
#include "model/rssm.h"
#include "model/rssm_latent_model.h"
#include "plan/collocation/image_collocation.h"
#include "plan/collocation/latco_first_order.h"
#include "plan/planner.h"
#include "plan/rollout.h"
#include "plan/sampling/sampling_planners.h"
#include "plan/shooting/ilqr.h"
#include "plan/shooting/shooting_gd.h"
#include "plan/shooting/shooting_gn.h"

using namespace latco;

namespace {

// A small nonlinear model for gradient checks: z' = tanh(F z + G a),  r(z) = sum_i sin(z_i) - 0.5 |z|^2.
class TanhModel : public LatentModel {
 public:
  TanhModel(int Z, int A, uint64_t seed) : Z_(Z), A_(A), F_(Z * Z), G_(Z * A) {
    Rng rng(seed);
    for (auto& f : F_) f = 0.8f * rng.normal() / std::sqrt(float(Z));
    for (auto& g : G_) g = 0.7f * rng.normal();
  }
  int latent_dim() const override { return Z_; }
  int action_dim() const override { return A_; }
  float action_cost() const override { return 0.05f; }
  void predict(int N, const float* z, const float* a, float* zn) const override {
    predict_jacobians(N, z, a, zn, nullptr, nullptr);
  }
  void reward(int N, const float* z, float* r) const override {
    for (int n = 0; n < N; ++n) {
      double s = 0;
      for (int i = 0; i < Z_; ++i) s += std::sin(z[n * Z_ + i]) - 0.5 * z[n * Z_ + i] * z[n * Z_ + i];
      r[n] = static_cast<float>(s);
    }
  }
  void predict_jacobians(int N, const float* z, const float* a, float* mu, float* dz, float* da) const override {
    for (int n = 0; n < N; ++n)
      for (int i = 0; i < Z_; ++i) {
        double x = 0;
        for (int j = 0; j < Z_; ++j) x += F_[i * Z_ + j] * z[n * Z_ + j];
        for (int j = 0; j < A_; ++j) x += G_[i * A_ + j] * a[n * A_ + j];
        const double y = std::tanh(x), d = 1 - y * y;
        if (mu) mu[n * Z_ + i] = static_cast<float>(y);
        if (dz)
          for (int j = 0; j < Z_; ++j) dz[(n * Z_ + i) * Z_ + j] = static_cast<float>(d * F_[i * Z_ + j]);
        if (da)
          for (int j = 0; j < A_; ++j) da[(n * Z_ + i) * A_ + j] = static_cast<float>(d * G_[i * A_ + j]);
      }
  }
  void reward_gradient(int N, const float* z, float* r, float* dr) const override {
    if (r) reward(N, z, r);
    for (int n = 0; n < N; ++n)
      for (int i = 0; i < Z_; ++i) dr[n * Z_ + i] = std::cos(z[n * Z_ + i]) - z[n * Z_ + i];
  }

 private:
  int Z_, A_;
  std::vector<float> F_, G_;
};

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

std::vector<float> random_vec(int n, uint64_t seed, float scale = 1.0f) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = scale * rng.normal();
  return v;
}

}  // namespace

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

// ----- sampling planners -----

PointMassModel near_goal_model() {
  PointMassSettings s;
  s.goal_x = 0.6f, s.goal_y = 0.3f, s.goal_sigma = 0.5f;  // smooth: reachable with H = 15
  return PointMassModel(s);
}

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

// ----- no-second-order ablation -----

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

// ----- image collocation (tiny RSSM at 16 x 16) -----

namespace {
RssmSettings tiny_rssm() {
  RssmSettings s;
  s.stoch = 4, s.deter = 8, s.hidden = 16, s.depth = 2, s.image_size = 16, s.reward_hidden = 16;
  return s;
}
}  // namespace

// Pairwise gradients equal the true ones for the last image and the last action (nothing later
// depends on them through a detached path); checked against central differences of the loss.
TEST(ImageCollocation, LastImageAndActionGradientsMatchFiniteDifferences) {
  Rssm rssm(tiny_rssm(), 2, 61);
  const int H = 3, P = 3 * 16 * 16, A = 2;
  ImageCollocation ic(rssm, H, ImageCollocationSettings{});
  auto z0 = random_vec(rssm.latent_dim(), 62, 0.5f);
  auto img = random_vec(H * P, 63, 0.2f);
  auto act = random_vec(H * A, 64, 0.8f);
  act[(H - 1) * A] = 1.3f;  // the bound term is active on the last action
  std::vector<double> lambda(H, 50.0), nu(H, 3.0);
  std::vector<float> gi(H * P), ga(H * A);
  ic.loss(z0.data(), img.data(), act.data(), lambda.data(), nu.data(), gi.data(), ga.data(), nullptr, nullptr);
  auto f = [&](const std::vector<float>& i, const std::vector<float>& a) {
    return ic.loss(z0.data(), i.data(), a.data(), lambda.data(), nu.data(), nullptr, nullptr, nullptr, nullptr);
  };
  const float eps = 1e-2f;
  double max_err = 0, max_g = 0;
  for (int p = 0; p < P; p += 37) {
    const int k = (H - 1) * P + p;
    auto ip = img, im = img;
    ip[k] += eps, im[k] -= eps;
    const double fd = (f(ip, act) - f(im, act)) / (2 * eps);
    max_err = std::max(max_err, std::fabs(fd - gi[k]));
    max_g = std::max(max_g, std::fabs(fd));
  }
  for (int j = 0; j < A; ++j) {
    const int k = (H - 1) * A + j;
    auto ap = act, am = act;
    ap[k] += eps, am[k] -= eps;
    const double fd = (f(img, ap) - f(img, am)) / (2 * eps);
    max_err = std::max(max_err, std::fabs(fd - ga[k]));
    max_g = std::max(max_g, std::fabs(fd));
  }
  EXPECT_GT(max_g, 1e-2);
  EXPECT_LT(max_err, 2e-2 * max_g + 1e-4) << "max |g| " << max_g;
}

TEST(ImageCollocation, DynamicsViolationFallsAndResultIsConsistent) {
  Rssm rssm(tiny_rssm(), 2, 71);
  const int H = 3;
  ImageCollocationSettings s;
  s.iterations = 40;
  s.dual_lr = 0;          // fixed multipliers: one fixed objective
  s.lambda_init = 1000.0;  // dominated by the image-dynamics term, which must then fall
  ImageCollocation ic(rssm, H, s);
  auto z0 = random_vec(rssm.latent_dim(), 72, 0.5f);
  const PlanResult& res = ic.plan(z0.data(), 3);
  ASSERT_EQ(res.iters.size(), 40u);
  EXPECT_LT(res.iters.back().dyn_violation, res.iters.front().dyn_violation);
  EXPECT_EQ(res.latents.shape(), (Shape{H + 1, rssm.latent_dim()}));
  for (int k = 0; k < H * 2; ++k) EXPECT_LE(std::fabs(res.actions[k]), 1.0f);
  for (int64_t k = 0; k < ic.planned_images().numel(); ++k) {
    ASSERT_GE(ic.planned_images()[k], -0.5f);
    ASSERT_LE(ic.planned_images()[k], 0.5f);
  }
  // The reported return is the actions' rollout through the planner's view of the same weights.
  RssmLatentModel view(rssm.transition());
  std::vector<float> lat((H + 1) * rssm.latent_dim());
  EXPECT_NEAR(res.predicted_return, rollout_return(view, z0.data(), res.actions.data(), H, lat.data()), 1e-5);
  for (const auto& [name, p] : rssm.parameters()) EXPECT_FALSE(p.has_grad() && p.node()->grad.numel() > 0 &&
                                                               std::fabs(p.node()->grad[0]) > 0) << name;
}
