// CUDA backend: every kernel against its CPU reference on random inputs, with one tolerance
// rule |gpu - cpu| <= atol + rtol * |cpu|; the block-tridiagonal solve against a dense solve.
// Without a device (or in a CPU build) each GPU test skips with the reason; the runtime test runs.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <tuple>
#include <utility>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "core/tensor.h"

using namespace latco;

// ----- runs everywhere -----
TEST(CudaRuntime, StatusIsOneLineAndAllocationWithoutDeviceThrows) {
  std::string s = device::cuda_status();
  EXPECT_FALSE(s.empty());
  EXPECT_EQ(s.find('\n'), std::string::npos) << s;
  EXPECT_NE(s.find("CUDA"), std::string::npos) << s;
  if (device::cuda_available()) GTEST_SKIP() << "a device is present (" << s << "): covered by the GPU tests";
  try {
    Tensor t({4, 4}, Device::CUDA);
    FAIL() << "allocating a CUDA tensor without a device did not throw";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("CUDA"), std::string::npos) << m;
  }
  Tensor h = Tensor::from({2}, {1, 2});
  EXPECT_THROW(h.to(Device::CUDA), Error);
}

#ifndef HAVE_CUDA
TEST(Cuda, NotCompiledIn) { GTEST_SKIP() << "no CUDA device: " << device::cuda_status(); }
#else
#include "autodiff/var.h"
#include "cuda/cuda_api.h"
#include "kernels/conv.h"
#include "kernels/gemm.h"
#include "linalg/block_tridiag.h"
#include "linalg/dense.h"

namespace {

#define REQUIRE_GPU()                                                                 \
  do {                                                                                \
    if (!device::cuda_available()) GTEST_SKIP() << "no CUDA device: " << device::cuda_status(); \
  } while (0)

std::vector<float> randn(int64_t n, uint64_t seed, float scale = 1.0f, float shift = 0.0f) {
  Rng rng = Rng(seed).derive(n);
  std::vector<float> v(n);
  for (auto& x : v) x = shift + scale * rng.normal();
  return v;
}

// A host vector mirrored on the device.
struct Dev {
  explicit Dev(const std::vector<float>& h) : a(h.size()) { a.upload(h.data()); }
  explicit Dev(int64_t n) : a(n) { a.zero(); }
  float* p() { return a.data(); }
  std::vector<float> get() const {
    std::vector<float> h(a.size());
    a.download(h.data());
    return h;
  }
  cuda::DeviceArray<float> a;
};

// The one tolerance rule: |gpu - cpu| <= atol + rtol * |cpu| for every element.
template <class T>
void expect_close(const std::vector<T>& gpu, const std::vector<T>& cpu, double atol, double rtol,
                  const std::string& what) {
  ASSERT_EQ(gpu.size(), cpu.size()) << what;
  size_t bad = 0, worst = 0;
  double worst_excess = 0;
  for (size_t i = 0; i < cpu.size(); ++i) {
    double err = std::fabs((double)gpu[i] - (double)cpu[i]);
    double tol = atol + rtol * std::fabs((double)cpu[i]);
    if (!(err <= tol)) {
      ++bad;
      if (!(err - tol <= worst_excess)) { worst_excess = err - tol; worst = i; }
    }
  }
  EXPECT_EQ(bad, 0u) << what << ": " << bad << " of " << cpu.size() << " elements out of tolerance; worst at "
                     << worst << ": gpu " << gpu[worst] << " cpu " << cpu[worst];
}

}  // namespace

// ----- memory -----
TEST(CudaMemory, CachingAllocatorReusesFreedBlocks) {
  REQUIRE_GPU();
  cuda::release_cache();
  cuda::AllocStats s0 = cuda::alloc_stats();
  { Tensor a({1000}, Device::CUDA); }
  cuda::AllocStats s1 = cuda::alloc_stats();
  EXPECT_EQ(s1.device_mallocs, s0.device_mallocs + 1);
  EXPECT_GT(s1.bytes_cached, 0);
  { Tensor b({900}, Device::CUDA); }  // same 4 KiB bucket: served from the free list
  cuda::AllocStats s2 = cuda::alloc_stats();
  EXPECT_EQ(s2.device_mallocs, s1.device_mallocs);
  EXPECT_EQ(s2.cache_hits, s1.cache_hits + 1);
  EXPECT_EQ(s2.bytes_in_use, s0.bytes_in_use);
}

TEST(CudaMemory, RoundTripCopiesAndFill) {
  REQUIRE_GPU();
  std::vector<float> h = randn(1234, 1);
  Tensor t = Tensor::from({1234}, h).to(Device::CUDA);
  EXPECT_EQ(t.device(), Device::CUDA);
  Tensor u = t.clone();  // device to device
  EXPECT_EQ(u.to_vector(), h);
  u.fill(2.5f);
  EXPECT_EQ(u.to_vector(), std::vector<float>(1234, 2.5f));
  EXPECT_EQ(t.to(Device::CPU).to_vector(), h);
}

