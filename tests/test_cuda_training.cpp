// The world model's training on the GPU against the CPU, through the real ModelTrainer: one full
// ELBO step (the loss terms and every parameter's gradient), one Adam step, the host-device copies
// of a step (one upload, one download), checkpoints and NaN handling of the device trainer, and
// the device switch. One tolerance rule: |gpu - cpu| <= atol + rtol * |cpu|.
// The GPU tests skip without a device; cuda/emu/run_tests.sh runs them on the CPU emulation.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/device_select.h"
#include "core/error.h"
#include "core/rng.h"
#include "cuda/cuda_api.h"
#include "io/checkpoint.h"
#include "model/elbo.h"
#include "model/rssm.h"

#include "tests/cuda_test_util.h"

using namespace latco;

namespace {

constexpr int kA = 2;

// A small RSSM with every part of the paper's (16x16 conv stacks, GRU, reward MLP).
RssmSettings small_settings() {
  RssmSettings s;
  s.stoch = 4;
  s.deter = 8;
  s.hidden = 8;
  s.depth = 2;
  s.image_size = 16;
  s.reward_hidden = 8;
  s.free_nats = 0.5f;  // some rows above the floor, some below
  s.grad_clip = 1.0f;  // the clip acts
  return s;
}

// B sequences of L steps: random frames, actions in [-1, 1], rewards in {0, 1}.
SequenceBatch random_batch(int B, int L, uint64_t seed) {
  SequenceBatch b;
  b.resize(B, L, 16, 16, kA);
  Rng rng(seed);
  for (auto& p : b.image) p = uint8_t(rng.below(256));
  for (auto& a : b.action) a = rng.uniform(-1.0f, 1.0f);
  for (auto& r : b.reward) r = rng.uniform() < 0.3f ? 1.0f : 0.0f;
  return b;
}

// |got - ref| <= atol + rtol * |ref| elementwise, on host copies.
void expect_close(const Tensor& got, const Tensor& ref, double atol, double rtol, const std::string& what) {
  ASSERT_EQ(got.shape(), ref.shape()) << what;
  const std::vector<float> g = got.to_vector(), r = ref.to_vector();
  size_t bad = 0, worst = 0;
  double worst_excess = -1;
  for (size_t i = 0; i < r.size(); ++i) {
    const double err = std::fabs(double(g[i]) - r[i]), tol = atol + rtol * std::fabs(double(r[i]));
    if (!(err <= tol)) {
      ++bad;
      if (!(err - tol <= worst_excess)) worst_excess = err - tol, worst = i;
    }
  }
  EXPECT_EQ(bad, 0u) << what << ": " << bad << " of " << r.size() << " out of tolerance; worst at " << worst << ": got "
                     << g[worst] << " ref " << r[worst];
}

const Tensor& grad_of(const ad::Var& v) { return v.node()->grad; }

double max_abs(const Tensor& t) {
  double m = 0;
  for (float x : t.to_vector()) m = std::max(m, double(std::fabs(x)));
  return m;
}

void expect_near_rel(double got, double ref, double rtol, const std::string& what) {
  EXPECT_LE(std::fabs(got - ref), rtol * std::fabs(ref) + 1e-12) << what << ": got " << got << " ref " << ref;
}

}  // namespace

