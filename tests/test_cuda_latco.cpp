// LatCo's LM step (Eq. 9) on the GPU (plan/latco_device.h: the normal equations assembled and
// solved in double on the device) against the CPU's assembly and block-tridiagonal solve: the
// step dx at rtol 1e-6, J^T rho, the retry after a failed factorisation, and LatCo plans through
// the device model that take this path. Tolerance |gpu - cpu| <= atol + rtol |cpu|. Skips
// without a device; cuda/emu/run_tests.sh runs it on the CPU emulation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "cuda/cuda_api.h"
#include "core/rng.h"
#include "io/config.h"
#include "linalg/block_tridiag.h"
#include "model/device_latent_model.h"
#include "model/rssm_latent_model.h"
#include "plan/collocation/latco.h"
#include "plan/collocation/latco_device.h"

#include "tests/cuda_test_util.h"

using namespace latco;

namespace {

// K plans' buffers laid out as CollocationLM's: plan k's arrays at k times the per-plan size.
struct Plans {
  int K, H, Y, A, C;
  std::vector<float> a, y, f, c, Fy, Fa, Jc;
  std::vector<double> lambda, nu;
  Plans(int K_, int H_, int Y_, int A_, int C_, uint64_t seed) : K(K_), H(H_), Y(Y_), A(A_), C(C_) {
    Rng rng(seed);
    auto fill = [&](std::vector<float>& v, size_t n, float s) {
      v.resize(n);
      for (float& x : v) x = s * rng.normal();
    };
    const size_t KH = size_t(K) * H;
    fill(a, KH * A, 1.0f);  // about a third beyond a_max = 1: the bound rows are active
    fill(y, size_t(K) * (H + 1) * Y, 1.0f);
    fill(f, KH * Y, 1.0f);
    fill(c, KH * C, 1.0f);
    fill(Fy, KH * Y * Y, 0.4f);
    fill(Fa, KH * Y * A, 0.5f);
    fill(Jc, KH * C * Y, 0.3f);
    for (size_t i = 0; i < KH; ++i) {
      lambda.push_back(std::exp(3.0 * rng.uniform()));  // 1 .. 20
      nu.push_back(std::exp(2.0 * rng.uniform()));
    }
  }
  PlanView view(int k) const {
    PlanView v;
    v.H = H, v.Y = Y, v.A = A, v.C = C;
    const size_t row = size_t(k) * H;
    v.a = a.data() + row * A;
    v.y = y.data() + size_t(k) * (H + 1) * Y;
    v.f = f.data() + row * Y;
    v.c = c.data() + row * C;
    v.Fy = Fy.data() + row * Y * Y;
    v.Fa = Fa.data() + row * Y * A;
    v.Jc = Jc.data() + row * C * Y;
    v.lambda = lambda.data() + row;
    v.nu = nu.data() + row;
    v.amax = 1.0f;
    v.w = 0.01f;
    return v;
  }
};

// The CPU path of CollocationLM: assemble_normal_equations, block_tridiag_factor / _solve.
bool cpu_step(const PlanView& v, double mu, std::vector<double>& g, std::vector<double>& dx) {
  const int H = v.H, n = v.n();
  std::vector<double> D(size_t(H) * n * n), B(D.size()), Lf(D.size()), Cf(D.size());
  g.assign(size_t(H) * n, 0.0);
  assemble_normal_equations(v, D.data(), B.data(), g.data());
  if (!block_tridiag_factor(H, n, D.data(), B.data(), mu, Lf.data(), Cf.data(), v.A)) return false;
  dx.resize(g.size());
  for (size_t i = 0; i < g.size(); ++i) dx[i] = -g[i];
  block_tridiag_solve(H, n, Lf.data(), Cf.data(), dx.data());
  return true;
}

void expect_close(const std::vector<double>& got, const std::vector<double>& ref, double atol, double rtol,
                  const std::string& what) {
  ASSERT_EQ(got.size(), ref.size()) << what;
  size_t bad = 0, worst = 0;
  double excess = -1;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double err = std::fabs(got[i] - ref[i]), tol = atol + rtol * std::fabs(ref[i]);
    if (!(err <= tol)) {
      ++bad;
      if (!(err - tol <= excess)) excess = err - tol, worst = i;
    }
  }
  EXPECT_EQ(bad, 0u) << what << ": " << bad << " of " << ref.size() << " out of tolerance; worst at " << worst
                     << ": got " << got[worst] << " ref " << ref[worst];
}

}  // namespace

// One LM iteration's step dx (and J^T rho) of three plans with different dampings, one solve.
TEST(CudaLatco, LmStepDxMatchesTheCpuInDouble) {
  REQUIRE_GPU();
  for (int C : {1, 3}) {
    const Plans p(3, 6, 9, 3, C, 70 + C);
    std::vector<double> damping = {1e-3, 0.1, 2.0};
    LatcoDeviceSolver dev(p.H, p.K, p.Y, p.A, p.C);
    EXPECT_EQ(dev.solve(p.view(0), damping.data()), 0);
    const int n = p.A + p.Y;
    for (int k = 0; k < p.K; ++k) {
      std::vector<double> g(size_t(p.H) * n), dx(g.size()), g_ref, dx_ref;
      ASSERT_TRUE(dev.result(k, g.data(), dx.data())) << "plan " << k;
      ASSERT_TRUE(cpu_step(p.view(k), damping[k], g_ref, dx_ref)) << "plan " << k;
      const std::string tag = " of plan " + std::to_string(k) + ", C = " + std::to_string(C);
      expect_close(g, g_ref, 1e-12, 1e-9, "J^T rho" + tag);
      expect_close(dx, dx_ref, 1e-10, 1e-6, "dx" + tag);
    }
  }
}

