// The autodiff on the GPU against the CPU: every op of autodiff/var.h, forward and backward, on
// CUDA tensors vs the same graph on CPU tensors with the one tolerance rule
// |gpu - cpu| <= atol + rtol * |cpu|; mixed-device errors; Module::to and Adam on the device; a tiny
// RSSM-like model (conv encoder, GRU, Gaussian heads, deconv decoder) trained two steps on both.
// Every test skips without a device; cuda/emu/run_tests.sh runs them on the CPU emulation.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "autodiff/var.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/tensor.h"
#include "nn/adam.h"
#include "nn/layers.h"

#include "tests/cuda_test_util.h"

using namespace latco;

namespace {

// (shape) of normals scale * N(0, 1) + shift, from a stream of `seed`.
Tensor randn(const Shape& shape, uint64_t seed, float scale = 1.0f, float shift = 0.0f) {
  Rng rng = Rng(seed).derive(static_cast<uint64_t>(shape_numel(shape)));
  Tensor t(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = shift + scale * rng.normal();
  return t;
}

// The one tolerance rule: |gpu - cpu| <= atol + rtol * |cpu| for every element.
void expect_close(const Tensor& gpu, const Tensor& cpu, double atol, double rtol, const std::string& what) {
  ASSERT_EQ(gpu.shape(), cpu.shape()) << what;
  const std::vector<float> g = gpu.to_vector(), c = cpu.to_vector();
  size_t bad = 0, worst = 0;
  double worst_excess = -1;
  for (size_t i = 0; i < c.size(); ++i) {
    const double err = std::fabs((double)g[i] - (double)c[i]), tol = atol + rtol * std::fabs((double)c[i]);
    if (!(err <= tol)) {
      ++bad;
      if (!(err - tol <= worst_excess)) { worst_excess = err - tol; worst = i; }
    }
  }
  EXPECT_EQ(bad, 0u) << what << ": " << bad << " of " << c.size() << " elements out of tolerance; worst at " << worst
                     << ": gpu " << g[worst] << " cpu " << c[worst];
}

using Fn = std::function<ad::Var(const std::vector<ad::Var>&)>;

// Builds f on CPU leaves and on CUDA copies of them, sweeps both backward from the same random
// seed, and compares the outputs and the gradient of every input (inputs with grad[i] false are
// constants and must get none).
void check_op(const std::string& what, const std::vector<Tensor>& xs, const Fn& f, double atol = 1e-5,
              double rtol = 1e-4, std::vector<bool> grad = {}) {
  if (grad.empty()) grad.assign(xs.size(), true);
  std::vector<ad::Var> cpu, gpu;
  for (size_t i = 0; i < xs.size(); ++i) {
    cpu.push_back(ad::leaf(xs[i].clone(), grad[i]));
    gpu.push_back(ad::leaf(xs[i].to(Device::CUDA), grad[i]));
  }
  ad::Var yc = f(cpu), yg = f(gpu);
  ASSERT_EQ(yg.value().device(), Device::CUDA) << what << ": the output left the device";
  expect_close(yg.value(), yc.value(), atol, rtol, what + " forward");
  if (!yc.requires_grad()) {
    EXPECT_FALSE(yg.requires_grad()) << what;
    return;
  }
  const Tensor seed = randn(yc.shape(), 1000 + xs.size());
  ad::backward(yc, seed);
  ad::backward(yg, seed.to(Device::CUDA));
  for (size_t i = 0; i < xs.size(); ++i) {
    const std::string in = what + " input " + std::to_string(i);
    ASSERT_EQ(gpu[i].has_grad(), cpu[i].has_grad()) << in;
    if (!cpu[i].has_grad()) continue;
    EXPECT_EQ(gpu[i].grad().device(), Device::CUDA) << in;
    expect_close(gpu[i].grad(), cpu[i].grad(), atol, rtol, in + " grad");
  }
}

// Runs f on one CPU and one CUDA input; expects an Error naming the op and both devices.
void expect_mixed_device_error(const std::string& op, const std::function<void(const ad::Var&, const ad::Var&)>& f,
                               const Tensor& a, const Tensor& b) {
  ad::Var va = ad::leaf(a, true), vb = ad::leaf(b.to(Device::CUDA), true);
  try {
    f(va, vb);
    ADD_FAILURE() << op << " on a cpu and a cuda input did not throw";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(op), std::string::npos) << m;
    EXPECT_NE(m.find("different devices"), std::string::npos) << m;
    EXPECT_NE(m.find("cpu"), std::string::npos) << m;
    EXPECT_NE(m.find("cuda"), std::string::npos) << m;
  }
}

}  // namespace

