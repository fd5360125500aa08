// Deterministic LatCo: Eq. (10) by hand, residual Jacobians against central
// differences, assembled normal equations against a dense J^T J, the LQ optimum
// from the Riccati recursion, the sparse point mass against shooting GD, thread-
// count determinism and an allocation-free LM iteration.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <vector>

#include "core/rng.h"
#include "core/thread_pool.h"
#include "kernels/flops.h"
#include "linalg/block_tridiag.h"
#include "linalg/riccati.h"
#include "model/analytic_models.h"
#include "plan/collocation/latco.h"
#include "plan/collocation/latco_residuals.h"

// ----- counts heap allocations (for the allocation-free LM iteration test) -----
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // the replacements below pair malloc with free
static std::atomic<long> g_allocs{0};
void* operator new(size_t n) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

using namespace latco;

namespace {

// A small nonlinear model: z' = 0.5 z + tanh(W z + U a + b),  r(z) = -(z_0 - 1)^2 + sin(z_1) + 0.3 z_2 z_0.
class TanhModel : public LatentModel {
 public:
  TanhModel(int Z, int A, uint64_t seed) : Z_(Z), A_(A), W_(Z * Z), U_(Z * A), b_(Z) {
    Rng rng(seed);
    for (auto& w : W_) w = 0.6f * rng.normal() / std::sqrt(float(Z));
    for (auto& u : U_) u = 0.8f * rng.normal();
    for (auto& b : b_) b = 0.1f * rng.normal();
  }
  int latent_dim() const override { return Z_; }
  int action_dim() const override { return A_; }
  void predict(int N, const float* z, const float* a, float* zn) const override {
    predict_jacobians(N, z, a, zn, nullptr, nullptr);
  }
  void predict_jacobians(int N, const float* z, const float* a, float* mu, float* dz, float* da) const override {
    for (int n = 0; n < N; ++n)
      for (int i = 0; i < Z_; ++i) {
        double s = b_[i];
        for (int j = 0; j < Z_; ++j) s += double(W_[i * Z_ + j]) * z[n * Z_ + j];
        for (int j = 0; j < A_; ++j) s += double(U_[i * A_ + j]) * a[n * A_ + j];
        const double th = std::tanh(s), d = 1 - th * th;
        if (mu) mu[n * Z_ + i] = float(0.5 * z[n * Z_ + i] + th);
        if (dz)
          for (int j = 0; j < Z_; ++j) dz[(n * Z_ + i) * Z_ + j] = float(d * W_[i * Z_ + j] + (i == j ? 0.5 : 0.0));
        if (da)
          for (int j = 0; j < A_; ++j) da[(n * Z_ + i) * A_ + j] = float(d * U_[i * A_ + j]);
      }
  }
  void reward(int N, const float* z, float* r) const override {
    for (int n = 0; n < N; ++n) {
      const float* x = z + n * Z_;
      r[n] = float(-(x[0] - 1.0) * (x[0] - 1.0) + std::sin(double(x[1])) + 0.3 * x[2] * x[0]);
    }
  }
  void reward_gradient(int N, const float* z, float* r, float* dr) const override {
    if (r) reward(N, z, r);
    for (int n = 0; n < N; ++n) {
      const float* x = z + n * Z_;
      float* g = dr + n * Z_;
      for (int j = 0; j < Z_; ++j) g[j] = 0;
      g[0] = float(-2.0 * (x[0] - 1.0) + 0.3 * x[2]);
      g[1] = float(std::cos(double(x[1])));
      g[2] = float(0.3 * x[0]);
    }
  }