// ----- one ELBO step: the loss terms and every gradient -----
TEST(CudaTraining, ElboStepLossAndEveryGradientMatchTheCpu) {
  REQUIRE_GPU();
  const RssmSettings ms = small_settings();
  Rssm cpu_model(ms, kA, 7), gpu_model(ms, kA, 7);
  ModelTrainer cpu(cpu_model, 11), gpu(gpu_model, 11, Device::CUDA);
  ASSERT_EQ(gpu.device(), Device::CUDA);
  for (const auto& [name, v] : gpu.trained_model().parameters())
    ASSERT_EQ(v.value().device(), Device::CUDA) << name << " stayed on the host";
  const SequenceBatch batch = random_batch(3, 4, 21);
  const TrainMetrics c = cpu.step(batch), g = gpu.step(batch);
  // The loss and its terms (rtol 1e-4), the clipped norm (the same rule on both).
  expect_near_rel(g.loss, c.loss, 1e-4, "loss");
  expect_near_rel(g.kl, c.kl, 1e-4, "kl");
  expect_near_rel(g.image_ll, c.image_ll, 1e-4, "image_ll");
  expect_near_rel(g.reward_ll, c.reward_ll, 1e-4, "reward_ll");
  expect_near_rel(g.grad_norm, c.grad_norm, 1e-4, "grad_norm");
  EXPECT_GT(c.grad_norm, ms.grad_clip) << "the test should exercise the clip";
  EXPECT_EQ(g.grad_step, 1);
  // Every parameter's gradient: rtol 1e-4 of the tensor's largest value (the grads stay after the step).
  int compared = 0;
  for (const auto& [name, vc] : cpu_model.parameters()) {
    const ad::Var vg = gpu.trained_model().parameter(name);
    ASSERT_TRUE(vc.has_grad() && vg.has_grad()) << name;
    ASSERT_EQ(grad_of(vg).device(), Device::CUDA) << name;
    const Tensor& ref = grad_of(vc);
    expect_close(grad_of(vg), ref, 1e-4 * max_abs(ref), 1e-4, "gradient of " + name);
    ++compared;
  }
  EXPECT_EQ(compared, int(cpu_model.parameters().size()));
  // The host model is untouched until sync_model, then holds the trained weights exactly.
  const std::string w = "encoder.conv0.w";
  EXPECT_NE(gpu_model.parameter(w).value().to_vector(), gpu.trained_model().parameter(w).value().to_vector());
  gpu.sync_model();
  for (const auto& [name, v] : gpu_model.parameters())
    EXPECT_EQ(v.value().to_vector(), gpu.trained_model().parameter(name).value().to_vector()) << name;
}

// The no-deterministic-latent model (the released SSM: two noise draws per step) with the free
// nats on the batch mean: the device step uploads both draws and keeps the free-nats mode.
TEST(CudaTraining, SsmElboStepWithBatchMeanFreeNatsMatchesTheCpu) {
  REQUIRE_GPU();
  RssmSettings ms = small_settings();
  ms.deterministic_path = false;
  ms.free_nats_mode = "batch_mean";
  ms.free_nats = 5.0f;  // above the batch's mean KL (4.46), below some rows': per_step would give the KL a gradient
  Rssm cpu_model(ms, kA, 8), gpu_model(ms, kA, 8);
  ModelTrainer cpu(cpu_model, 12), gpu(gpu_model, 12, Device::CUDA);
  const SequenceBatch batch = random_batch(3, 4, 22);
  const TrainMetrics c = cpu.step(batch), g = gpu.step(batch);
  expect_near_rel(g.loss, c.loss, 1e-4, "loss");
  expect_near_rel(g.kl, c.kl, 1e-4, "kl");
  expect_near_rel(g.grad_norm, c.grad_norm, 1e-4, "grad_norm");
  for (const auto& [name, vc] : cpu_model.parameters())
    expect_close(grad_of(gpu.trained_model().parameter(name)), grad_of(vc), 1e-4 * max_abs(grad_of(vc)), 1e-4,
                 "gradient of " + name);
}

// ----- one Adam step from the same gradients -----
TEST(CudaTraining, AdamStepMatchesTheCpu) {
  REQUIRE_GPU();
  RssmSettings ms = small_settings();
  Rssm cpu_model(ms, kA, 8), gpu_model(ms, kA, 8);
  ModelTrainer cpu(cpu_model, 12), gpu(gpu_model, 12, Device::CUDA);
  cpu.step(random_batch(2, 3, 22));  // grads on the CPU; then the same grads on the device
  for (const auto& [name, vc] : cpu_model.parameters()) {
    ad::Var vg = gpu.trained_model().parameter(name);
    vg.mutable_value().copy_from(vc.value());
    vg.grad().copy_from(grad_of(vc));
  }
  std::vector<std::pair<std::string, Tensor>> st = cpu.adam().state();
  gpu.adam().load_state(st, "the CPU's Adam state");
  const double norm_c = cpu.adam().step(), norm_g = gpu.adam().step();
  expect_near_rel(norm_g, norm_c, 1e-5, "global norm");
  for (const auto& [name, vc] : cpu_model.parameters())
    expect_close(gpu.trained_model().parameter(name).value(), vc.value(), 1e-7, 1e-5, "parameter " + name);
  const auto sc = cpu.adam().state(), sg = gpu.adam().state();
  ASSERT_EQ(sc.size(), sg.size());
  for (size_t i = 0; i < sc.size(); ++i) expect_close(sg[i].second, sc[i].second, 1e-9, 1e-5, sc[i].first);
}

