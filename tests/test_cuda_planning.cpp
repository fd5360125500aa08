// The planner's latent model on the GPU against the CPU view: predict and reward, the batched
// rollouts of the sampling planners (the returns of one CEM iteration from the same samples),
// whole CEM and MPPI plans, LatCo and shooting GD plans, shooting GD's backprop through time
// on the device, and the copies per call. One tolerance rule:
// |gpu - cpu| <= atol + rtol * |cpu|. Skips without a device; cuda/emu/run_tests.sh runs it on
// the CPU emulation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/rng.h"
#include "cuda/cuda_api.h"
#include "io/config.h"
#include "model/device_latent_model.h"
#include "model/rssm_latent_model.h"
#include "plan/planner.h"
#include "plan/rollout.h"
#include "plan/rollout_device.h"

#include "tests/cuda_test_util.h"

using namespace latco;

namespace {

TransitionWeights small_weights(int deter, uint64_t seed) {
  TransitionSizes sz;
  sz.stoch = 5;
  sz.deter = deter;
  sz.hidden = 12;
  sz.action = 3;
  sz.reward_hidden = 10;
  Rng rng(seed);
  TransitionWeights w = TransitionWeights::init(sz, rng);
  // Non-zero biases, so that every bias path is checked.
  for (Tensor* b : {&w.b_in, &w.b_x, &w.b_h, &w.b_p, &w.b_m, &w.c1, &w.c2, &w.c3})
    if (b->defined())
      for (int64_t i = 0; i < b->numel(); ++i) (*b)[i] = 0.3f * rng.normal();
  return w;
}

std::vector<float> randn(size_t n, uint64_t seed, float scale = 1.0f) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (float& x : v) x = scale * rng.normal();
  return v;
}

template <class T>
void expect_close(const std::vector<T>& got, const std::vector<T>& ref, double atol, double rtol,
                  const std::string& what) {
  ASSERT_EQ(got.size(), ref.size()) << what;
  size_t bad = 0, worst = 0;
  double excess = -1;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double err = std::fabs(double(got[i]) - double(ref[i])), tol = atol + rtol * std::fabs(double(ref[i]));
    if (!(err <= tol)) {
      ++bad;
      if (!(err - tol <= excess)) excess = err - tol, worst = i;
    }
  }
  EXPECT_EQ(bad, 0u) << what << ": " << bad << " of " << ref.size() << " out of tolerance; worst at " << worst
                     << ": got " << got[worst] << " ref " << ref[worst];
}

}  // namespace

TEST(CudaPlanning, PredictAndRewardMatchTheCpuWithAndWithoutTheDeterministicPath) {
  REQUIRE_GPU();
  for (int deter : {7, 0}) {
    const TransitionWeights w = small_weights(deter, 40 + deter);
    RssmLatentModel cpu(w);
    DeviceRssmLatentModel gpu(w);
    const int N = 37, Z = cpu.latent_dim(), A = cpu.action_dim();
    const std::vector<float> z = randn(size_t(N) * Z, 1), a = randn(size_t(N) * A, 2);
    std::vector<float> mc(size_t(N) * Z), mg(mc.size()), rc(N), rg(N);
    cpu.predict(N, z.data(), a.data(), mc.data());
    const cuda::CopyStats c0 = device_copies();
    gpu.predict(N, z.data(), a.data(), mg.data());
    const cuda::CopyStats c1 = device_copies();
    EXPECT_EQ(c1.uploads - c0.uploads, 1);
    EXPECT_EQ(c1.downloads - c0.downloads, 1);
    const std::string tag = " (deter " + std::to_string(deter) + ")";
    expect_close(mg, mc, 1e-5, 1e-4, "predict" + tag);
    cpu.reward(N, z.data(), rc.data());
    gpu.reward(N, z.data(), rg.data());
    expect_close(rg, rc, 1e-5, 1e-4, "reward" + tag);
  }
}