 private:
  int Z_, A_;
  std::vector<float> W_, U_, b_;
};

// One plan's buffers evaluated through a CollocationProblem, as the solver would.
struct PlanBuffers {
  int H, Y, A, C;
  std::vector<float> a, y, f, Fy, Fa, c, Jc, r, yin, yout;
  std::vector<double> lambda, nu;
  PlanBuffers(const CollocationProblem& p, int H_) : H(H_), Y(p.state_dim()), A(p.action_dim()), C(p.cost_dim()) {
    a.resize(H * A), y.resize((H + 1) * Y), f.resize(H * Y), Fy.resize(H * Y * Y), Fa.resize(H * Y * A);
    c.resize(H * C), Jc.resize(H * C * Y), r.resize(H), yin.resize(H * Y), yout.resize(H * Y);
    lambda.resize(H), nu.resize(H);
  }
  void evaluate(const CollocationProblem& p) {
    std::copy(y.begin(), y.begin() + H * Y, yin.begin());
    std::copy(y.begin() + Y, y.end(), yout.begin());
    p.dynamics(H, yin.data(), a.data(), f.data(), Fy.data(), Fa.data());
    p.costs(H, yout.data(), c.data(), Jc.data(), r.data());
  }
  PlanView view(const CollocationProblem& p) const {
    PlanView v;
    v.H = H, v.Y = Y, v.A = A, v.C = C;
    v.a = a.data(), v.y = y.data(), v.f = f.data(), v.Fy = Fy.data(), v.Fa = Fa.data();
    v.c = c.data(), v.Jc = Jc.data(), v.lambda = lambda.data(), v.nu = nu.data();
    v.amax = p.action_max(), v.w = p.action_cost();
    return v;
  }
};

void random_plan(PlanBuffers& b, uint64_t seed, float amax) {
  Rng rng(seed);
  for (auto& v : b.y) v = rng.normal();
  for (auto& v : b.a) {
    v = 1.6f * rng.normal();
    if (std::fabs(std::fabs(v) - amax) < 0.05f) v += 0.2f;  // stay off the kink of max(0, |a| - a_max)
  }
  for (auto& l : b.lambda) l = 0.5 + 3 * rng.uniform();
  for (auto& l : b.nu) l = 0.5 + 3 * rng.uniform();
}

double sumsq(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x * x;
  return s;
}

}  // namespace

// ----- Eq. (10) -----
TEST(LatcoDual, PaperAndReleasedRulesByHand) {
  // Paper: lambda + 0.1 * ln(v/eps + 0.01) * lambda
  EXPECT_NEAR(dual_update(2.0, 1e-3, 1e-4, 0.1, 0.01, DualRule::Paper), 2.0 + 0.2 * std::log(10.01), 1e-14);
  EXPECT_NEAR(dual_update(2.0, 1e-3, 1e-4, 0.1, 0.01, DualRule::Paper), 2.4607170, 1e-6);
  EXPECT_NEAR(dual_update(2.0, 0.0, 1e-4, 0.1, 0.01, DualRule::Paper), 1.0789659, 1e-6);  // ln 0.01 = -4.60517
  // Released: lambda + 0.1 * log10((v + 0.1 eps) / eps) * lambda
  EXPECT_NEAR(dual_update(2.0, 1e-3, 1e-4, 0.1, 0.01, DualRule::Released), 2.2008643, 1e-6);  // log10 10.1
  EXPECT_NEAR(dual_update(2.0, 0.0, 1e-4, 0.1, 0.01, DualRule::Released), 1.8, 1e-12);       // log10 0.1 = -1
  // At v = eps the paper's rule barely moves (ln 1.01), the released one grows by log10 1.1.
  EXPECT_NEAR(dual_update(1.0, 1e-4, 1e-4, 0.1, 0.01, DualRule::Paper), 1.000995, 1e-6);
  EXPECT_NEAR(dual_update(1.0, 1e-4, 1e-4, 0.1, 0.01, DualRule::Released), 1.0041393, 1e-6);
  EXPECT_THROW(parse_dual_rule("fast", "cfg line 3"), Error);
}