// ----- GEMM -----
TEST(CudaGemm, MatchesReferenceForAllTransposes) {
  REQUIRE_GPU();
  const int M = 37, N = 53, K = 29;
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 2, ldc = N + 1;
      std::vector<float> A = randn((int64_t)(ta ? K : M) * lda, 11), B = randn((int64_t)(tb ? N : K) * ldb, 12);
      std::vector<float> C = randn((int64_t)M * ldc, 13), Cref = C;
      Dev dA(A), dB(B), dC(C);
      cuda::sgemm(ta, tb, M, N, K, 0.7f, dA.p(), lda, dB.p(), ldb, 0.3f, dC.p(), ldc);
      sgemm_ref(ta, tb, M, N, K, 0.7f, A.data(), lda, B.data(), ldb, 0.3f, Cref.data(), ldc);
      expect_close(dC.get(), Cref, 1e-4, 1e-4, "sgemm ta=" + std::to_string(ta) + " tb=" + std::to_string(tb));
    }
}

TEST(CudaGemm, StridedBatchedMatchesPerMatrixReference) {
  REQUIRE_GPU();
  const int batch = 5, M = 16, N = 24, K = 40;
  std::vector<float> A = randn((int64_t)batch * M * K, 21), B = randn((int64_t)K * N, 22);  // B shared: stride 0
  std::vector<float> C((int64_t)batch * M * N, NAN), Cref(C.size());
  Dev dA(A), dB(B), dC(C);
  cuda::sgemm_batched(batch, false, true, M, N, K, 1.0f, dA.p(), K, (long)M * K, dB.p(), K, 0, 0.0f, dC.p(), N,
                      (long)M * N);
  // trans_b with B stored (N x K): reuse B's buffer as N x K (its size is K*N).
  for (int i = 0; i < batch; ++i)
    sgemm_ref(false, true, M, N, K, 1.0f, A.data() + (int64_t)i * M * K, K, B.data(), K, 0.0f,
              Cref.data() + (int64_t)i * M * N, N);
  expect_close(dC.get(), Cref, 1e-4, 1e-4, "sgemm_batched");
}

// ----- elementwise: against the CPU autodiff ops (forward values and input gradients) -----
namespace {
// CPU: y = f(x) and dx = J^T seed through the autodiff op.
std::pair<std::vector<float>, std::vector<float>> cpu_unary(const std::function<ad::Var(const ad::Var&)>& f,
                                                            const std::vector<float>& x, const std::vector<float>& seed) {
  int64_t n = (int64_t)x.size();
  ad::Var vx = ad::leaf(Tensor::from({n}, x), true);
  ad::Var y = f(vx);
  ad::backward(y, Tensor::from({n}, seed));
  return {y.value().to_vector(), vx.grad().to_vector()};
}
}  // namespace

TEST(CudaElementwise, UnaryForwardAndBackwardMatchAutodiff) {
  REQUIRE_GPU();
  const int64_t n = 3001;
  const float c = 0.2f;
  struct Case { cuda::Unary op; std::function<ad::Var(const ad::Var&)> f; bool positive; };
  std::vector<Case> cases = {
      {cuda::Unary::Exp, [](const ad::Var& x) { return ad::exp(x); }, false},
      {cuda::Unary::Log, [](const ad::Var& x) { return ad::log(x); }, true},
      {cuda::Unary::Tanh, [](const ad::Var& x) { return ad::tanh(x); }, false},
      {cuda::Unary::Sigmoid, [](const ad::Var& x) { return ad::sigmoid(x); }, false},
      {cuda::Unary::Relu, [](const ad::Var& x) { return ad::relu(x); }, false},
      {cuda::Unary::Elu, [](const ad::Var& x) { return ad::elu(x); }, false},
      {cuda::Unary::Softplus, [](const ad::Var& x) { return ad::softplus(x); }, false},
      {cuda::Unary::Sqrt, [](const ad::Var& x) { return ad::sqrt(x); }, true},
      {cuda::Unary::Square, [](const ad::Var& x) { return ad::square(x); }, false},
      {cuda::Unary::Abs, [](const ad::Var& x) { return ad::abs(x); }, false},
      {cuda::Unary::Maximum, [c](const ad::Var& x) { return ad::maximum(x, c); }, false},
  };
  std::vector<float> seed = randn(n, 2);
  for (const Case& k : cases) {
    std::vector<float> x = k.positive ? randn(n, 3, 1.0f, 0.0f) : randn(n, 3, 3.0f);
    if (k.positive) for (auto& v : x) v = std::fabs(v) + 0.05f;
    auto [y_cpu, dx_cpu] = cpu_unary(k.f, x, seed);
    Dev dx_in(x), dy_out(n), dseed(seed), dgrad(n);
    cuda::unary_forward(k.op, n, dx_in.p(), dy_out.p(), c);
    cuda::unary_backward(k.op, n, dx_in.p(), dy_out.p(), dseed.p(), dgrad.p(), c);
    expect_close(dy_out.get(), y_cpu, 1e-6, 1e-5, std::string(cuda::unary_name(k.op)) + " forward");
    expect_close(dgrad.get(), dx_cpu, 1e-6, 1e-5, std::string(cuda::unary_name(k.op)) + " backward");
  }
}