// ----- tensors -----
TEST(CudaAutodiff, FillAndZerosOnTheDevice) {
  REQUIRE_GPU();
  Tensor t = Tensor::zeros({5, 7}, Device::CUDA);
  EXPECT_EQ(t.to_vector(), std::vector<float>(35, 0.0f));
  t.fill(-1.25f);
  EXPECT_EQ(t.to_vector(), std::vector<float>(35, -1.25f));
  t.slice0(1, 3).fill(0.0f);  // a view: rows 1 and 2 only
  std::vector<float> want(35, -1.25f);
  for (int i = 7; i < 21; ++i) want[i] = 0.0f;
  EXPECT_EQ(t.to_vector(), want);
}

// ----- linear algebra -----
TEST(CudaAutodiff, MatmulAndBmmWithEveryTranspose) {
  REQUIRE_GPU();
  const int64_t M = 5, K = 4, N = 3, B = 3;
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      const std::string tag = std::string(ta ? "^T" : "") + " x" + (tb ? "^T" : "");
      Shape sa = ta ? Shape{K, M} : Shape{M, K}, sb = tb ? Shape{N, K} : Shape{K, N};
      check_op("matmul" + tag, {randn(sa, 1), randn(sb, 2)},
               [&](const std::vector<ad::Var>& v) { return ad::matmul(v[0], v[1], ta, tb); });
      Shape ba = ta ? Shape{B, K, M} : Shape{B, M, K}, bb = tb ? Shape{B, N, K} : Shape{B, K, N};
      check_op("bmm" + tag, {randn(ba, 3), randn(bb, 4)},
               [&](const std::vector<ad::Var>& v) { return ad::bmm(v[0], v[1], ta, tb); });
    }
  // only one side differentiable
  check_op("matmul, constant weight", {randn({4, 6}, 5), randn({6, 2}, 6)},
           [](const std::vector<ad::Var>& v) { return ad::matmul(v[0], v[1]); }, 1e-5, 1e-4, {true, false});
}

// ----- elementwise -----
TEST(CudaAutodiff, BroadcastBinaryOps) {
  REQUIRE_GPU();
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{3, 5}, {3, 5}}, {{4, 5}, {5}}, {{4, 5}, {4, 1}}, {{2, 3, 4, 5}, {1, 3, 1, 1}}, {{5}, {3, 5}}, {{}, {2, 3}}};
  const std::vector<std::pair<std::string, std::function<ad::Var(const ad::Var&, const ad::Var&)>>> ops = {
      {"add", [](const ad::Var& a, const ad::Var& b) { return a + b; }},
      {"sub", [](const ad::Var& a, const ad::Var& b) { return a - b; }},
      {"mul", [](const ad::Var& a, const ad::Var& b) { return a * b; }},
      {"div", [](const ad::Var& a, const ad::Var& b) { return a / b; }}};
  uint64_t seed = 10;
  for (const auto& [sa, sb] : shapes)
    for (const auto& [name, op] : ops) {
      Tensor b = randn(sb, ++seed, 0.5f, name == "div" ? 2.0f : 0.0f);  // divisors away from zero
      check_op(name + " " + shape_str(sa) + " " + shape_str(sb), {randn(sa, ++seed), b},
               [op = op](const std::vector<ad::Var>& v) { return op(v[0], v[1]); });
    }
  // one node on both sides: both gradient contributions land in the same buffer
  check_op("x * x", {randn({6, 4}, 40)}, [](const std::vector<ad::Var>& v) { return v[0] * v[0]; });
  check_op("x - x / 2", {randn({6, 4}, 41)}, [](const std::vector<ad::Var>& v) {
    return v[0] - v[0] / ad::constant(Tensor::full({}, 2.0f).to(v[0].value().device()));
  });
}

