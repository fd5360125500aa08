// LatCo's two solvers: the released Gauss-Newton step against an iteration worked
// out by hand, and the adaptive LM with the multiplier floor on the linear-quadratic
// problem of `latco plan --model lq` at the default settings (the eps-optimum) and at
// a tiny eps (the Riccati optimum); the floor and the clamp as options.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "app/command.h"
#include "core/rng.h"
#include "linalg/riccati.h"
#include "model/analytic_models.h"
#include "plan/collocation/latco.h"

using namespace latco;

namespace {

// One scalar state and action: f(y, a) = y + a, one cost residual c(y) = y - 2, |a| <= 1.
class ScalarProblem : public CollocationProblem {
 public:
  int state_dim() const override { return 1; }
  int action_dim() const override { return 1; }
  int cost_dim() const override { return 1; }
  float action_max() const override { return 1; }
  float action_cost() const override { return 0; }
  void dynamics(int N, const float* y, const float* a, float* f, float* Fy, float* Fa) const override {
    for (int n = 0; n < N; ++n) {
      f[n] = y[n] + a[n];
      if (Fy) Fy[n] = 1, Fa[n] = 1;
    }
  }
  void costs(int N, const float* y, float* c, float* Jc, float* r) const override {
    for (int n = 0; n < N; ++n) {
      c[n] = y[n] - 2;
      if (Jc) Jc[n] = 1;
      r[n] = -c[n] * c[n];
    }
  }
};

// One iteration from y_0 = 0, a_0 = 1.5, y_1 = 1 with lambda = 4, nu = 1; returns (a_0, y_1) after it.
std::pair<double, double> one_step(LatcoSettings s, CollocationLM** out_lm = nullptr) {
  static ScalarProblem p;
  s.lambda0 = 4;
  s.nu0 = 1;
  s.load(Config());
  static std::unique_ptr<CollocationLM> lm;
  lm = std::make_unique<CollocationLM>(p, 1, 1, s);
  lm->states(0)[0] = 0, lm->states(0)[1] = 1, lm->actions(0)[0] = 1.5f;
  lm->begin();
  lm->step();
  if (out_lm) *out_lm = lm.get();
  return {lm->actions(0)[0], lm->states(0)[1]};
}

// The `latco plan --model lq` problem: the command's model and start (seed 0).
struct LqProblem {
  LinearQuadraticModel m = LinearQuadraticModel::random(8, 2, 0);
  std::vector<float> z0;
  double optimum;  // Riccati: the least cost, so the best return is -optimum
  LqProblem() : z0(8) {
    Rng rng = Rng(0).derive(1);
    for (auto& v : z0) v = rng.normal();
    optimum = lqr_riccati(8, 2, 30, m.F().data(), m.G().data(), m.L().data(), m.action_cost(), z0.data()).cost;
  }
  // Per-step squared dynamics violations |z_{t+1} - mu(z_t, a_t)|^2 of a plan: (H).
  std::vector<double> violations(const PlanResult& r) const {
    std::vector<double> v(30);
    std::vector<float> mu(8);
    for (int t = 0; t < 30; ++t) {
      m.predict(1, r.latents.data() + t * 8, r.actions.data() + t * 2, mu.data());
      double e2 = 0;
      for (int i = 0; i < 8; ++i) e2 += std::pow(double(r.latents[(t + 1) * 8 + i]) - mu[i], 2);
      v[t] = e2;
    }
    return v;
  }
};

// Runs `latco plan --model lq` with the given overrides; returns the summary line's return.
double plan_command_return(std::vector<std::string> overrides) {
  std::vector<std::string> args = {"--model", "lq", "--out", testing::TempDir() + "latco_solver_plan"};
  args.insert(args.end(), overrides.begin(), overrides.end());
  testing::internal::CaptureStdout();
  EXPECT_EQ(run_command("plan", args), 0);
  const std::string out = testing::internal::GetCapturedStdout();
  std::printf("%s", out.c_str());
  const size_t at = out.find(" return ");
  EXPECT_NE(at, std::string::npos) << out;
  EXPECT_NE(out.find(" dyn_violation "), std::string::npos) << out;
  return at == std::string::npos ? 0.0 : std::stod(out.substr(at + 8));
}

}  // namespace