TEST(CudaElementwise, BroadcastBinaryOpsAndGradientsMatchAutodiff) {
  REQUIRE_GPU();
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{7, 33}, {7, 33}}, {{7, 33}, {33}}, {{6, 1, 5}, {4, 1}}, {{2, 3, 4, 5}, {1, 3, 1, 1}}, {{}, {9, 2}},
      {{40, 70}, {40, 1}}};
  const cuda::Binary ops[] = {cuda::Binary::Add, cuda::Binary::Sub, cuda::Binary::Mul, cuda::Binary::Div};
  for (const auto& [sa, sb] : shapes)
    for (cuda::Binary op : ops) {
      const int64_t na = shape_numel(sa), nb = shape_numel(sb);
      std::vector<float> a = randn(na, 31), b = randn(nb, 32);
      if (op == cuda::Binary::Div) for (auto& v : b) v = (v >= 0 ? 1.0f : -1.0f) * (std::fabs(v) + 0.5f);
      ad::Var va = ad::leaf(Tensor::from(sa, a), true), vb = ad::leaf(Tensor::from(sb, b), true);
      ad::Var y = op == cuda::Binary::Add ? va + vb : op == cuda::Binary::Sub ? va - vb
                : op == cuda::Binary::Mul ? va * vb : va / vb;
      Shape so = cuda::broadcast_shape(sa, sb);
      ASSERT_EQ(so, y.shape());
      std::vector<float> seed = randn(shape_numel(so), 33);
      ad::backward(y, Tensor::from(so, seed));
      Dev da(a), db(b), dy(shape_numel(so)), dseed(seed), dga(na), dgb(nb);
      cuda::binary_forward(op, sa, da.p(), sb, db.p(), dy.p());
      cuda::binary_backward(op, sa, da.p(), sb, db.p(), dseed.p(), dga.p(), dgb.p());
      std::string what = std::string(cuda::binary_name(op)) + " " + shape_str(sa) + " with " + shape_str(sb);
      expect_close(dy.get(), y.value().to_vector(), 1e-6, 1e-5, what + " forward");
      expect_close(dga.get(), va.grad().to_vector(), 1e-5, 1e-4, what + " da");
      expect_close(dgb.get(), vb.grad().to_vector(), 1e-5, 1e-4, what + " db");
    }
  EXPECT_THROW(cuda::broadcast_shape({3, 4}, {5}), Error);
}

TEST(CudaElementwise, ScalarAffineAndAxpy) {
  REQUIRE_GPU();
  const int64_t n = 777;
  std::vector<float> x = randn(n, 41), y0 = randn(n, 42), ref_aff(n), ref_axpy(n);
  for (int64_t i = 0; i < n; ++i) {
    ref_aff[i] = 1.5f * x[i] - 0.25f;
    ref_axpy[i] = y0[i] + 0.5f * x[i];
  }
  Dev dx(x), dy(n), dz(y0);
  cuda::affine_scalar(n, 1.5f, -0.25f, dx.p(), dy.p());
  cuda::axpy(n, 0.5f, dx.p(), dz.p());
  expect_close(dy.get(), ref_aff, 1e-6, 1e-6, "affine_scalar");
  expect_close(dz.get(), ref_axpy, 1e-6, 1e-6, "axpy");
}

// ----- reductions -----
TEST(CudaReduce, SumAndMeanAllAndPerAxisMatchAutodiff) {
  REQUIRE_GPU();
  // all elements, sizes around the partial-block boundaries
  for (int64_t n : {1, 255, 2048, 100003}) {
    std::vector<float> x = randn(n, 51);
    ad::Var vx = ad::leaf(Tensor::from({n}, x), true);
    ad::Var m = ad::mean(vx);
    ad::backward(m, Tensor::from({}, {2.0f}));
    Dev dx(x), dy(1), dseed(std::vector<float>{2.0f}), dg(n);
    cuda::sum_all(n, dx.p(), dy.p(), 1.0f / n);
    cuda::sum_all_backward(n, dseed.p(), dg.p(), 1.0f / n);
    expect_close(dy.get(), m.value().to_vector(), 1e-6, 1e-5, "mean of " + std::to_string(n));
    expect_close(dg.get(), vx.grad().to_vector(), 1e-9, 1e-6, "mean backward " + std::to_string(n));
  }
  // per axis of a (4, 37, 6) tensor, and the last axis (warp-per-row path)
  const Shape shape = {4, 37, 6};
  std::vector<float> x = randn(shape_numel(shape), 52);
  for (int axis = 0; axis < 3; ++axis)
    for (int is_mean = 0; is_mean < 2; ++is_mean) {
      ad::Var vx = ad::leaf(Tensor::from(shape, x), true);
      ad::Var y = is_mean ? ad::mean(vx, axis) : ad::sum(vx, axis);
      std::vector<float> seed = randn(y.value().numel(), 53);
      ad::backward(y, Tensor::from(y.shape(), seed));
      int64_t outer = 1, inner = 1, len = shape[axis];
      for (int k = 0; k < axis; ++k) outer *= shape[k];
      for (int k = axis + 1; k < 3; ++k) inner *= shape[k];
      const float scale = is_mean ? 1.0f / len : 1.0f;
      Dev dx(x), dy(outer * inner), dseed(seed), dg((int64_t)x.size());
      cuda::sum_axis(outer, len, inner, dx.p(), dy.p(), scale);
      cuda::sum_axis_backward(outer, len, inner, dseed.p(), dg.p(), scale);
      std::string what = std::string(is_mean ? "mean" : "sum") + " axis " + std::to_string(axis);
      expect_close(dy.get(), y.value().to_vector(), 1e-5, 1e-5, what);
      expect_close(dg.get(), vx.grad().to_vector(), 1e-6, 1e-6, what + " backward");
    }
  std::vector<float> rows = randn(9 * 300, 54), ref(9, 0.0f);
  for (int r = 0; r < 9; ++r) {
    double acc = 0;
    for (int l = 0; l < 300; ++l) acc += rows[r * 300 + l];
    ref[r] = (float)acc;
  }
  Dev drows(rows), dsum(9);
  cuda::sum_axis(9, 300, 1, drows.p(), dsum.p());
  expect_close(dsum.get(), ref, 1e-5, 1e-5, "row sums");
}