// ----- residual Jacobian against central differences of the residual vector -----
static void check_jacobian(const CollocationProblem& p, int H, uint64_t seed) {
  PlanBuffers b(p, H);
  random_plan(b, seed, p.action_max());
  b.evaluate(p);
  const PlanView v = b.view(p);
  const int R = v.rows_per_step() * H, n = v.n(), N = H * n;
  std::vector<double> J(size_t(R) * N), rp(R), rm(R);
  plan_jacobian_dense(v, J.data());
  double worst = 0;
  for (int col = 0; col < N; ++col) {
    const int t = col / n, i = col % n;
    float* x = i < b.A ? &b.a[t * b.A + i] : &b.y[(t + 1) * b.Y + (i - b.A)];
    const float x0 = *x, h = 1e-2f;
    *x = x0 + h;
    b.evaluate(p);
    plan_residuals(b.view(p), rp.data());
    *x = x0 - h;
    b.evaluate(p);
    plan_residuals(b.view(p), rm.data());
    *x = x0;
    const double hh = double(x0 + h) - double(x0 - h);
    for (int r = 0; r < R; ++r) {
      const double fd = (rp[r] - rm[r]) / hh, an = J[size_t(r) * N + col];
      worst = std::max(worst, std::fabs(fd - an) / (1e-2 + std::fabs(an)));
    }
  }
  b.evaluate(p);
  EXPECT_LT(worst, 2e-3) << "worst relative Jacobian error";
}

TEST(LatcoResiduals, JacobianMatchesFiniteDifferences) {
  TanhModel tanh_model(3, 2, 5);
  LatentCollocationProblem p1(tanh_model);  // softplus(-r) reward residual
  check_jacobian(p1, 4, 1);
  auto lq = LinearQuadraticModel::random(3, 2, 8, 0.2f);
  LatentCollocationProblem p2(lq);  // model cost residuals + sqrt(w) a
  check_jacobian(p2, 3, 2);
}

TEST(LatcoResiduals, AssembledBlocksMatchDenseNormalEquations) {
  TanhModel m(5, 2, 9);
  LatentCollocationProblem p(m);
  for (int H : {1, 2, 6}) {
    PlanBuffers b(p, H);
    random_plan(b, 30 + H, p.action_max());
    b.evaluate(p);
    const PlanView v = b.view(p);
    const int R = v.rows_per_step() * H, n = v.n(), N = H * n;
    std::vector<double> J(size_t(R) * N), rho(R), JtJ(size_t(N) * N, 0.0), Jtr(N, 0.0);
    plan_jacobian_dense(v, J.data());
    plan_residuals(v, rho.data());
    for (int r = 0; r < R; ++r)
      for (int i = 0; i < N; ++i) {
        Jtr[i] += J[size_t(r) * N + i] * rho[r];
        for (int j = 0; j < N; ++j) JtJ[size_t(i) * N + j] += J[size_t(r) * N + i] * J[size_t(r) * N + j];
      }
    EXPECT_NEAR(plan_cost(v), sumsq(rho), 1e-9 * sumsq(rho));
    std::vector<double> D(size_t(H) * n * n), B(size_t(H) * n * n, 0.0), g(N), M(size_t(N) * N);
    assemble_normal_equations(v, D.data(), B.data(), g.data());
    block_tridiag_to_dense(H, n, D.data(), B.data(), 0.0, M.data());
    for (int i = 0; i < N; ++i) {
      EXPECT_NEAR(g[i], Jtr[i], 1e-9 * (1 + std::fabs(Jtr[i])));
      for (int j = 0; j < N; ++j)
        ASSERT_NEAR(M[size_t(i) * N + j], JtJ[size_t(i) * N + j], 1e-9 * (1 + std::fabs(JtJ[size_t(i) * N + j])))
            << "H=" << H << " (" << i << "," << j << ")";
    }
  }
}