// The released step, by hand: x = (a_0, y_1); rho = (2 (y_1 - y_0 - a_0), 1 (|a_0| - 1), y_1 - 2)
// = (-1, 0.5, -1); J = [[-2, 2], [1, 0], [0, 1]]; J^T J = [[5, -4], [-4, 5]], J^T rho = (2.5, -3).
// N = 1 / (sqrt 4 + sqrt 1 + 1) = 1/4, so (2 N^2 J^T J + d I) dx = -2 N^2 J^T rho reads
// [[0.626, -0.5], [-0.5, 0.626]] dx = (-0.3125, 0.375) with d = 1e-3.
TEST(LatcoReleasedSolver, OneIterationByHand) {
  const double det = 0.626 * 0.626 - 0.25;
  const double da = (0.626 * -0.3125 + 0.5 * 0.375) / det;  // -0.0572683...
  const double dy = (0.626 * 0.375 - 0.5 * 0.3125) / det;   //  0.5533...
  LatcoSettings s;
  s.solver = "released";
  s.dual_rule = "released";
  CollocationLM* lm = nullptr;
  auto [a1, y1] = one_step(s, &lm);
  EXPECT_NEAR(a1, 1.5 + da, 2e-6);
  EXPECT_NEAR(y1, 1.0 + dy, 2e-6);
  EXPECT_NEAR(lm->stats(0).damping, 1e-3 / (2.0 / 16), 1e-12);  // the effective damping d / (2 N^2) = 8e-3
  // The released dual step: lambda += 0.1 lambda log10(v / eps + 0.1), v = (y_1 - y_0 - a_0)^2, and for
  // nu the released action violation max(0, a^2 - 1) (not (|a| - 1)^2).
  const double v = std::pow((1.0 + dy) - (1.5 + da), 2), va = std::pow(1.5 + da, 2) - 1;
  EXPECT_NEAR(lm->lambda(0, 0), 4 + 0.4 * std::log10(v / 1e-4 + 0.1), 1e-4);
  EXPECT_NEAR(lm->nu(0, 0), 1 + 0.1 * std::log10(va / 1e-4 + 0.1), 1e-5);
  EXPECT_NEAR(lm->released_scale(0), 1.0 / (std::sqrt(lm->lambda(0, 0)) + std::sqrt(lm->nu(0, 0)) + 1), 1e-12);
}

// latco_const_damping is not the released optimiser: its step solves (J^T J + d I) dx = -J^T rho.
TEST(LatcoReleasedSolver, ConstantDampingIsADifferentStep) {
  const double det = 5.001 * 5.001 - 16;
  const double da = (5.001 * -2.5 + 4 * 3) / det, dy = (5.001 * 3 - 4 * 2.5) / det;
  LatcoSettings s;
  s.damping_schedule = "constant";
  auto [a1, y1] = one_step(s);
  EXPECT_NEAR(a1, 1.5 + da, 2e-6);
  EXPECT_NEAR(y1, 1.0 + dy, 2e-6);
  LatcoSettings r;
  r.solver = "released";
  EXPECT_GT(std::fabs(one_step(r).first - a1), 1e-4);  // released: d / (2 N^2) = 8e-3, not 1e-3
}

TEST(LatcoReleasedSolver, BadSolverNamesTheKey) {
  Config bad = Config::parse("latco_solver: newton\n", "bad.yaml");
  LatcoSettings s;
  try {
    s.load(bad);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("latco_solver"), std::string::npos) << e.what();
  }
  Config floor = Config::parse("latco_multiplier_floor: zero\n", "bad.yaml");
  EXPECT_THROW(s.load(floor), Error);
}

// Item: default LatCo must converge on the LQ problem. At the default eps every step's violation is
// at most eps (x1.2) and the return is within 3% of the Riccati optimum (the eps-optimum, about -681.6
// against -663.08); at eps = 1e-9 the optimum itself.
TEST(LatcoLq, DefaultSettingsReachTheEpsOptimum) {
  LqProblem lq;
  const double cmd = plan_command_return({});
  auto p = make_planner("latco", lq.m, 30, Config());
  const PlanResult& r = p->plan(lq.z0.data(), 0);
  ASSERT_NEAR(r.predicted_return, cmd, 1e-3 * std::fabs(cmd));  // the same problem as the command's
  const double eps = LatcoSettings{}.eps_dyn;
  const std::vector<double> v = lq.violations(r);
  for (int t = 0; t < 30; ++t) EXPECT_LE(v[t], 1.2 * eps) << "step " << t;
  std::printf("LQ defaults: return %.4f, Riccati optimum %.4f (%.2f%%)\n", cmd, -lq.optimum,
              100 * (-cmd - lq.optimum) / lq.optimum);
  EXPECT_LT((-cmd - lq.optimum) / lq.optimum, 0.03);

  const double tight = plan_command_return({"latco_eps_dyn=1e-9"});
  EXPECT_LT(std::fabs(-tight - lq.optimum) / lq.optimum, 1e-3);
}