// ----- shape ops: against autodiff's concat / slice / transpose -----
TEST(CudaShape, ConcatSliceTransposeForwardAndBackwardMatchAutodiff) {
  REQUIRE_GPU();
  // concat along axis 1: (3,2,4) and (3,5,4) -> (3,7,4)
  {
    std::vector<float> a = randn(24, 171), b = randn(60, 172), seed = randn(84, 173);
    ad::Var va = ad::leaf(Tensor::from({3, 2, 4}, a), true), vb = ad::leaf(Tensor::from({3, 5, 4}, b), true);
    ad::Var y = ad::concat({va, vb}, 1);
    ad::backward(y, Tensor::from({3, 7, 4}, seed));
    Dev da(a), db(b), dy(84), dseed(seed), ga(24), gb(60);
    cuda::copy_window(3, 2, 4, da.p(), 2, 0, dy.p(), 7, 0);
    cuda::copy_window(3, 5, 4, db.p(), 5, 0, dy.p(), 7, 2);
    cuda::copy_window(3, 2, 4, dseed.p(), 7, 0, ga.p(), 2, 0, true);
    cuda::copy_window(3, 5, 4, dseed.p(), 7, 2, gb.p(), 5, 0, true);
    expect_close(dy.get(), y.value().to_vector(), 0, 0, "concat");
    expect_close(ga.get(), va.grad().to_vector(), 0, 0, "concat da");
    expect_close(gb.get(), vb.grad().to_vector(), 0, 0, "concat db");
  }
  // slice [1, 3) of axis 2 of (2,3,5,2)
  {
    std::vector<float> x = randn(60, 174), seed = randn(24, 175);
    ad::Var vx = ad::leaf(Tensor::from({2, 3, 5, 2}, x), true);
    ad::Var y = ad::slice(vx, 2, 1, 3);
    ad::backward(y, Tensor::from({2, 3, 2, 2}, seed));
    Dev dx(x), dy(24), dseed(seed), gx(60);
    cuda::copy_window(6, 2, 2, dx.p(), 5, 1, dy.p(), 2, 0);
    cuda::copy_window(6, 2, 2, dseed.p(), 2, 0, gx.p(), 5, 1, true);
    expect_close(dy.get(), y.value().to_vector(), 0, 0, "slice");
    expect_close(gx.get(), vx.grad().to_vector(), 0, 0, "slice dx");
  }
  // transpose dims 1 and 3 of (2,3,4,5,6)
  {
    const int64_t n = 2 * 3 * 4 * 5 * 6;
    std::vector<float> x = randn(n, 176), seed = randn(n, 177);
    ad::Var vx = ad::leaf(Tensor::from({2, 3, 4, 5, 6}, x), true);
    ad::Var y = ad::transpose(vx, 1, 3);
    ASSERT_EQ(y.shape(), (Shape{2, 5, 4, 3, 6}));
    ad::backward(y, Tensor::from(y.shape(), seed));
    Dev dx(x), dy(n), dseed(seed), gx(n);
    cuda::swap_dims(2, 3, 4, 5, 6, dx.p(), dy.p());
    cuda::swap_dims(2, 5, 4, 3, 6, dseed.p(), gx.p(), true);
    expect_close(dy.get(), y.value().to_vector(), 0, 0, "transpose");
    expect_close(gx.get(), vx.grad().to_vector(), 0, 0, "transpose dx");
  }
  EXPECT_THROW(cuda::copy_window(1, 3, 1, nullptr, 2, 0, nullptr, 3, 0), Error);
}

// ----- convolution: against the plain-loop references of kernels/conv.h -----
TEST(CudaConv, Conv2dForwardBackwardMatchReference) {
  REQUIRE_GPU();
  // default workspace (one chunk), then one image per chunk
  for (int64_t ws : {int64_t(16) << 20, int64_t(1)}) {
    const int64_t prev = cuda::set_conv_workspace_floats(ws);
    for (auto [K, stride, pad] : std::vector<std::tuple<int, int, int>>{{4, 2, 0}, {3, 1, 1}, {5, 2, 2}}) {
      ConvShape s{3, 5, 13, 11, 7, K, stride, pad};
      const int Ho = s.Ho(), Wo = s.Wo();
      const int64_t nx = (int64_t)s.N * s.C * s.H * s.W, nw = (int64_t)s.O * s.C * K * K,
                    ny = (int64_t)s.N * s.O * Ho * Wo;
      std::vector<float> x = randn(nx, 61), w = randn(nw, 62, 0.3f), b = randn(s.O, 63), dy = randn(ny, 64);
      std::vector<float> y(ny), dx = randn(nx, 65), dw = randn(nw, 66), db = randn(s.O, 67);  // += into these
      Dev gx(x), gw(w), gb(b), gy(ny), gdy(dy), gdx(dx), gdw(dw), gdb(db);
      conv2d_forward_ref(s, x.data(), w.data(), b.data(), y.data());
      conv2d_backward_ref(s, x.data(), w.data(), dy.data(), dx.data(), dw.data(), db.data());
      cuda::conv2d_forward(s, gx.p(), gw.p(), gb.p(), gy.p());
      cuda::conv2d_backward(s, gx.p(), gw.p(), gdy.p(), gdx.p(), gdw.p(), gdb.p());
      std::string what = "conv2d ws=" + std::to_string(ws) + " K=" + std::to_string(K) +
                         " s=" + std::to_string(stride) + " p=" + std::to_string(pad);
      expect_close(gy.get(), y, 1e-4, 1e-4, what + " y");
      expect_close(gdx.get(), dx, 1e-4, 1e-4, what + " dx");
      expect_close(gdw.get(), dw, 1e-3, 1e-4, what + " dw");
      expect_close(gdb.get(), db, 1e-3, 1e-4, what + " db");
    }
    cuda::set_conv_workspace_floats(prev);
  }
}