TEST(CudaAutodiff, UnaryAndScalarOps) {
  REQUIRE_GPU();
  const std::vector<std::pair<std::string, std::function<ad::Var(const ad::Var&)>>> any = {
      {"exp", [](const ad::Var& x) { return ad::exp(x); }},
      {"tanh", [](const ad::Var& x) { return ad::tanh(x); }},
      {"sigmoid", [](const ad::Var& x) { return ad::sigmoid(x); }},
      {"relu", [](const ad::Var& x) { return ad::relu(x); }},
      {"elu", [](const ad::Var& x) { return ad::elu(x); }},
      {"softplus", [](const ad::Var& x) { return ad::softplus(x); }},
      {"square", [](const ad::Var& x) { return ad::square(x); }},
      {"abs", [](const ad::Var& x) { return ad::abs(x); }},
      {"maximum", [](const ad::Var& x) { return ad::maximum(x, 0.3f); }},
      {"add_scalar", [](const ad::Var& x) { return x + 1.5f; }},
      {"mul_scalar", [](const ad::Var& x) { return x * -2.5f; }},
      {"neg", [](const ad::Var& x) { return -x; }},
      {"2 - x", [](const ad::Var& x) { return 2.0f - x; }}};
  const std::vector<std::pair<std::string, std::function<ad::Var(const ad::Var&)>>> positive = {
      {"log", [](const ad::Var& x) { return ad::log(x); }}, {"sqrt", [](const ad::Var& x) { return ad::sqrt(x); }}};
  uint64_t seed = 50;
  for (const auto& [name, f] : any)
    check_op(name, {randn({7, 9}, ++seed, 2.0f)}, [f = f](const std::vector<ad::Var>& v) { return f(v[0]); });
  for (const auto& [name, f] : positive) {
    Tensor x = randn({7, 9}, ++seed);
    for (int64_t i = 0; i < x.numel(); ++i) x[i] = 0.2f + std::fabs(x[i]);
    check_op(name, {x}, [f = f](const std::vector<ad::Var>& v) { return f(v[0]); });
  }
  // a chain, so interior grads on the device are accumulated and released along the way
  check_op("tanh(exp(x) * 0.5 + sigmoid(x))", {randn({300}, 70)}, [](const std::vector<ad::Var>& v) {
    return ad::tanh(ad::exp(v[0]) * 0.5f + ad::sigmoid(v[0]));
  });
}

// ----- reductions -----
TEST(CudaAutodiff, SumAndMeanOverAllAndOneAxis) {
  REQUIRE_GPU();
  Tensor x = randn({3, 4, 5}, 80);
  check_op("sum", {x}, [](const std::vector<ad::Var>& v) { return ad::sum(v[0]); });
  check_op("mean", {x}, [](const std::vector<ad::Var>& v) { return ad::mean(v[0]); });
  for (int axis : {0, 1, 2, -1})
    for (bool keep : {false, true}) {
      const std::string tag = " axis " + std::to_string(axis) + (keep ? " keepdim" : "");
      check_op("sum" + tag, {x}, [=](const std::vector<ad::Var>& v) { return ad::sum(v[0], axis, keep); });
      check_op("mean" + tag, {x}, [=](const std::vector<ad::Var>& v) { return ad::mean(v[0], axis, keep); });
    }
  // a long last axis takes the row kernel (one warp per row)
  check_op("sum rows", {randn({3, 70}, 81)}, [](const std::vector<ad::Var>& v) { return ad::sum(v[0], 1); });
  check_op("sum of 3000", {randn({3000}, 82)}, [](const std::vector<ad::Var>& v) { return ad::sum(v[0]); }, 1e-4);
}