// The factor that assembles the blocks as it runs and solves forward as it goes gives the bits of
// the factor and solve of the stored blocks (and the same g), on one thread and on two.
TEST(LatcoResiduals, AssembledWhileFactoringSameBitsAsStored) {
  TanhModel m(37, 3, 5);  // blocks of 40
  LatentCollocationProblem p(m);
  const int H = 7;
  PlanBuffers b(p, H);
  random_plan(b, 77, p.action_max());
  b.evaluate(p);
  const PlanView v = b.view(p);
  const int n = v.n();
  const size_t nn = size_t(n) * n;
  std::vector<double> D(H * nn, 0.0), B(H * nn, 0.0), g(H * n), L(H * nn, 0.0), C(H * nn, 0.0), x(H * n);
  assemble_normal_equations(v, D.data(), B.data(), g.data());
  ASSERT_TRUE(block_tridiag_factor(H, n, D.data(), B.data(), 0.01, L.data(), C.data(), v.A));
  for (int i = 0; i < H * n; ++i) x[i] = -g[i];
  block_tridiag_solve(H, n, L.data(), C.data(), x.data());
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    std::vector<double> g2(H * n, 0.0), L2(H * nn, 0.0), C2(H * nn, 0.0), x2(H * n, 0.0);
    const NormalEquationBlocks blocks(v, g2.data());
    const ForwardSolve forward{g2.data(), -1.0, x2.data()};  // the solve's forward half as it factors
    ASSERT_TRUE(block_tridiag_factor(H, n, blocks, 0.01, L2.data(), C2.data(), v.A, &forward));
    block_tridiag_solve_backward(H, n, L2.data(), C2.data(), x2.data());
    for (int i = 0; i < H * n; ++i) {
      ASSERT_EQ(g2[i], g[i]) << "g " << i;
      ASSERT_EQ(x2[i], x[i]) << threads << " threads, x " << i;
    }
    for (int t = 0; t < H; ++t)
      for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j) {
          const size_t e = t * nn + size_t(i) * n + j;
          if (j <= i) {
            ASSERT_EQ(L2[e], L[e]) << threads << " threads, L_" << t;
          }
          if (t > 0) {
            ASSERT_EQ(C2[e], C[e]) << threads << " threads, C_" << t;
          }
        }
  }
  set_num_threads(2);
}

// The FLOPs the assembly counts, by hand (Y = 5, A = 2, C = 1, H = 3; 2 x the multiply-adds):
//   every t:  Jc^T Jc lower 5*6*1 = 30, Fa^T Fa lower 2*5*(1+2) = 30, Fa^T e 2*5*2 = 20, Jc^T c 2*5 = 10
//   t < 2:    Fy'^T Fy' lower 5*6*5 = 150, Fy'^T e' 2*5*5 = 50
//   t > 0:    Fa^T Fy 2*2*5*5 = 100
// t = 0: 90 + 200 = 290, t = 1: 90 + 200 + 100 = 390, t = 2: 90 + 100 = 190; in all 870.
TEST(LatcoResiduals, AssemblyFlopsByHand) {
  TanhModel m(5, 2, 9);
  LatentCollocationProblem p(m);
  PlanBuffers b(p, 3);
  random_plan(b, 3, p.action_max());
  b.evaluate(p);
  const PlanView v = b.view(p);
  const size_t nn = size_t(v.n()) * v.n();
  std::vector<double> D(3 * nn), B(3 * nn), g(3 * v.n());
  FlopCounter fc;
  assemble_normal_equations(v, D.data(), B.data(), g.data());
  EXPECT_EQ(fc.dbl(), 870.0);
  fc.reset();
  const NormalEquationBlocks blocks(v, g.data());  // the block factor's source counts the same
  for (int t = 0; t < 3; ++t) blocks.fill(t, D.data() + t * nn, B.data() + t * nn);
  EXPECT_EQ(fc.dbl(), 870.0);
  EXPECT_EQ(fc.single(), 0.0);
}