TEST(CudaConv, ConvTranspose2dForwardBackwardMatchReference) {
  REQUIRE_GPU();
  // default workspace (one chunk), then one image per chunk
  for (int64_t ws : {int64_t(16) << 20, int64_t(1)}) {
    const int64_t prev = cuda::set_conv_workspace_floats(ws);
    for (auto [K, stride, pad, out_pad] :
         std::vector<std::tuple<int, int, int, int>>{{5, 2, 0, 0}, {6, 2, 0, 0}, {3, 2, 1, 1}, {3, 1, 1, 0}}) {
      ConvShape s{2, 6, 5, 7, 4, K, stride, pad, out_pad};
      s.transposed = true;
      const int Ho = s.Ho(), Wo = s.Wo();
      const int64_t nx = (int64_t)s.N * s.C * s.H * s.W, nw = (int64_t)s.C * s.O * K * K,
                    ny = (int64_t)s.N * s.O * Ho * Wo;
      std::vector<float> x = randn(nx, 71), w = randn(nw, 72, 0.3f), b = randn(s.O, 73), dy = randn(ny, 74);
      std::vector<float> y(ny), dx = randn(nx, 75), dw = randn(nw, 76), db = randn(s.O, 77);
      Dev gx(x), gw(w), gb(b), gy(ny), gdy(dy), gdx(dx), gdw(dw), gdb(db);
      conv_transpose2d_forward_ref(s, x.data(), w.data(), b.data(), y.data());
      conv_transpose2d_backward_ref(s, x.data(), w.data(), dy.data(), dx.data(), dw.data(), db.data());
      cuda::conv_transpose2d_forward(s, gx.p(), gw.p(), gb.p(), gy.p());
      cuda::conv_transpose2d_backward(s, gx.p(), gw.p(), gdy.p(), gdx.p(), gdw.p(), gdb.p());
      std::string what = "conv_transpose2d ws=" + std::to_string(ws) + " K=" + std::to_string(K) +
                         " s=" + std::to_string(stride) + " p=" + std::to_string(pad) + " op=" + std::to_string(out_pad);
      expect_close(gy.get(), y, 1e-4, 1e-4, what + " y");
      expect_close(gdx.get(), dx, 1e-4, 1e-4, what + " dx");
      expect_close(gdw.get(), dw, 1e-3, 1e-4, what + " dw");
      expect_close(gdb.get(), db, 1e-3, 1e-4, what + " db");
    }
    cuda::set_conv_workspace_floats(prev);
  }
}

TEST(CudaConv, Col2imIsTheAdjointOfIm2col) {
  REQUIRE_GPU();
  // <im2col(x), c> == <x, col2im(c)> for random x, c
  const int C = 3, H = 9, W = 8, K = 3, st = 2, pad = 1, Ho = (H + 2 * pad - K) / st + 1, Wo = (W + 2 * pad - K) / st + 1;
  const int64_t nx = (int64_t)C * H * W, nc = (int64_t)C * K * K * Ho * Wo;
  std::vector<float> x = randn(nx, 81), c = randn(nc, 82);
  Dev gx(x), gc(c), gcol(nc), gxt(nx);
  cuda::im2col(C, H, W, K, st, pad, Ho, Wo, gx.p(), gcol.p());
  cuda::col2im(C, H, W, K, st, pad, Ho, Wo, gc.p(), gxt.p());
  std::vector<float> col = gcol.get(), xt = gxt.get();
  double lhs = 0, rhs = 0;
  for (int64_t i = 0; i < nc; ++i) lhs += (double)col[i] * c[i];
  for (int64_t i = 0; i < nx; ++i) rhs += (double)x[i] * xt[i];
  expect_close(std::vector<double>{lhs}, std::vector<double>{rhs}, 1e-4, 1e-5, "<im2col(x), c> vs <x, col2im(c)>");
}