// The returns of one CEM iteration: the same sampled action sequences rolled through both.
TEST(CudaPlanning, RolloutReturnsOfTheSameSamplesMatchTheCpu) {
  REQUIRE_GPU();
  const TransitionWeights w = small_weights(7, 41);
  RssmLatentModel cpu(w);
  DeviceRssmLatentModel gpu(w);
  const int N = 64, H = 6, Z = cpu.latent_dim(), A = cpu.action_dim();
  const std::vector<float> z0 = randn(Z, 3), actions = randn(size_t(H) * N * A, 4, 0.5f);
  std::vector<float> za(size_t(N) * Z), zb(za.size()), r(N);
  std::vector<double> jc(N), jg(N);
  rollout_batch(cpu, N, H, z0.data(), actions.data(), za.data(), zb.data(), r.data(), jc.data());
  rollout_batch(gpu, N, H, z0.data(), actions.data(), za.data(), zb.data(), r.data(), jg.data());
  expect_close(jg, jc, 1e-5, 1e-4, "returns");
}

// Whole plans: the same seed draws the same samples; the elites agree at these sizes, so the
// first iteration's reward and the final plan agree too.
TEST(CudaPlanning, CemAndMppiPlansMatchTheCpu) {
  REQUIRE_GPU();
  const TransitionWeights w = small_weights(7, 42);
  RssmLatentModel cpu(w);
  DeviceRssmLatentModel gpu(w);
  const Config cfg = Config::parse(
      "cem_samples: 48\ncem_elites: 6\ncem_iterations: 3\nmppi_samples: 48\nmppi_elites: 6\nmppi_iterations: 3\n",
      "test settings");
  const std::vector<float> z0 = randn(cpu.latent_dim(), 5);
  for (const std::string name : {"cem", "mppi"}) {
    auto pc = make_planner(name, cpu, 5, cfg), pg = make_planner(name, gpu, 5, cfg);
    const PlanResult rc = pc->plan(z0.data(), 9), rg = pg->plan(z0.data(), 9);
    ASSERT_FALSE(rc.iters.empty());
    ASSERT_EQ(rg.iters.size(), rc.iters.size());
    EXPECT_NEAR(rg.iters[0].reward, rc.iters[0].reward, 1e-5 + 1e-4 * std::fabs(rc.iters[0].reward)) << name;
    EXPECT_NEAR(rg.predicted_return, rc.predicted_return, 1e-5 + 1e-4 * std::fabs(rc.predicted_return)) << name;
    expect_close(rg.actions.to_vector(), rc.actions.to_vector(), 1e-5, 1e-4, name + " actions");
  }
}

// The Jacobians of mu = [m, h'] and dr/dz: every block, rtol 1e-4 of each tensor's largest value.
TEST(CudaPlanning, JacobiansAndRewardGradientMatchTheCpu) {
  REQUIRE_GPU();
  for (int deter : {7, 0}) {  // deter 0: the CPU's Jacobians, through the device model
    const TransitionWeights w = small_weights(deter, 50 + deter);
    RssmLatentModel cpu(w);
    DeviceRssmLatentModel gpu(w);
    const int N = 9, Z = cpu.latent_dim(), A = cpu.action_dim();
    const std::vector<float> z = randn(size_t(N) * Z, 6), a = randn(size_t(N) * A, 7);
    std::vector<float> mc(size_t(N) * Z), mg(mc.size()), jzc(size_t(N) * Z * Z), jzg(jzc.size());
    std::vector<float> jac(size_t(N) * Z * A), jag(jac.size()), rc(N), rg(N), drc(size_t(N) * Z), drg(drc.size());
    cpu.predict_jacobians(N, z.data(), a.data(), mc.data(), jzc.data(), jac.data());
    const cuda::CopyStats c0 = device_copies();
    gpu.predict_jacobians(N, z.data(), a.data(), mg.data(), jzg.data(), jag.data());
    const cuda::CopyStats c1 = device_copies();
    if (deter > 0) {
      EXPECT_EQ(c1.uploads - c0.uploads, 1);
      EXPECT_EQ(c1.downloads - c0.downloads, 1);
    }
    auto max_abs = [](const std::vector<float>& v) {
      double m = 0;
      for (float x : v) m = std::max(m, double(std::fabs(x)));
      return m;
    };
    const std::string tag = " (deter " + std::to_string(deter) + ")";
    expect_close(mg, mc, 1e-4 * max_abs(mc), 1e-4, "mu" + tag);
    expect_close(jzg, jzc, 1e-4 * max_abs(jzc), 1e-4, "dmu/dz" + tag);
    expect_close(jag, jac, 1e-4 * max_abs(jac), 1e-4, "dmu/da" + tag);
    cpu.reward_gradient(N, z.data(), rc.data(), drc.data());
    gpu.reward_gradient(N, z.data(), rg.data(), drg.data());
    expect_close(rg, rc, 1e-5, 1e-4, "r" + tag);
    expect_close(drg, drc, 1e-4 * max_abs(drc), 1e-4, "dr/dz" + tag);
  }
}