// ----- the LQ problem: LatCo reaches the Riccati optimum -----
TEST(Latco, ReachesLqrOptimum) {
  const int Z = 6, A = 2, H = 20;
  auto m = LinearQuadraticModel::random(Z, A, 3, 0.1f);
  std::vector<float> z0 = {1.0f, -0.6f, 0.4f, 0.9f, -1.1f, 0.3f};
  auto opt = lqr_riccati(Z, A, H, m.F().data(), m.G().data(), m.L().data(), m.action_cost(), z0.data());
  LatcoSettings s;
  s.iterations = 120;
  s.eps_dyn = s.eps_act = 1e-9;
  for (const char* rule : {"paper", "released"}) {
    s.dual_rule = rule;
    s.load(Config());
    LatcoPlanner planner(m, H, s);
    const PlanResult& res = planner.plan(z0.data(), 11);
    std::vector<double> a(res.actions.numel());
    for (size_t i = 0; i < a.size(); ++i) a[i] = res.actions[i];
    const double cost = lqr_cost(Z, A, H, m.F().data(), m.G().data(), m.L().data(), m.action_cost(), z0.data(),
                                 a.data());
    std::printf("LQ (%s rule): LatCo cost %.8f, Riccati optimum %.8f, final dynamics violation %.3g, lambda %.3g\n",
                rule, cost, opt.cost, res.iters.back().dyn_violation, res.iters.back().mean_lambda);
    EXPECT_LT(std::fabs(cost - opt.cost) / opt.cost, 1e-4) << rule;
    EXPECT_LT(res.iters.back().dyn_violation, s.eps_dyn * H) << rule;
    EXPECT_NEAR(res.predicted_return, -opt.cost, 1e-4 * opt.cost);
  }
}

// ----- a sparse point mass: collocation vs shooting -----
// PointMassModel's default goal (2, 0) with a narrow bump (sigma 0.2): from rest with
// |a| <= 1 and dt 0.1 the mass passes the goal at step 20 at the earliest
// (p_T = 0.01 T (T+1) / 2) and can stop there only after about 28 steps; from a
// rest rollout the reward gradient is ~1e-6. LatCo's random latents (N(0, 2), 8
// parallel reinitialisations as in the released code) land near the goal; shooting
// from rest does not. Measured on seeds 0..9: latco 8/10, shooting_gd 1/10.
static bool reaches_goal(const LatentModel& m, const PlanResult& res, int H) {
  std::vector<float> z((H + 1) * 4), z0(4, 0.0f);
  rollout_return(m, z0.data(), res.actions.data(), H, z.data());
  float best = 0;
  for (int t = 1; t <= H; ++t) {
    float r;
    m.reward(1, &z[t * 4], &r);
    best = std::max(best, r);
  }
  return best > 0.5f;
}

static int latco_successes(const PointMassModel& m, int H, int trials) {
  Config lc;
  lc.set("latco_iterations", "100");
  lc.set("latco_init_std", "2");
  lc.set("latco_restarts", "8");
  auto latco = make_planner("latco", m, H, lc);
  std::vector<float> z0(4, 0.0f);
  int ok = 0;
  for (int seed = 0; seed < trials; ++seed) ok += reaches_goal(m, latco->plan(z0.data(), seed), H);
  return ok;
}