// ----- fused GRU cell: against the same math written with autodiff ops -----
TEST(CudaRssmOps, GruCellForwardBackwardMatchAutodiff) {
  REQUIRE_GPU();
  const int B = 5, D = 19;
  std::vector<float> gx = randn((int64_t)B * 3 * D, 91), gh = randn((int64_t)B * 3 * D, 92), h = randn((int64_t)B * D, 93);
  std::vector<float> seed = randn((int64_t)B * D, 94);
  ad::Var vgx = ad::leaf(Tensor::from({B, 3 * D}, gx), true), vgh = ad::leaf(Tensor::from({B, 3 * D}, gh), true);
  ad::Var vh = ad::leaf(Tensor::from({B, D}, h), true);
  auto gate = [&](const ad::Var& g, int k) { return ad::slice(g, 1, (int64_t)k * D, (int64_t)(k + 1) * D); };
  ad::Var r = ad::sigmoid(gate(vgx, 0) + gate(vgh, 0));
  ad::Var u = ad::sigmoid(gate(vgx, 1) + gate(vgh, 1));
  ad::Var nn = ad::tanh(gate(vgx, 2) + r * gate(vgh, 2));
  ad::Var h_new = nn + u * (vh - nn);  // (1 - u) n + u h
  ad::backward(h_new, Tensor::from({B, D}, seed));
  Dev dgx(gx), dgh(gh), dh(h), dhn((int64_t)B * D), dsaved((int64_t)B * 3 * D), dseed(seed);
  Dev ggx((int64_t)B * 3 * D), ggh((int64_t)B * 3 * D), gh_((int64_t)B * D);
  cuda::gru_cell_forward(B, D, dgx.p(), dgh.p(), dh.p(), dhn.p(), dsaved.p());
  cuda::gru_cell_backward(B, D, dgh.p(), dh.p(), dsaved.p(), dseed.p(), ggx.p(), ggh.p(), gh_.p());
  expect_close(dhn.get(), h_new.value().to_vector(), 1e-6, 1e-5, "gru h_new");
  expect_close(ggx.get(), vgx.grad().to_vector(), 1e-6, 1e-5, "gru dgx");
  expect_close(ggh.get(), vgh.grad().to_vector(), 1e-6, 1e-5, "gru dgh");
  expect_close(gh_.get(), vh.grad().to_vector(), 1e-6, 1e-5, "gru dh");
}

// ----- Gaussians: against autodiff's kl_normal / normal_log_prob -----
TEST(CudaRssmOps, GaussianKlAndLogProbMatchAutodiff) {
  REQUIRE_GPU();
  const int64_t n = 1003;
  auto pos = [](std::vector<float> v) { for (auto& x : v) x = std::fabs(x) + 0.1f; return v; };
  std::vector<float> m1 = randn(n, 101), s1 = pos(randn(n, 102)), m2 = randn(n, 103), s2 = pos(randn(n, 104));
  std::vector<float> seed = randn(n, 105);
  {
    ad::Var a = ad::leaf(Tensor::from({n}, m1), true), b = ad::leaf(Tensor::from({n}, s1), true);
    ad::Var c = ad::leaf(Tensor::from({n}, m2), true), d = ad::leaf(Tensor::from({n}, s2), true);
    ad::Var kl = ad::kl_normal(a, b, c, d);
    ad::backward(kl, Tensor::from({n}, seed));
    Dev g1(m1), g2(s1), g3(m2), g4(s2), gkl(n), gs(seed), d1(n), d2(n), d3(n), d4(n);
    cuda::kl_normal_forward(n, g1.p(), g2.p(), g3.p(), g4.p(), gkl.p());
    cuda::kl_normal_backward(n, g1.p(), g2.p(), g3.p(), g4.p(), gs.p(), d1.p(), d2.p(), d3.p(), d4.p());
    expect_close(gkl.get(), kl.value().to_vector(), 1e-5, 1e-4, "kl");
    expect_close(d1.get(), a.grad().to_vector(), 1e-5, 1e-4, "kl dm1");
    expect_close(d2.get(), b.grad().to_vector(), 1e-5, 1e-4, "kl ds1");
    expect_close(d3.get(), c.grad().to_vector(), 1e-5, 1e-4, "kl dm2");
    expect_close(d4.get(), d.grad().to_vector(), 1e-5, 1e-4, "kl ds2");
  }
  {
    ad::Var x = ad::leaf(Tensor::from({n}, m2), true), m = ad::leaf(Tensor::from({n}, m1), true);
    ad::Var s = ad::leaf(Tensor::from({n}, s1), true);
    ad::Var lp = ad::normal_log_prob(x, m, s);
    ad::backward(lp, Tensor::from({n}, seed));
    Dev gx(m2), gm(m1), gsd(s1), glp(n), gs(seed), dx(n), dm(n), ds(n);
    cuda::normal_log_prob_forward(n, gx.p(), gm.p(), gsd.p(), glp.p());
    cuda::normal_log_prob_backward(n, gx.p(), gm.p(), gsd.p(), gs.p(), dx.p(), dm.p(), ds.p());
    expect_close(glp.get(), lp.value().to_vector(), 1e-5, 1e-4, "log prob");
    expect_close(dx.get(), x.grad().to_vector(), 1e-5, 1e-4, "log prob dx");
    expect_close(dm.get(), m.grad().to_vector(), 1e-5, 1e-4, "log prob dm");
    expect_close(ds.get(), s.grad().to_vector(), 1e-5, 1e-4, "log prob ds");
  }
}