// ----- host-device copies: one upload, one download per step -----
TEST(CudaTraining, AStepCopiesTheBatchUpOnceAndTheLossDownOnce) {
  REQUIRE_GPU();
  const RssmSettings ms = small_settings();
  Rssm model(ms, kA, 9);
  ModelTrainer trainer(model, 13, Device::CUDA);
  const int B = 2, L = 3;
  trainer.step(random_batch(B, L, 23));  // the first step also allocates the upload buffer
  for (int k = 0; k < 2; ++k) {
    const cuda::CopyStats before = device_copies();
    trainer.step(random_batch(B, L, 24 + k));
    const cuda::CopyStats after = device_copies();
    EXPECT_EQ(after.uploads - before.uploads, 1) << "step " << k;
    EXPECT_EQ(after.downloads - before.downloads, 1) << "step " << k;
    // uint8 frames (padded to 4 bytes), actions, rewards and noise eps
    const int64_t LB = B * L, frames = (LB * 16 * 16 * 3 + 3) / 4 * 4;
    EXPECT_EQ(after.upload_bytes - before.upload_bytes, frames + 4 * (LB * kA + LB + LB * ms.stoch));
    EXPECT_EQ(after.download_bytes - before.download_bytes, 5 * 4);
  }
}

// ----- checkpoints and NaN of the device trainer -----
TEST(CudaTraining, CheckpointsRoundTripAndNonFiniteLossStopsBeforeAnyChange) {
  REQUIRE_GPU();
  const RssmSettings ms = small_settings();
  Rssm a_model(ms, kA, 10), b_model(ms, kA, 99);
  ModelTrainer a(a_model, 14, Device::CUDA), b(b_model, 14, Device::CUDA);
  a.step(random_batch(2, 3, 25));
  Checkpoint ck;
  a.save(ck);
  EXPECT_EQ(ck.grad_steps, 1);
  b.load(ck, "a's checkpoint");
  EXPECT_EQ(b.steps(), 1);
  for (const auto& [name, v] : a.trained_model().parameters()) {
    EXPECT_EQ(b.trained_model().parameter(name).value().to_vector(), v.value().to_vector()) << name;
    EXPECT_EQ(b_model.parameter(name).value().to_vector(), v.value().to_vector()) << name << " (host)";
  }
  // The next step of both is the same step.
  const SequenceBatch next = random_batch(2, 3, 26);
  EXPECT_EQ(a.step(next).loss, b.step(next).loss);

  SequenceBatch bad = random_batch(2, 3, 27);
  bad.reward[1] = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> before = a.trained_model().parameter("reward.0.w").value().to_vector();
  try {
    a.step(bad);
    ADD_FAILURE() << "a NaN reward did not throw";
  } catch (const NonFiniteError& e) {
    EXPECT_EQ(e.tensor, "loss") << e.what();
    EXPECT_EQ(e.step, 2);
  }
  EXPECT_EQ(a.steps(), 2);
  EXPECT_EQ(a.trained_model().parameter("reward.0.w").value().to_vector(), before);
}

// ----- the switch (runs everywhere) -----
TEST(CudaTraining, DeviceSwitchFallsBackOrFailsWhenRequired) {
  EXPECT_EQ(select_device("cpu", true, "test"), Device::CPU);
  if (device::cuda_available()) {
    EXPECT_EQ(select_device("cuda", true, "test"), Device::CUDA);
  } else {
    EXPECT_EQ(select_device("cuda", false, "test"), Device::CPU);
    try {
      select_device("cuda", true, "test");
      ADD_FAILURE() << "require_device without a device did not throw";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("require_device"), std::string::npos) << e.what();
    }
  }
  try {
    select_device("gpu", false, "test", "x.yaml line 3, key 'device'");
    ADD_FAILURE() << "device gpu did not throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("x.yaml line 3"), std::string::npos) << e.what();
  }
}