TEST(Latco, SparsePointMassCollocationBeatsShooting) {
  PointMassModel m;  // goal (2, 0), sigma 0.2
  const int H = 30, trials = 10;
  const int latco_ok = latco_successes(m, H, trials);
  std::printf("sparse point mass, H=%d, seeds 0..%d: latco %d/%d\n", H, trials - 1, latco_ok, trials);
  EXPECT_GE(latco_ok, 7);
  std::vector<std::string> names = planner_names();
  if (std::find(names.begin(), names.end(), "shooting_gd") == names.end()) {
    GTEST_SKIP() << "planner 'shooting_gd' is not in this build's planner table; LatCo side checked above";
  }
  auto gd = make_planner("shooting_gd", m, H, Config());
  std::vector<float> z0(4, 0.0f);
  int gd_ok = 0;
  for (int seed = 0; seed < trials; ++seed) gd_ok += reaches_goal(m, gd->plan(z0.data(), seed), H);
  std::printf("sparse point mass, H=%d, seeds 0..%d: shooting_gd %d/%d\n", H, trials - 1, gd_ok, trials);
  EXPECT_LE(gd_ok, 3);
  EXPECT_GE(latco_ok, gd_ok + 4);
}

TEST(Latco, ShortHorizonCannotReachSparseGoal) {
  PointMassModel m;
  EXPECT_EQ(latco_successes(m, 15, 3), 0);  // p_15 <= 1.2: success must mean reaching the goal
}

// ----- determinism, restarts, allocation -----
TEST(Latco, SameResultOnOneAndTwoThreads) {
  auto m = LinearQuadraticModel::random(110, 4, 21, 0.1f);  // blocks of 114: the kernels split over threads
  std::vector<float> z0(110);
  Rng rng(4);
  for (auto& v : z0) v = rng.normal();
  Config cfg;
  cfg.set("latco_iterations", "6");
  cfg.set("latco_restarts", "2");
  auto run = [&](int threads) {
    set_num_threads(threads);
    auto p = make_planner("latco", m, 8, cfg);
    return p->plan(z0.data(), 99).actions.to_vector();
  };
  auto a1 = run(1), a2 = run(2);
  set_num_threads(2);
  ASSERT_EQ(a1.size(), a2.size());
  for (size_t i = 0; i < a1.size(); ++i) ASSERT_EQ(a1[i], a2[i]) << i;
}

TEST(Latco, RestartsPickTheBestRollout) {
  TanhModel m(4, 2, 17);
  std::vector<float> z0 = {0.1f, -0.2f, 0.3f, 0.0f};
  Config one, four;
  one.set("latco_iterations", "30");
  four.set("latco_iterations", "30");
  four.set("latco_restarts", "4");
  auto p1 = make_planner("latco", m, 10, one);
  auto p4 = make_planner("latco", m, 10, four);
  const double j1 = p1->plan(z0.data(), 5).predicted_return;
  const double j4 = p4->plan(z0.data(), 5).predicted_return;
  EXPECT_GE(j4, j1 - 1e-9);  // plan 0 of the batch is the single plan; the winner can only be better
}

TEST(Latco, LmIterationDoesNotAllocate) {
  PointMassModel m;
  LatcoSettings s;
  s.restarts = 3;
  s.load(Config());
  LatcoPlanner planner(m, 30, s);
  std::vector<float> z0(4, 0.0f);
  planner.initialise(z0.data(), 1);
  planner.solver().step();  // first step: anything grown lazily is grown here
  const long before = g_allocs.load();
  for (int i = 0; i < 5; ++i) planner.solver().step();
  EXPECT_EQ(g_allocs.load() - before, 0);
}

TEST(Latco, AblationPresetsAndBadConfig) {
  PointMassModel m;
  for (const char* name : {"latco", "latco_no_relax", "latco_no_constrained", "latco_const_damping"}) {
    Config cfg;
    cfg.set("latco_iterations", "3");
    auto p = make_planner(name, m, 5, cfg);
    std::vector<float> z0(4, 0.0f);
    EXPECT_EQ(p->plan(z0.data(), 1).iters.size(), 4u) << name;
  }
  auto nr = make_planner("latco_no_relax", m, 5, Config());
  EXPECT_EQ(dynamic_cast<LatcoPlanner&>(*nr).settings().lambda0, 1e8);
  Config over;
  over.set("latco_lambda0", "3");  // config keys override a preset
  EXPECT_EQ(dynamic_cast<LatcoPlanner&>(*make_planner("latco_no_relax", m, 5, over)).settings().lambda0, 3.0);
  Config bad = Config::parse("latco_dual_rule: fast\n", "bad.yaml");
  try {
    make_planner("latco", m, 5, bad);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.yaml"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("latco_dual_rule"), std::string::npos) << e.what();
  }
}