// ----- shape -----
TEST(CudaAutodiff, ConcatSliceReshapeTransposeStack) {
  REQUIRE_GPU();
  for (int axis : {0, 1, 2, -1}) {
    Shape s0{2, 3, 4}, s1{2, 3, 4}, s2{2, 3, 4};
    const int ax = axis < 0 ? 2 : axis;
    s1[ax] = 1, s2[ax] = 3;
    check_op("concat axis " + std::to_string(axis), {randn(s0, 90), randn(s1, 91), randn(s2, 92)},
             [=](const std::vector<ad::Var>& v) { return ad::concat(v, axis); });
  }
  check_op("concat, middle input constant", {randn({2, 3}, 93), randn({2, 2}, 94), randn({2, 1}, 95)},
           [](const std::vector<ad::Var>& v) { return ad::concat(v, 1); }, 1e-5, 1e-4, {true, false, true});
  check_op("stack0", {randn({3, 2}, 96), randn({3, 2}, 97)},
           [](const std::vector<ad::Var>& v) { return ad::stack0(v); });
  Tensor x = randn({2, 3, 5, 2}, 98);
  check_op("slice axis 0", {x}, [](const std::vector<ad::Var>& v) { return ad::slice(v[0], 0, 1, 2); });
  check_op("slice axis 2", {x}, [](const std::vector<ad::Var>& v) { return ad::slice(v[0], 2, 1, 4); });
  check_op("slice axis -1", {x}, [](const std::vector<ad::Var>& v) { return ad::slice(v[0], -1, 0, 1); });
  check_op("two overlapping slices", {x}, [](const std::vector<ad::Var>& v) {
    return ad::slice(v[0], 2, 0, 3) * ad::slice(v[0], 2, 2, 5);
  });
  check_op("reshape", {x}, [](const std::vector<ad::Var>& v) { return ad::tanh(ad::reshape(v[0], {6, -1})); });
  for (auto [d0, d1] : std::vector<std::pair<int, int>>{{0, 1}, {1, 3}, {3, 0}, {2, 2}})
    check_op("transpose " + std::to_string(d0) + "," + std::to_string(d1), {x},
             [d0 = d0, d1 = d1](const std::vector<ad::Var>& v) { return ad::transpose(v[0], d0, d1); });
  // detach: the same value, no gradient through it
  check_op("x * detach(x)", {randn({4}, 99)}, [](const std::vector<ad::Var>& v) { return v[0] * ad::detach(v[0]); });
}

// ----- convolution -----
TEST(CudaAutodiff, Conv2dAndConvTranspose2d) {
  REQUIRE_GPU();
  Tensor x = randn({2, 3, 6, 5}, 110);
  check_op("conv2d K3 s1 p1 with bias", {x, randn({4, 3, 3, 3}, 111), randn({4}, 112)},
           [](const std::vector<ad::Var>& v) { return ad::conv2d(v[0], v[1], v[2], 1, 1); }, 1e-4);
  check_op("conv2d K4 s2 p1 no bias", {x, randn({2, 3, 4, 4}, 113)},
           [](const std::vector<ad::Var>& v) { return ad::conv2d(v[0], v[1], ad::Var(), 2, 1); }, 1e-4);
  Tensor z = randn({2, 4, 3, 3}, 114);
  check_op("conv_transpose2d K4 s2 p1", {z, randn({4, 3, 4, 4}, 115), randn({3}, 116)},
           [](const std::vector<ad::Var>& v) { return ad::conv_transpose2d(v[0], v[1], v[2], 2, 1); }, 1e-4);
  check_op("conv_transpose2d K3 s2 p1 output_pad 1", {z, randn({4, 2, 3, 3}, 117), randn({2}, 118)},
           [](const std::vector<ad::Var>& v) { return ad::conv_transpose2d(v[0], v[1], v[2], 2, 1, 1); }, 1e-4);
}