// LatCo through the device model (its Jacobians, rollouts and LM step on the GPU):
// one LM iteration and a short plan agree with the CPU.
TEST(CudaPlanning, LatcoPlansMatchTheCpu) {
  REQUIRE_GPU();
  const TransitionWeights w = small_weights(7, 43);
  RssmLatentModel cpu(w);
  DeviceRssmLatentModel gpu(w);
  const std::vector<float> z0 = randn(cpu.latent_dim(), 8);
  for (const char* iters : {"1", "4"}) {
    const Config cfg = Config::parse(std::string("latco_iterations: ") + iters + "\n", "test settings");
    auto pc = make_planner("latco", cpu, 5, cfg), pg = make_planner("latco", gpu, 5, cfg);
    const PlanResult rc = pc->plan(z0.data(), 3), rg = pg->plan(z0.data(), 3);
    const std::string tag = std::string(" after ") + iters + " iterations";
    expect_close(rg.actions.to_vector(), rc.actions.to_vector(), 1e-4, 1e-4, "actions" + tag);
    expect_close(rg.latents.to_vector(), rc.latents.to_vector(), 1e-4, 1e-4, "latents" + tag);
  }
}

// Shooting GD's backprop through time on the GPU (plan/rollout_device.h) against backprop_return:
// dJ/da from the same stored Jacobians, rtol 1e-4.
TEST(CudaPlanning, BackpropThroughTimeMatchesTheCpu) {
  REQUIRE_GPU();
  const int H = 7, Z = 13, A = 3;
  Linearization lin;
  lin.resize(H, Z, A);
  lin.fz = randn(lin.fz.size(), 51, 0.3f);
  lin.fa = randn(lin.fa.size(), 52, 0.5f);
  lin.dr = randn(lin.dr.size(), 53);
  lin.a = randn(lin.a.size(), 54);
  std::vector<float> g_cpu(size_t(H) * A), g_gpu(g_cpu.size());
  backprop_return(&lin, 0.05f, g_cpu.data());
  DeviceBackprop dev(H, Z, A);
  dev.run(lin, 0.05f, g_gpu.data());
  float gmax = 0;
  for (float v : g_cpu) gmax = std::max(gmax, std::fabs(v));
  expect_close(g_gpu, g_cpu, 1e-4 * gmax, 1e-4, "dJ/da");
}

// Shooting GD on the device model runs its backprop there; the plans agree with the CPU's.
TEST(CudaPlanning, ShootingGdPlansMatchTheCpu) {
  REQUIRE_GPU();
  const TransitionWeights w = small_weights(7, 45);
  RssmLatentModel cpu(w);
  DeviceRssmLatentModel gpu(w);
  const std::vector<float> z0 = randn(cpu.latent_dim(), 9);
  const Config cfg = Config::parse("gd_iterations: 3\n", "test settings");
  auto pc = make_planner("shooting_gd", cpu, 5, cfg), pg = make_planner("shooting_gd", gpu, 5, cfg);
  const PlanResult rc = pc->plan(z0.data(), 4), rg = pg->plan(z0.data(), 4);
  expect_close(rg.actions.to_vector(), rc.actions.to_vector(), 1e-4, 1e-4, "actions");
  EXPECT_NEAR(rg.predicted_return, rc.predicted_return, 1e-4 + 1e-4 * std::fabs(rc.predicted_return));
}