// ----- warm start and the dense reference solve -----
TEST(Latco, WarmStartReusesTheShiftedPlan) {
  TanhModel m(4, 2, 3);
  std::vector<float> z0 = {0.2f, 0.1f, -0.3f, 0.4f};
  LatcoSettings s;
  s.iterations = 20;
  s.warm_start = true;
  s.load(Config());
  LatcoPlanner warm(m, 8, s);
  const std::vector<float> first = warm.plan(z0.data(), 1).actions.to_vector();
  warm.shift(2);
  // Plan 0 now starts from the previous plan shifted by 2 steps: its first iterate is nearly
  // dynamically consistent, unlike a random start.
  const PlanResult& w = warm.plan(z0.data(), 2);
  LatcoSettings cold_s = s;
  cold_s.warm_start = false;
  LatcoPlanner cold(m, 8, cold_s);
  const PlanResult& c = cold.plan(z0.data(), 2);
  EXPECT_LT(w.iters[0].dyn_violation, 0.1 * c.iters[0].dyn_violation);
  EXPECT_EQ(first.size(), w.actions.to_vector().size());
}

TEST(Latco, DenseAndBlockSolvesGiveTheSameSteps) {
  TanhModel m(5, 2, 12);
  std::vector<float> z0 = {0.3f, -0.2f, 0.1f, 0.5f, -0.4f};
  LatcoSettings s;
  s.iterations = 8;
  s.load(Config());
  LatcoSettings d = s;
  d.dense_solve = true;
  LatcoPlanner pb(m, 6, s), pd(m, 6, d);
  auto ab = pb.plan(z0.data(), 4).actions.to_vector();
  auto ad = pd.plan(z0.data(), 4).actions.to_vector();
  for (size_t i = 0; i < ab.size(); ++i) EXPECT_NEAR(ab[i], ad[i], 1e-4f) << i;
}

// ----- the `latco plan` command end to end -----
#include <filesystem>
#include <fstream>

#include "app/command.h"
#include "plan/rollout.h"

TEST(PlanCommand, WritesCsvAndPlot) {
  const std::string dir = (std::filesystem::temp_directory_path() / "latco_test_plan_cmd").string();
  std::filesystem::remove_all(dir);
  std::vector<std::string> argv_s = {"latco", "plan", "--model", "lq", "--horizon", "10", "--out", dir,
                                     "latco_iterations=7"};
  std::vector<char*> argv;
  for (auto& s : argv_s) argv.push_back(s.data());
  ASSERT_TRUE(find_command("plan"));
  Args args = Args::parse(int(argv.size()), argv.data(), 2);
  EXPECT_EQ(find_command("plan")->run(args), 0);
  std::ifstream csv(dir + "/iterations.csv");
  std::string line;
  std::getline(csv, line);
  EXPECT_EQ(line, "iter,reward,dyn_violation,act_violation,mean_lambda,damping,seconds");
  int rows = 0;
  while (std::getline(csv, line)) rows += !line.empty();
  EXPECT_EQ(rows, 8);  // iterations 0..7
  EXPECT_GT(std::filesystem::file_size(dir + "/optimization.png"), 1000u);
  // An unknown key is an error naming it.
  argv_s.back() = "latco_iteratons=7";
  argv.clear();
  for (auto& s : argv_s) argv.push_back(s.data());
  Args bad = Args::parse(int(argv.size()), argv.data(), 2);
  try {
    find_command("plan")->run(bad);
    FAIL() << "expected an error for an unknown key";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("latco_iteratons"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}