// ----- distributions -----
TEST(CudaAutodiff, GaussianKlLogProbAndSample) {
  REQUIRE_GPU();
  const Shape s{4, 6};
  auto pos = [&](uint64_t seed) {  // standard deviations in [0.3, ...)
    Tensor t = randn(s, seed);
    for (int64_t i = 0; i < t.numel(); ++i) t[i] = 0.3f + std::fabs(t[i]);
    return t;
  };
  // one shape: the fused kernels
  check_op("kl_normal", {randn(s, 120), pos(121), randn(s, 122), pos(123)},
           [](const std::vector<ad::Var>& v) { return ad::kl_normal(v[0], v[1], v[2], v[3]); }, 1e-5, 1e-4);
  check_op("kl_normal, prior constant", {randn(s, 124), pos(125), randn(s, 126), pos(127)},
           [](const std::vector<ad::Var>& v) { return ad::kl_normal(v[0], v[1], v[2], v[3]); }, 1e-5, 1e-4,
           {true, true, false, false});
  check_op("normal_log_prob", {randn(s, 128), randn(s, 129), pos(130)},
           [](const std::vector<ad::Var>& v) { return ad::normal_log_prob(v[0], v[1], v[2]); });
  // one node twice (not fusable) and broadcast shapes: the composite on the device
  check_op("kl_normal(m, s, m, s2)", {randn(s, 131), pos(132), pos(133)},
           [](const std::vector<ad::Var>& v) { return ad::kl_normal(v[0], v[1], v[0], v[2]); });
  Tensor unit = Tensor::full({6}, 1.0f);
  check_op("normal_log_prob, broadcast scale", {randn(s, 134), randn(s, 135), unit},
           [](const std::vector<ad::Var>& v) { return ad::normal_log_prob(v[0], v[1], v[2]); });
  const Tensor eps = randn(s, 136);
  check_op("sample_normal", {randn(s, 137), pos(138)}, [&](const std::vector<ad::Var>& v) {
    return ad::sample_normal(v[0], v[1], eps.to(v[0].value().device()));
  });
}

// ----- mixed devices -----
TEST(CudaAutodiff, InputsOnDifferentDevicesThrowNamingTheOp) {
  REQUIRE_GPU();
  Tensor a = randn({2, 3}, 140), b = randn({2, 3}, 141);
  expect_mixed_device_error("add", [](const ad::Var& x, const ad::Var& y) { ad::add(x, y); }, a, b);
  expect_mixed_device_error("mul", [](const ad::Var& x, const ad::Var& y) { ad::mul(x, y); }, a, b);
  expect_mixed_device_error("matmul", [](const ad::Var& x, const ad::Var& y) { ad::matmul(x, y, false, true); }, a,
                            b);
  expect_mixed_device_error("concat", [](const ad::Var& x, const ad::Var& y) { ad::concat({x, y}, 0); }, a, b);
  expect_mixed_device_error("kl_normal", [](const ad::Var& x, const ad::Var& y) { ad::kl_normal(y, y, y, x); }, a, b);
  expect_mixed_device_error(
      "conv2d", [](const ad::Var& x, const ad::Var& w) { ad::conv2d(x, w, ad::Var(), 1, 0); },
      randn({1, 2, 4, 4}, 142), randn({3, 2, 3, 3}, 143));
}