// A plan whose J^T J is singular (no action rows, zero action Jacobian) fails at zero damping;
// the damping then becomes 1e-8, as on the CPU path, and the other plan is solved unchanged.
TEST(CudaLatco, AFailedFactorisationRaisesThatPlansDampingOnly) {
  REQUIRE_GPU();
  Plans p(2, 4, 5, 2, 1, 91);
  for (int i = 0; i < p.H * p.A; ++i) p.a[size_t(p.H) * p.A + i] = 0.1f;  // plan 1: inside the bounds
  std::fill(p.Fa.begin() + size_t(p.H) * p.Y * p.A, p.Fa.end(), 0.0f);    //         and no action effect
  PlanView v1 = p.view(1);
  std::vector<double> damping = {0.5, 0.0};
  LatcoDeviceSolver dev(p.H, p.K, p.Y, p.A, p.C);
  // w = 0 for this test: the a-blocks of plan 1 are exactly zero
  PlanView v0 = p.view(0);
  v0.w = 0.0f;
  EXPECT_EQ(dev.solve(v0, damping.data()), 1);
  EXPECT_EQ(damping[0], 0.5);
  EXPECT_EQ(damping[1], 1e-8);
  const int n = p.A + p.Y;
  std::vector<double> g(size_t(p.H) * n), dx(g.size()), g_ref, dx_ref;
  ASSERT_TRUE(dev.result(0, g.data(), dx.data()));
  v0 = p.view(0), v0.w = 0.0f;
  ASSERT_TRUE(cpu_step(v0, 0.5, g_ref, dx_ref));
  expect_close(dx, dx_ref, 1e-10, 1e-6, "dx of the plan that factored");
  v1.w = 0.0f;
  EXPECT_FALSE(cpu_step(v1, 0.0, g_ref, dx_ref));  // the CPU path fails there too
  ASSERT_TRUE(dev.result(1, g.data(), dx.data()));
  ASSERT_TRUE(cpu_step(v1, 1e-8, g_ref, dx_ref));
  for (int t = 0; t < p.H; ++t)  // the state part of the step; the action part is 0 / 1e-8 noise
    for (int i = p.A; i < n; ++i)
      EXPECT_NEAR(dx[size_t(t) * n + i], dx_ref[size_t(t) * n + i], 1e-6 + 1e-6 * std::fabs(dx_ref[t * n + i]));
}

// LatCo on the device model takes the device step; its plans (adaptive and released solvers,
// Gaussian LatCo, two restarts) agree with the CPU planner's.
TEST(CudaLatco, PlansThroughTheDeviceModelUseTheDeviceStepAndMatchTheCpu) {
  REQUIRE_GPU();
  TransitionSizes sz;
  sz.stoch = 5, sz.deter = 7, sz.hidden = 12, sz.action = 3, sz.reward_hidden = 10;
  Rng rng(44);
  const TransitionWeights w = TransitionWeights::init(sz, rng);
  RssmLatentModel cpu(w);
  DeviceRssmLatentModel gpu(w);
  EXPECT_TRUE(latent_model_on_device(gpu));
  EXPECT_FALSE(latent_model_on_device(cpu));
  std::vector<float> z0(cpu.latent_dim());
  for (float& x : z0) x = rng.normal();
  for (const char* solver : {"adaptive", "released", "gaussian"}) {
    const bool gaussian = std::string(solver) == "gaussian";  // Gaussian LatCo: y = [mean, std]
    const Config cfg = Config::parse(std::string("latco_iterations: 3\nlatco_restarts: 2\nlatco_solver: ") +
                                         (gaussian ? "adaptive" : solver) + "\n",
                                     "test settings");
    const char* planner = gaussian ? "latco_gaussian" : "latco";
    auto pc = make_planner(planner, cpu, 5, cfg), pg = make_planner(planner, gpu, 5, cfg);
    const cuda::CopyStats before = device_copies();
    const PlanResult rg = pg->plan(z0.data(), 3);
    // The device step uploads the point and its derivatives each iteration (>= 9 arrays).
    EXPECT_GE(device_copies().uploads - before.uploads, 3 * 9) << solver;
    const PlanResult rc = pc->plan(z0.data(), 3);
    const std::string tag = std::string(", ") + solver;
    auto close = [&](const Tensor& g, const Tensor& c, const std::string& what) {
      const std::vector<float> gv = g.to_vector(), cv = c.to_vector();
      expect_close(std::vector<double>(gv.begin(), gv.end()), std::vector<double>(cv.begin(), cv.end()), 1e-4, 1e-4,
                   what + tag);
    };
    close(rg.actions, rc.actions, "actions");
    close(rg.latents, rc.latents, "latents");
  }
}
