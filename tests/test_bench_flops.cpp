// The FLOP counts behind the benchmarks' floors: one convolution layer, one transposed
// convolution layer and one Linear layer on the autodiff graph, counted by the kernels while
// they run and checked against counts worked out by hand; the block-tridiagonal factor's
// count; `latco bench conv` printing its floor and its ratio to the GEMM rate; and `latco bench
// rssm` timing the demo's training loop against its step.
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "app/command.h"
#include "autodiff/var.h"
#include "core/error.h"
#include "core/rng.h"
#include "kernels/conv.h"
#include "kernels/flops.h"
#include "linalg/block_tridiag.h"
#include "nn/layers.h"

using namespace latco;

namespace {

std::vector<float> random_vec(size_t n, uint64_t seed) {
  Rng r(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = r.uniform(-1.0f, 1.0f);
  return v;
}

// Forward, then backward with dx and dw (and db), counted.
double counted_conv(const ConvShape& s, bool want_dx) {
  const size_t in = size_t(s.N) * s.C * s.H * s.W, out = size_t(s.N) * s.O * s.Ho() * s.Wo();
  const size_t wn = size_t(s.O) * s.C * s.K * s.K;
  auto x = random_vec(in, 1), w = random_vec(wn, 2), b = random_vec(s.O, 3), dy = random_vec(out, 4);
  std::vector<float> y(out), dx(in, 0.0f), dw(wn, 0.0f), db(s.O, 0.0f);
  FlopCounter c;
  if (s.transposed) {
    conv_transpose2d_forward(s, x.data(), w.data(), b.data(), y.data());
    conv_transpose2d_backward(s, x.data(), w.data(), dy.data(), want_dx ? dx.data() : nullptr, dw.data(), db.data());
  } else {
    conv2d_forward(s, x.data(), w.data(), b.data(), y.data());
    conv2d_backward(s, x.data(), w.data(), dy.data(), want_dx ? dx.data() : nullptr, dw.data(), db.data());
  }
  EXPECT_EQ(c.dbl(), 0.0);
  return c.single();
}

}  // namespace

// The paper encoder's second layer on 2 images: 32 -> 64 channels, 4x4 kernel, stride 2, 31x31 -> 14x14.
TEST(Flops, ConvLayerByHand) {
  ConvShape s{};
  s.N = 2, s.C = 32, s.H = 31, s.W = 31, s.O = 64, s.K = 4, s.stride = 2, s.pad = 0;
  ASSERT_EQ(s.Ho(), 14);
  // 2 images x 64 outputs x 14 x 14 positions x (32 x 4 x 4) taps = 12,845,056 multiply-adds.
  const double fwd = 2.0 * 12845056;
  EXPECT_EQ(conv_flops(s), fwd);
  EXPECT_EQ(counted_conv(s, true), 3 * fwd);   // forward, dx, dw
  EXPECT_EQ(counted_conv(s, false), 2 * fwd);  // the first layer of a network: no dx
}

// The paper decoder's second layer on 2 images: 128 -> 64 channels, 5x5 kernel, stride 2, 5x5 -> 13x13.
TEST(Flops, TransposedConvLayerByHand) {
  ConvShape s{};
  s.N = 2, s.C = 128, s.H = 5, s.W = 5, s.O = 64, s.K = 5, s.stride = 2, s.pad = 0;
  s.transposed = true;
  ASSERT_EQ(s.Ho(), 13);
  // Every input pixel meets every weight once: 2 x 128 x 5 x 5 x 64 x 5 x 5 = 10,240,000 multiply-adds.
  const double fwd = 2.0 * 10240000;
  EXPECT_EQ(conv_flops(s), fwd);
  EXPECT_EQ(counted_conv(s, true), 3 * fwd);
}

// A GRU-sized Linear layer on the graph: x (16, 200) W (200, 600); backward gives dx and dW.
TEST(Flops, LinearLayerOnTheGraphByHand) {
  Rng rng(5);
  nn::Linear lin(200, 600, rng);
  Tensor xt({16, 200});
  for (int64_t i = 0; i < xt.numel(); ++i) xt[i] = rng.normal();
  ad::Var x = ad::leaf(xt, true);
  FlopCounter c;
  ad::Var y = ad::sum(lin(x));
  const double fwd = c.single();
  ad::backward(y);
  EXPECT_EQ(fwd, 2.0 * 16 * 200 * 600);             // 3,840,000
  EXPECT_EQ(c.single(), 3 * 2.0 * 16 * 200 * 600);  // + dx (16x600 . 600x200) + dW (200x16 . 16x600)
}

// Block-tridiagonal factor, H = 3 blocks of n = 8 (middle block 1): three Cholesky factors
// ((8^3 - 8) / 3 = 168 each), and for each coupling block (C_1 from the top, C'_1 from the bottom)
// a triangular solve (8 rows x 8 x 7 = 448) and a rank-8 update of a lower triangle with its
// diagonal (8 x 9 x 8 = 576): 504 + 2 x 1024 = 2552 FLOPs, all double.
TEST(Flops, BlockTridiagonalFactorByHand) {
  const int H = 3, n = 8;
  std::vector<double> D(size_t(H) * n * n, 0.0), B(size_t(H) * n * n, 0.0), Lf(D.size()), C(D.size());
  for (int t = 0; t < H; ++t)
    for (int i = 0; i < n; ++i) {
      D[t * n * n + i * n + i] = 4.0;
      for (int j = 0; j < n; ++j) B[t * n * n + i * n + j] = 0.1 * ((i + 2 * j + t) % 5 - 2);
    }
  FlopCounter c;
  ASSERT_TRUE(block_tridiag_factor(H, n, D.data(), B.data(), 0.5, Lf.data(), C.data()));
  EXPECT_EQ(c.dbl(), 2552.0);
  EXPECT_EQ(c.single(), 0.0);
}

TEST(Flops, OneCounterAtATime) {
  FlopCounter c;
  EXPECT_THROW(FlopCounter second, Error);
}

// `latco bench conv` at batch 2: its floor lines, from the counted work and the GEMM rate it measures.
TEST(Flops, BenchConvPrintsItsFloor) {
  std::vector<std::string> argv_s = {"latco", "bench", "conv", "--batch", "2", "--repeats", "1"};
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  testing::internal::CaptureStdout();
  const int rc = find_bench("conv")(Args::parse(int(argv.size()), argv.data(), 3));
  const std::string out = testing::internal::GetCapturedStdout();
  ASSERT_EQ(rc, 0);
  std::map<std::string, double> fig;
  std::istringstream in(out);
  std::string name, unit;
  double v;
  while (in >> name >> v >> unit) fig[name] = v;
  for (const char* k : {"gemm_gflops_1024", "conv_gemm_ratio", "conv_gflop", "conv_floor_s", "conv_floor_ratio"})
    EXPECT_GT(fig[k], 0.0) << k << " missing in:\n" << out;
  // Batch 2 of the paper's encoder and decoder, forward + dx + dw: 3 x 2 x (the multiply-adds per image).
  double per_image = 0;  // encoder (3->32->64->128->256, k4 s2, 64->31->14->6->2) and decoder (1->5->13->30->64)
  per_image += 32.0 * 31 * 31 * 3 * 16 + 64.0 * 14 * 14 * 32 * 16 + 128.0 * 6 * 6 * 64 * 16 + 256.0 * 2 * 2 * 128 * 16;
  per_image += 1024.0 * 1 * 128 * 25 + 128.0 * 5 * 5 * 64 * 25 + 64.0 * 13 * 13 * 32 * 36 + 32.0 * 30 * 30 * 3 * 36;
  EXPECT_NEAR(fig["conv_gflop"], 3 * 2 * 2 * per_image * 1e-9, 1e-6);
  EXPECT_NEAR(fig["conv_floor_ratio"] * fig["conv_floor_s"] * fig["conv_gemm_ratio"] * fig["gemm_gflops_1024"],
              fig["conv_gflop"], 1e-3 * fig["conv_gflop"]);  // ratio x floor = time; rate x time = work
}

// `latco bench rssm` on a tiny configured model: after the demo's model step, its training loop
// (replay sampling, then ModelTrainer::step) and the loop's ratio to that step.
TEST(Flops, BenchRssmTimesTheDemoTrainingLoop) {
  std::vector<std::string> argv_s = {"latco", "bench", "rssm", "bench_batch=2", "bench_length=3", "bench_steps=1",
                                     "model_image_size=16", "model_depth=2", "model_stoch=4", "model_deter=8",
                                     "model_hidden=8"};
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  testing::internal::CaptureStdout();
  const int rc = find_bench("rssm")(Args::parse(int(argv.size()), argv.data(), 3));
  const std::string out = testing::internal::GetCapturedStdout();
  ASSERT_EQ(rc, 0);
  std::map<std::string, double> fig;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string name, unit;
    double v;
    if (ls >> name >> v >> unit) fig[name] = v;
  }
  for (const char* k : {"rssm_step_s_demo", "train_loop_step_s_demo", "train_loop_step_ratio_demo",
                        "train_loop_step_ratio_cpu_demo", "train_loop_steps_per_s_demo"})
    EXPECT_GT(fig[k], 0.0) << k << " missing in:\n" << out;
  EXPECT_NEAR(fig["train_loop_step_ratio_demo"] * fig["rssm_step_s_demo"], fig["train_loop_step_s_demo"],
              1e-3 * fig["train_loop_step_s_demo"]);
  EXPECT_NEAR(fig["train_loop_steps_per_s_demo"] * fig["train_loop_step_s_demo"], 1.0, 1e-3);
}