// ----- Adam: against the update rule of nn/adam.h written as a plain loop in double -----
TEST(CudaAdam, ClippedUpdateMatchesPlainLoop) {
  REQUIRE_GPU();
  const std::vector<int64_t> sizes = {300, 7, 4096};
  cuda::AdamStep st{1e-2f, 0.9f, 0.999f, 1e-8f, 5.0f, 0};
  std::vector<std::vector<float>> p, g, m, v;
  for (size_t i = 0; i < sizes.size(); ++i) {
    p.push_back(randn(sizes[i], 110 + i));
    g.push_back(randn(sizes[i], 120 + i));
    m.push_back(std::vector<float>(sizes[i], 0.0f));
    v.push_back(std::vector<float>(sizes[i], 0.0f));
  }
  std::vector<Dev> dp, dg, dm, dv;
  for (size_t i = 0; i < sizes.size(); ++i) {
    dp.emplace_back(p[i]); dg.emplace_back(g[i]); dm.emplace_back(m[i]); dv.emplace_back(v[i]);
  }
  std::vector<float*> pp, pm, pv;
  std::vector<const float*> pg;
  for (size_t i = 0; i < sizes.size(); ++i) {
    pp.push_back(dp[i].p()); pg.push_back(dg[i].p()); pm.push_back(dm[i].p()); pv.push_back(dv[i].p());
  }
  for (int t = 1; t <= 3; ++t) {
    double ss = 0;
    for (auto& gi : g) for (float x : gi) ss += (double)x * x;
    const double norm = std::sqrt(ss), scale = norm > st.clip ? st.clip / norm : 1.0;
    ASSERT_GT(norm, st.clip);  // the clip is exercised
    const double c1 = 1 - std::pow(0.9, t), c2 = 1 - std::pow(0.999, t);
    for (size_t i = 0; i < sizes.size(); ++i)
      for (int64_t k = 0; k < sizes[i]; ++k) {
        const double gk = g[i][k] * scale;
        m[i][k] = (float)(0.9 * m[i][k] + 0.1 * gk);
        v[i][k] = (float)(0.999 * v[i][k] + 0.001 * gk * gk);
        p[i][k] -= (float)(st.lr * (m[i][k] / c1) / (std::sqrt(v[i][k] / c2) + st.eps));
      }
    st.t = t;
    float gnorm = cuda::adam_update((int)sizes.size(), pp.data(), pg.data(), pm.data(), pv.data(), sizes.data(), st);
    expect_close(std::vector<double>{gnorm}, std::vector<double>{norm}, 0, 1e-5, "global grad norm");
  }
  for (size_t i = 0; i < sizes.size(); ++i) {
    expect_close(dp[i].get(), p[i], 1e-5, 1e-4, "adam p" + std::to_string(i));
    expect_close(dm[i].get(), m[i], 1e-6, 1e-4, "adam m" + std::to_string(i));
    expect_close(dv[i].get(), v[i], 1e-7, 1e-4, "adam v" + std::to_string(i));
  }
}

// ----- batched Cholesky, triangular solves, block-tridiagonal solve (double) -----
namespace {
// A random SPD (n x n): X X^T / n + 0.5 I
std::vector<double> random_spd(int n, uint64_t seed) {
  Rng rng = Rng(seed).derive(n);
  std::vector<double> X((size_t)n * n), A((size_t)n * n, 0.0);
  for (auto& x : X) x = rng.normal();
  dgemm_nt_ref(n, n, n, 1.0 / n, X.data(), n, X.data(), n, A.data(), n);
  for (int i = 0; i < n; ++i) A[(size_t)i * n + i] += 0.5;
  return A;
}
struct DevD {
  explicit DevD(const std::vector<double>& h) : a(h.size()) { a.upload(h.data()); }
  std::vector<double> get() const { std::vector<double> h(a.size()); a.download(h.data()); return h; }
  cuda::DeviceArray<double> a;
};
}  // namespace

TEST(CudaCholesky, BatchedFactorAndSolvesMatchReference) {
  REQUIRE_GPU();
  for (int n : {1, 17, 234}) {
    const int batch = 3, m = 5;
    std::vector<double> A, L, X, Xref, Xt_ref;
    Rng rng = Rng(130).derive(n);
    for (int b = 0; b < batch; ++b) {
      std::vector<double> a = random_spd(n, 131 + b), l = a;
      ASSERT_TRUE(cholesky_ref(n, l.data(), n));
      for (int i = 0; i < n; ++i) for (int j = i + 1; j < n; ++j) l[(size_t)i * n + j] = 0.0;
      A.insert(A.end(), a.begin(), a.end());
      L.insert(L.end(), l.begin(), l.end());
      std::vector<double> rhs((size_t)n * m);
      for (auto& x : rhs) x = rng.normal();
      X.insert(X.end(), rhs.begin(), rhs.end());
      // column by column with the CPU vector solves: L y = r and L^T z = r
      std::vector<double> y = rhs, z = rhs, col(n);
      for (int c = 0; c < m; ++c) {
        for (int i = 0; i < n; ++i) col[i] = rhs[(size_t)i * m + c];
        std::vector<double> cy = col, cz = col;
        trsv_lower(n, l.data(), n, cy.data());
        trsv_lower_t(n, l.data(), n, cz.data());
        for (int i = 0; i < n; ++i) { y[(size_t)i * m + c] = cy[i]; z[(size_t)i * m + c] = cz[i]; }
      }
      Xref.insert(Xref.end(), y.begin(), y.end());
      Xt_ref.insert(Xt_ref.end(), z.begin(), z.end());
    }
    DevD dA(A), dX(X), dXt(X);
    cuda::DeviceArray<int> info(batch);
    cuda::cholesky_batched(batch, n, dA.a.data(), info.data());
    std::vector<int> hinfo(batch);
    info.download(hinfo.data());
    EXPECT_EQ(hinfo, std::vector<int>(batch, 0));
    expect_close(dA.get(), L, 1e-10, 1e-9, "cholesky n=" + std::to_string(n));
    cuda::trsm_lower_batched(batch, n, m, dA.a.data(), false, dX.a.data());
    cuda::trsm_lower_batched(batch, n, m, dA.a.data(), true, dXt.a.data());
    expect_close(dX.get(), Xref, 1e-9, 1e-8, "L X = R, n=" + std::to_string(n));
    expect_close(dXt.get(), Xt_ref, 1e-9, 1e-8, "L^T X = R, n=" + std::to_string(n));
  }
}