// ----- graph: seeds, leaf roots, vjp_batched -----
TEST(CudaAutodiff, BackwardSeedsLeafRootsAndVjpBatched) {
  REQUIRE_GPU();
  // backward(loss) seeds from the host; leaf grads accumulate over sweeps, zero_grad clears them
  Tensor x = randn({10}, 150);
  ad::Var xg = ad::leaf(x.to(Device::CUDA), true);
  ad::Var loss = ad::sum(ad::square(xg));
  ad::backward(loss);
  ad::backward(loss);
  Tensor want(x.shape());
  for (int64_t i = 0; i < x.numel(); ++i) want[i] = 4.0f * x[i];
  expect_close(xg.grad(), want, 1e-6, 1e-6, "d sum(x^2) / dx, two sweeps");
  ad::zero_grad({xg});
  expect_close(xg.grad(), Tensor::zeros(x.shape()), 0, 0, "after zero_grad");
  // a leaf as the root accumulates its seed (given on either device)
  Tensor seed = randn({10}, 151);
  ad::backward(xg, seed);
  ad::backward(xg, seed.to(Device::CUDA));
  for (int64_t i = 0; i < x.numel(); ++i) want[i] = 2.0f * seed[i];
  expect_close(xg.grad(), want, 1e-6, 1e-6, "leaf root");

  // vjp_batched: rows of seeds x dy/dx, results on x's device
  Tensor a = randn({2, 3}, 152), w = randn({3, 4}, 153), seeds = randn({3, 8}, 154);
  std::vector<Tensor> cpu, gpu;
  for (Device d : {Device::CPU, Device::CUDA}) {
    ad::Var va = ad::leaf(a.to(d), true), vw = ad::leaf(w.to(d), true);
    ad::Var y = ad::tanh(ad::matmul(va, vw));
    (d == Device::CPU ? cpu : gpu) = ad::vjp_batched(y, {va, vw}, seeds);
    EXPECT_FALSE(va.has_grad()) << "vjp_batched touched a grad";
  }
  ASSERT_EQ(gpu.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(gpu[i].device(), Device::CUDA);
    expect_close(gpu[i], cpu[i], 1e-5, 1e-4, "vjp_batched input " + std::to_string(i));
  }
}

// ----- Module::to and Adam on the device -----
TEST(CudaAutodiff, ModuleToMovesParametersInPlaceAndAdamChecksDevices) {
  REQUIRE_GPU();
  Rng rng(160);
  nn::MLP mlp({3, 4, 2}, nn::Activation::Tanh, rng);
  nn::MLP copy = mlp;  // shares the parameters
  ad::backward(ad::sum(mlp(ad::constant(randn({5, 3}, 161)))));
  mlp.to(Device::CUDA);
  for (const auto& [name, p] : copy.parameters()) {
    EXPECT_EQ(p.value().device(), Device::CUDA) << name;
    EXPECT_EQ(p.node()->grad.device(), Device::CUDA) << name << ": its grad stayed behind";
  }
  EXPECT_EQ(mlp.layers[0].w.value().device(), Device::CUDA);
  ad::Var y = mlp(ad::constant(randn({5, 3}, 162).to(Device::CUDA)));
  EXPECT_EQ(y.value().device(), Device::CUDA);
  // an input left on the host is an error, not a copy
  EXPECT_THROW(mlp(ad::constant(randn({5, 3}, 163))), Error);

  // one parameter moved by hand: Adam refuses to mix devices, naming it
  nn::Linear lin(2, 2, rng);
  lin.w.mutable_value() = lin.w.value().to(Device::CUDA);
  nn::Adam adam(lin.parameters());
  try {
    adam.step();
    ADD_FAILURE() << "Adam over parameters on two devices did not throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'b'"), std::string::npos) << e.what();
  }
}