// Without the floor (the old behaviour) the multipliers collapse and the plan does not converge.
TEST(LatcoLq, WithoutTheFloorTheMultipliersCollapse) {
  LqProblem lq;
  const double old = plan_command_return({"latco_multiplier_floor=none"});
  EXPECT_GT((-old - lq.optimum) / lq.optimum, 0.05);
  LatcoSettings s;
  s.multiplier_floor = "none";
  s.iterations = 40;
  s.load(Config());
  LatcoPlanner clamped(lq.m, 30, s);
  clamped.plan(lq.z0.data(), 0);
  s.multiplier_clamp = "off";
  s.load(Config());
  LatcoPlanner free(lq.m, 30, s);
  free.plan(lq.z0.data(), 0);
  double min_clamped = 1e300, min_free = 1e300;
  for (int t = 0; t < 30; ++t) {
    min_clamped = std::min(min_clamped, clamped.solver().lambda(0, t));
    min_free = std::min(min_free, free.solver().lambda(0, t));
  }
  EXPECT_GE(min_clamped, 1e-6);  // the clamp [latco_lambda_min, latco_lambda_max]
  EXPECT_LT(min_free, 1e-6);     // Eq. (10) alone: 0.54 per iteration on a feasible step
  LatcoPlanner floored(lq.m, 30, LatcoSettings{});
  floored.plan(lq.z0.data(), 0);
  for (int t = 0; t < 30; ++t) EXPECT_GE(floored.solver().lambda(0, t), 1.0);
}

// The released solver on the same problem, not forced: reported, and with its own dual rule it
// reaches about the eps-optimum too.
TEST(LatcoLq, ReleasedSolverResult) {
  LqProblem lq;
  const double paper_rule = plan_command_return({"latco_solver=released"});
  const double released = plan_command_return({"latco_solver=released", "latco_dual_rule=released"});
  std::printf("LQ released solver: paper rule %.4f, released rule %.4f, optimum %.4f\n", paper_rule, released,
              -lq.optimum);
  EXPECT_LT((-released - lq.optimum) / lq.optimum, 0.05);
}

// The Table 3 presets carry the released config's values (config.yaml: latco_no_relax init_lam 1e8;
// latco_no_constraint dyn_loss_scale 8, act_loss_scale 16, lm_update_every -1).
TEST(LatcoPresets, AblationsFollowTheReleasedConfig) {
  PointMassModel m;
  auto settings = [&](const char* name) {
    return dynamic_cast<LatcoPlanner&>(*make_planner(name, m, 5, Config())).settings();
  };
  const LatcoSettings base = settings("latco"), nr = settings("latco_no_relax"),
                      nc = settings("latco_no_constrained"), cd = settings("latco_const_damping");
  EXPECT_EQ(base.solver_kind, LatcoSolver::Adaptive);
  EXPECT_TRUE(base.floor_initial);
  EXPECT_TRUE(base.clamp);
  EXPECT_EQ(nr.lambda0, 1e8);
  EXPECT_EQ(nr.nu0, 1.0);  // lambda only
  EXPECT_FALSE(nr.fixed_multipliers);
  EXPECT_EQ(nc.lambda0, 64.0);
  EXPECT_EQ(nc.nu0, 256.0);
  EXPECT_TRUE(nc.fixed_multipliers);
  EXPECT_EQ(cd.schedule, DampingSchedule::Constant);
  EXPECT_EQ(cd.solver_kind, LatcoSolver::Adaptive);
  // Under the released solver the fixed multipliers give the released normalisation 1 / (8 + 16 + 1).
  Config rel;
  rel.set("latco_solver", "released");
  auto p = make_planner("latco_no_constrained", m, 5, rel);
  auto& lp = dynamic_cast<LatcoPlanner&>(*p);
  EXPECT_FALSE(lp.settings().floor_initial);
  EXPECT_FALSE(lp.settings().clamp);
  std::vector<float> z0(4, 0.0f);
  lp.initialise(z0.data(), 1);
  EXPECT_NEAR(lp.solver().released_scale(0), 1.0 / 25, 1e-12);
}