TEST(CudaCholesky, ReportsTheFailingPivot) {
  REQUIRE_GPU();
  const int n = 6;
  std::vector<double> A = random_spd(n, 140), B = A;
  B[3 * n + 3] = -5.0;  // pivot 3 (or earlier) fails in the second matrix
  A.insert(A.end(), B.begin(), B.end());
  DevD dA(A);
  cuda::DeviceArray<int> info(2);
  cuda::cholesky_batched(2, n, dA.a.data(), info.data());
  std::vector<int> h(2);
  info.download(h.data());
  EXPECT_EQ(h[0], 0);
  EXPECT_GE(h[1], 1);
  EXPECT_LE(h[1], 4);
}

TEST(CudaBlockTridiag, MatchesDenseSolveAndCpuBlockSolve) {
  REQUIRE_GPU();
  for (auto [H, n] : std::vector<std::pair<int, int>>{{1, 5}, {4, 7}, {12, 34}, {3, 234}}) {
    const int batch = 2;
    const double damping = 1e-3;
    const int64_t nn = (int64_t)n * n;
    std::vector<double> D, B, b, x_dense, x_cpu;
    for (int s = 0; s < batch; ++s) {
      Rng rng = Rng(150 + s).derive(H * 1000 + n);
      std::vector<double> Ds((size_t)H * nn), Bs((size_t)H * nn, 0.0), bs((size_t)H * n);
      for (int t = 0; t < H; ++t) {
        // diagonally dominant blocks keep the whole matrix SPD
        std::vector<double> d = random_spd(n, 160 + 37 * s + t);
        for (int i = 0; i < n; ++i) d[(size_t)i * n + i] += 1.0;
        std::copy(d.begin(), d.end(), Ds.begin() + t * nn);
        if (t > 0) for (int64_t k = 0; k < nn; ++k) Bs[t * nn + k] = 0.4 * rng.normal() / n;
      }
      for (auto& v : bs) v = rng.normal();
      // dense reference
      const int N = H * n;
      std::vector<double> M((size_t)N * N), xd = bs;
      block_tridiag_to_dense(H, n, Ds.data(), Bs.data(), damping, M.data());
      ASSERT_TRUE(cholesky_ref(N, M.data(), N));
      cholesky_solve_ref(N, M.data(), N, xd.data());
      // CPU block solve
      std::vector<double> Lf((size_t)H * nn), C((size_t)H * nn), xc = bs;
      ASSERT_TRUE(block_tridiag_factor(H, n, Ds.data(), Bs.data(), damping, Lf.data(), C.data()));
      block_tridiag_solve(H, n, Lf.data(), C.data(), xc.data());
      D.insert(D.end(), Ds.begin(), Ds.end());
      B.insert(B.end(), Bs.begin(), Bs.end());
      b.insert(b.end(), bs.begin(), bs.end());
      x_dense.insert(x_dense.end(), xd.begin(), xd.end());
      x_cpu.insert(x_cpu.end(), xc.begin(), xc.end());
    }
    std::vector<double> x = b;
    ASSERT_TRUE(cuda::cuda_block_tridiag_solve(batch, H, n, D.data(), B.data(), damping, x.data()));
    std::string what = "H=" + std::to_string(H) + " n=" + std::to_string(n);
    expect_close(x, x_dense, 1e-9, 1e-7, "block tridiag vs dense, " + what);
    expect_close(x, x_cpu, 1e-10, 1e-8, "block tridiag vs CPU block solve, " + what);
  }
}

TEST(CudaBlockTridiag, NotPositiveDefiniteIsReportedWithSystemAndStep) {
  REQUIRE_GPU();
  const int batch = 3, H = 4, n = 5;
  const int64_t nn = n * n;
  std::vector<double> D((size_t)batch * H * nn), B((size_t)batch * H * nn, 0.0), b((size_t)batch * H * n, 1.0);
  for (int s = 0; s < batch; ++s)
    for (int t = 0; t < H; ++t)
      for (int i = 0; i < n; ++i) D[((size_t)s * H + t) * nn + i * n + i] = 1.0;
  D[((size_t)1 * H + 2) * nn + 0] = -1.0;  // system 1, step 2
  cuda::DeviceArray<double> dD(D.size()), dB(B.size()), db(b.size());
  dD.upload(D.data()); dB.upload(B.data()); db.upload(b.data());
  int sys = -2, step = -2;
  EXPECT_FALSE(cuda::block_tridiag_solve_device(batch, H, n, dD.data(), dB.data(), 0.0, db.data(), &sys, &step));
  EXPECT_EQ(sys, 1);
  EXPECT_EQ(step, 2);
}

#endif  // HAVE_CUDA