namespace {

// A tiny RSSM-like world model: conv encoder, GRU deterministic path, Gaussian prior and posterior
// heads, deconv decoder, reward head; each step's loss is KL(post || prior) - ln p(o, r | h, z).
//   images (T, B, 3, 4, 4), actions (T, B, A), rewards (T, B, 1), eps (T, B, Z) -> loss (scalar)
struct TinyWorldModel : nn::Module {
  static constexpr int T = 2, B = 2, A = 2, D = 6, Z = 3, E = 8;
  nn::Conv2d enc;                // (B, 3, 4, 4) -> (B, 4, 2, 2)
  nn::Linear embed;              // 16 -> E
  nn::GRUCell gru;               // [z, a] -> h: (Z + A) -> D
  nn::Linear prior, post;        // h -> (mean, std) of z: D -> 2Z;  [h, e]: D + E -> 2Z
  nn::Linear dec_in;             // [h, z] -> 16, viewed (B, 4, 2, 2)
  nn::ConvTranspose2d dec;       // (B, 4, 2, 2) -> (B, 3, 4, 4)
  nn::Linear reward;             // [h, z] -> 1

  explicit TinyWorldModel(Rng& rng)
      : enc(3, 4, 3, 2, 1, rng), embed(16, E, rng), gru(Z + A, D, rng), prior(D, 2 * Z, rng),
        post(D + E, 2 * Z, rng), dec_in(D + Z, 16, rng), dec(4, 3, 4, 2, 1, rng), reward(D + Z, 1, rng) {
    register_module("enc", enc);
    register_module("embed", embed);
    register_module("gru", gru);
    register_module("prior", prior);
    register_module("post", post);
    register_module("dec_in", dec_in);
    register_module("dec", dec);
    register_module("reward", reward);
  }

  ad::Var loss(const Tensor& images, const Tensor& actions, const Tensor& rewards, const Tensor& eps) const {
    const Device dev = images.device();
    auto step = [](const Tensor& t, int k, const Shape& s) { return ad::constant(t.slice0(k, k + 1).reshape(s)); };
    auto mean = [](const ad::Var& v) { return ad::slice(v, 1, 0, Z); };
    auto stddev = [](const ad::Var& v) { return ad::softplus(ad::slice(v, 1, Z, 2 * Z)) + 0.1f; };
    ad::Var h = ad::constant(Tensor::zeros({B, D}, dev)), z = ad::constant(Tensor::zeros({B, Z}, dev));
    ad::Var unit_img = ad::constant(Tensor::full({B, 3, 4, 4}, 1.0f).to(dev));
    ad::Var unit_r = ad::constant(Tensor::full({B, 1}, 0.5f).to(dev));
    ad::Var total;
    for (int t = 0; t < T; ++t) {
      ad::Var img = step(images, t, {B, 3, 4, 4}), a = step(actions, t, {B, A}), r = step(rewards, t, {B, 1});
      h = gru(ad::concat({z, a}, 1), h);
      ad::Var e = embed(ad::reshape(ad::elu(enc(img)), {B, 16}));
      ad::Var pr = prior(h), po = post(ad::concat({h, e}, 1));
      z = ad::sample_normal(mean(po), stddev(po), eps.slice0(t, t + 1).reshape({B, Z}));
      ad::Var f = ad::concat({h, z}, 1);
      ad::Var rec = dec(ad::reshape(dec_in(f), {B, 4, 2, 2}));
      ad::Var ll = ad::sum(ad::normal_log_prob(img, rec, unit_img)) + ad::sum(ad::normal_log_prob(r, reward(f), unit_r));
      ad::Var kl = ad::sum(ad::kl_normal(mean(po), stddev(po), mean(pr), stddev(pr)));
      ad::Var term = kl - ll;
      total = total.defined() ? total + term : term;
    }
    return total * (1.0f / (T * B));
  }
};

}  // namespace

TEST(CudaAutodiff, TinyWorldModelTrainsTheSameOnBothDevices) {
  REQUIRE_GPU();
  using M = TinyWorldModel;
  Rng r_cpu(170), r_gpu(170);
  M cpu(r_cpu), gpu(r_gpu);
  nn::AdamSettings as;
  as.lr = 1e-3f;
  as.eps = 1e-4f;
  as.clip = 1e-3f;  // far below the gradient norm: clipping is exercised on both devices
  nn::Adam opt_cpu(cpu.parameters(), as);
  nn::Adam opt_gpu(gpu.parameters(), as);  // built before the move: its state follows the parameters
  gpu.to(Device::CUDA);

  const Tensor images = randn({M::T, M::B, 3, 4, 4}, 171), actions = randn({M::T, M::B, M::A}, 172);
  const Tensor rewards = randn({M::T, M::B, 1}, 173), eps = randn({M::T, M::B, M::Z}, 174);
  const Tensor images_d = images.to(Device::CUDA), actions_d = actions.to(Device::CUDA);
  const Tensor rewards_d = rewards.to(Device::CUDA), eps_d = eps.to(Device::CUDA);
  for (int it = 0; it < 2; ++it) {
    const std::string tag = "step " + std::to_string(it) + ": ";
    cpu.zero_grad();
    gpu.zero_grad();
    ad::Var lc = cpu.loss(images, actions, rewards, eps), lg = gpu.loss(images_d, actions_d, rewards_d, eps_d);
    ASSERT_EQ(lg.value().device(), Device::CUDA);
    EXPECT_NEAR(lg.item(), lc.item(), 1e-4 + 1e-4 * std::fabs(lc.item())) << tag << "loss";
    ad::backward(lc);
    ad::backward(lg);
    const auto &pc = cpu.parameters(), &pg = gpu.parameters();
    ASSERT_EQ(pc.size(), pg.size());
    for (size_t k = 0; k < pc.size(); ++k)
      expect_close(pg[k].second.node()->grad, pc[k].second.node()->grad, 1e-4, 1e-3, tag + "grad " + pc[k].first);
    EXPECT_NEAR(nn::global_grad_norm(pg), nn::global_grad_norm(pc), 1e-3 * nn::global_grad_norm(pc)) << tag;
    const float nc = opt_cpu.step(), ng = opt_gpu.step();
    EXPECT_GT(nc, as.clip) << tag << "clipping was not exercised";
    EXPECT_NEAR(ng, nc, 1e-3 * nc) << tag << "gradient norm";
    for (size_t k = 0; k < pc.size(); ++k) {
      EXPECT_EQ(pg[k].second.value().device(), Device::CUDA) << pg[k].first;
      expect_close(pg[k].second.value(), pc[k].second.value(), 1e-5, 1e-4, tag + "parameter " + pc[k].first);
    }
  }
  EXPECT_EQ(opt_gpu.step_count(), 2);
  // Adam's state comes back as host copies matching the CPU run
  const auto sc = opt_cpu.state(), sg = opt_gpu.state();
  ASSERT_EQ(sc.size(), sg.size());
  for (size_t i = 0; i < sc.size(); ++i) {
    EXPECT_EQ(sg[i].second.device(), Device::CPU) << sg[i].first;
    expect_close(sg[i].second, sc[i].second, 1e-6, 1e-3, "state " + sc[i].first);
  }
}

TEST(CudaAutodiff, AdamOnTheDeviceSkipsNonFiniteGradients) {
  REQUIRE_GPU();
  Rng rng(180);
  nn::Linear lin(3, 2, rng);
  lin.to(Device::CUDA);
  const Tensor w0 = lin.w.value().to(Device::CPU);
  nn::Adam adam(lin.parameters());
  Tensor bad = Tensor::full({3, 2}, 1.0f);
  bad[4] = NAN;
  lin.w.grad().copy_from(bad);
  const float norm = adam.step();
  EXPECT_FALSE(std::isfinite(norm));
  EXPECT_EQ(adam.step_count(), 0);
  EXPECT_EQ(nn::first_nonfinite_grad(lin.parameters()), "w");
  expect_close(lin.w.value(), w0, 0, 0, "parameters after a NaN step");
}
