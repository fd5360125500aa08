// Convolution kernels: the reference loops against finite differences and
// adjointness, then every fast (im2col + sgemm) kernel against its reference
// over odd shapes and the paper's encoder/decoder layers, on 1 and 2 threads.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "core/thread_pool.h"
#include "kernels/conv.h"

using namespace latco;

namespace {

std::vector<float> random_vec(size_t n, uint64_t seed) {
  Rng r = Rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = r.uniform(-1.0f, 1.0f);
  return v;
}

ConvShape conv_shape(int N, int C, int H, int W, int O, int K, int stride, int pad) {
  ConvShape s{};
  s.N = N, s.C = C, s.H = H, s.W = W, s.O = O, s.K = K, s.stride = stride, s.pad = pad;
  return s;
}
ConvShape tconv_shape(int N, int C, int H, int W, int O, int K, int stride, int pad, int out_pad) {
  ConvShape s = conv_shape(N, C, H, W, O, K, stride, pad);
  s.out_pad = out_pad;
  s.transposed = true;
  return s;
}

size_t in_size(const ConvShape& s) { return (size_t)s.N * s.C * s.H * s.W; }
size_t out_size(const ConvShape& s) { return (size_t)s.N * s.O * s.Ho() * s.Wo(); }
size_t w_size(const ConvShape& s) { return (size_t)s.O * s.C * s.K * s.K; }

double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) d += (double)a[i] * b[i];
  return d;
}

// One tolerance rule for every fast-vs-reference check: |a - b| <= atol + rtol * |b|.
void expect_close(const std::vector<float>& got, const std::vector<float>& ref, const char* what,
                  float atol = 2e-4f, float rtol = 1e-4f) {
  ASSERT_EQ(got.size(), ref.size()) << what;
  int bad = 0;
  for (size_t i = 0; i < got.size(); ++i)
    if (!(std::fabs(got[i] - ref[i]) <= atol + rtol * std::fabs(ref[i])) && bad++ < 5)
      ADD_FAILURE() << what << "[" << i << "]: got " << got[i] << ", want " << ref[i];
  EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << got.size() << " entries differ";
}

using Forward = void (*)(const ConvShape&, const float*, const float*, const float*, float*);
using Backward = void (*)(const ConvShape&, const float*, const float*, const float*, float*, float*, float*);

// Finite differences of L = <f(x, w, b), g> against the reference backward.
void check_ref_gradient(const ConvShape& s, Forward fwd, Backward bwd) {
  auto x = random_vec(in_size(s), 1), w = random_vec(w_size(s), 2), b = random_vec(s.O, 3);
  auto g = random_vec(out_size(s), 4);
  std::vector<float> dx(x.size(), 0.f), dw(w.size(), 0.f), db(b.size(), 0.f), y(out_size(s));
  bwd(s, x.data(), w.data(), g.data(), dx.data(), dw.data(), db.data());
  auto loss = [&] {
    fwd(s, x.data(), w.data(), b.data(), y.data());
    return dot(y, g);
  };
  const float eps = 1e-2f;
  auto check = [&](std::vector<float>& p, const std::vector<float>& grad, const char* name) {
    for (size_t i = 0; i < p.size(); ++i) {
      float old = p[i];
      p[i] = old + eps;
      double lp = loss();
      p[i] = old - eps;
      double lm = loss();
      p[i] = old;
      double fd = (lp - lm) / (2 * eps);
      EXPECT_NEAR(grad[i], fd, 2e-3 * (1 + std::fabs(fd))) << name << "[" << i << "]";
    }
  };
  check(x, dx, "dx");
  check(w, dw, "dw");
  check(b, db, "db");
}

}  // namespace

TEST(ConvRef, Conv2dBackwardMatchesFiniteDifferences) {
  check_ref_gradient(conv_shape(2, 2, 5, 4, 3, 3, 2, 1), conv2d_forward_ref, conv2d_backward_ref);
  check_ref_gradient(conv_shape(1, 3, 4, 5, 2, 2, 1, 0), conv2d_forward_ref, conv2d_backward_ref);
}

TEST(ConvRef, ConvTranspose2dBackwardMatchesFiniteDifferences) {
  check_ref_gradient(tconv_shape(2, 2, 3, 4, 3, 3, 2, 1, 1), conv_transpose2d_forward_ref,
                     conv_transpose2d_backward_ref);
  check_ref_gradient(tconv_shape(1, 3, 2, 2, 2, 4, 2, 0, 0), conv_transpose2d_forward_ref,
                     conv_transpose2d_backward_ref);
}

TEST(ConvRef, OutputSizes) {
  EXPECT_EQ(conv_shape(1, 3, 64, 64, 32, 4, 2, 0).Ho(), 31);
  EXPECT_EQ(conv_shape(1, 32, 31, 31, 64, 4, 2, 0).Ho(), 14);
  EXPECT_EQ(conv_shape(1, 128, 6, 6, 256, 4, 2, 0).Wo(), 2);
  EXPECT_EQ(tconv_shape(1, 1024, 1, 1, 128, 5, 2, 0, 0).Ho(), 5);
  EXPECT_EQ(tconv_shape(1, 128, 5, 5, 64, 5, 2, 0, 0).Ho(), 13);
  EXPECT_EQ(tconv_shape(1, 64, 13, 13, 32, 6, 2, 0, 0).Ho(), 30);
  EXPECT_EQ(tconv_shape(1, 32, 30, 30, 3, 6, 2, 0, 0).Wo(), 64);
}

TEST(ConvRef, BadShapesThrow) {
  std::vector<float> buf(4096);
  ConvShape s = conv_shape(1, 1, 3, 3, 1, 5, 1, 0);  // kernel larger than input: empty output
  EXPECT_THROW(conv2d_forward_ref(s, buf.data(), buf.data(), nullptr, buf.data()), Error);
  EXPECT_THROW(conv2d_forward(s, buf.data(), buf.data(), nullptr, buf.data()), Error);
  ConvShape t = conv_shape(1, 1, 3, 3, 1, 3, 1, 0);  // transposed flag not set
  EXPECT_THROW(conv_transpose2d_forward(t, buf.data(), buf.data(), nullptr, buf.data()), Error);
  t.transposed = true;
  t.out_pad = 1;  // out_pad must be < stride
  EXPECT_THROW(conv_transpose2d_forward(t, buf.data(), buf.data(), nullptr, buf.data()), Error);
}

// (N,C,H,W,O,K,stride,pad): odd sizes, stride 1/2, pad 0/1/2, K 1..6, the paper's encoder layers,
// and cases with several image groups (see make_plan in conv.cpp).
static const int kConvCases[][8] = {
    {2, 3, 7, 7, 4, 3, 1, 1},     {1, 2, 9, 8, 3, 4, 2, 0},      {3, 1, 5, 5, 2, 1, 1, 0},
    {2, 4, 11, 10, 5, 5, 2, 2},   {2, 3, 6, 6, 2, 6, 1, 2},      {1, 5, 13, 7, 3, 2, 2, 1},
    {2, 2, 12, 12, 7, 6, 2, 1},   {5, 17, 3, 4, 33, 3, 1, 1},    {2, 3, 64, 64, 32, 4, 2, 0},
    {2, 32, 31, 31, 64, 4, 2, 0}, {2, 64, 14, 14, 128, 4, 2, 0}, {2, 128, 6, 6, 256, 4, 2, 0},
    {3, 128, 34, 34, 3, 5, 1, 2},  // patch matrix > 16 MB per image: one image per GEMM group
    {9, 2, 18, 18, 3, 3, 1, 1},    // 9 groups of 1 image, run in parallel; 8 weight-gradient slices
    {50, 2, 7, 7, 3, 3, 1, 1},     // groups of 6 images, the last one short
    {2, 2, 26, 25, 3, 3, 3, 1},    // stride 3, rows of 9 (row loops without AVX-512, gathers with it)
    {2, 2, 56, 55, 3, 3, 3, 1},    // stride 3, rows of 19: the row loops everywhere
    {2, 3, 32, 32, 16, 4, 2, 1},   // the 32x32 model: rows of 16 and 8 (gathers under AVX-512)
    {2, 16, 16, 16, 32, 4, 2, 1},
};
// (N,C,H,W,O,K,stride,pad,out_pad): odd sizes and the paper's decoder layers.
static const int kTConvCases[][9] = {
    {2, 3, 5, 5, 4, 3, 2, 1, 1},       {1, 2, 4, 6, 3, 4, 2, 0, 0},       {2, 3, 3, 3, 2, 5, 1, 2, 0},
    {1, 4, 7, 5, 2, 6, 2, 2, 1},       {3, 5, 6, 6, 3, 1, 1, 0, 0},       {2, 7, 4, 3, 9, 2, 2, 1, 0},
    {2, 1024, 1, 1, 128, 5, 2, 0, 0},  {2, 128, 5, 5, 64, 5, 2, 0, 0},    {2, 64, 13, 13, 32, 6, 2, 0, 0},
    {2, 32, 30, 30, 3, 6, 2, 0, 0},
    {3, 2, 30, 30, 128, 6, 2, 0, 0},  // one image per GEMM group
    {9, 3, 16, 16, 2, 3, 1, 1, 0},    // 9 groups of 1 image in parallel
    {50, 2, 7, 7, 3, 2, 1, 0, 0},     // groups of 6 images, the last one short
    {2, 2, 8, 9, 3, 4, 3, 1, 2},      // stride 3, out_pad 2
    {2, 2, 18, 17, 3, 4, 3, 1, 2},    // stride 3, rows of 17: the row loops everywhere
    {2, 32, 8, 8, 16, 4, 2, 1, 0},    // the 32x32 model's decoder: 8 -> 16 -> 32
    {2, 16, 16, 16, 3, 4, 2, 1, 0},
    {6, 40, 1, 1, 16, 5, 2, 0, 0},    // 1x1 inputs, the kernel the whole output: GEMMs on NCHW itself
};

namespace {

// Fast forward and backward (accumulating into non-zero buffers) against the reference.
void check_fast(const ConvShape& s, Forward fwd, Forward fwd_ref, Backward bwd, Backward bwd_ref) {
  auto x = random_vec(in_size(s), 11), w = random_vec(w_size(s), 12), b = random_vec(s.O, 13);
  auto dy = random_vec(out_size(s), 14);
  std::vector<float> y(out_size(s), NAN), y_ref(out_size(s), NAN);
  fwd(s, x.data(), w.data(), b.data(), y.data());
  fwd_ref(s, x.data(), w.data(), b.data(), y_ref.data());
  expect_close(y, y_ref, "y");
  fwd(s, x.data(), w.data(), nullptr, y.data());
  fwd_ref(s, x.data(), w.data(), nullptr, y_ref.data());
  expect_close(y, y_ref, "y (no bias)");

  auto dx = random_vec(x.size(), 15), dw = random_vec(w.size(), 16), db = random_vec(b.size(), 17);
  auto dx_ref = dx, dw_ref = dw, db_ref = db;
  bwd(s, x.data(), w.data(), dy.data(), dx.data(), dw.data(), db.data());
  bwd_ref(s, x.data(), w.data(), dy.data(), dx_ref.data(), dw_ref.data(), db_ref.data());
  expect_close(dx, dx_ref, "dx");
  expect_close(dw, dw_ref, "dw");
  expect_close(db, db_ref, "db");

  // Each output alone (the others null).
  auto dx1 = dx, dw1 = dw, db1 = db;
  bwd(s, x.data(), w.data(), dy.data(), dx1.data(), nullptr, nullptr);
  bwd(s, x.data(), w.data(), dy.data(), nullptr, dw1.data(), nullptr);
  bwd(s, x.data(), w.data(), dy.data(), nullptr, nullptr, db1.data());
  bwd_ref(s, x.data(), w.data(), dy.data(), dx_ref.data(), dw_ref.data(), db_ref.data());
  expect_close(dx1, dx_ref, "dx alone");
  expect_close(dw1, dw_ref, "dw alone");
  expect_close(db1, db_ref, "db alone");

  // Bitwise identical on 1 and 2 threads.
  int saved = num_threads();
  std::vector<float> y1(out_size(s)), dx2(x.size(), 0.f), dw2(w.size(), 0.f), dx3(x.size(), 0.f),
      dw3(w.size(), 0.f);
  set_num_threads(1);
  fwd(s, x.data(), w.data(), b.data(), y1.data());
  bwd(s, x.data(), w.data(), dy.data(), dx2.data(), dw2.data(), nullptr);
  set_num_threads(2);
  fwd(s, x.data(), w.data(), b.data(), y.data());
  bwd(s, x.data(), w.data(), dy.data(), dx3.data(), dw3.data(), nullptr);
  set_num_threads(saved);
  EXPECT_EQ(y, y1) << "forward differs between 1 and 2 threads";
  EXPECT_EQ(dx2, dx3) << "dx differs between 1 and 2 threads";
  EXPECT_EQ(dw2, dw3) << "dw differs between 1 and 2 threads";
}

}  // namespace

TEST(ConvFast, Conv2dMatchesReference) {
  for (const auto& c : kConvCases) {
    ConvShape s = conv_shape(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]);
    SCOPED_TRACE(testing::Message() << "N,C,H,W,O,K,s,p = " << c[0] << "," << c[1] << "," << c[2] << "," << c[3]
                                    << "," << c[4] << "," << c[5] << "," << c[6] << "," << c[7]);
    check_fast(s, conv2d_forward, conv2d_forward_ref, conv2d_backward, conv2d_backward_ref);
  }
}

TEST(ConvFast, ConvTranspose2dMatchesReference) {
  for (const auto& c : kTConvCases) {
    ConvShape s = tconv_shape(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8]);
    SCOPED_TRACE(testing::Message() << "N,C,H,W,O,K,s,p,op = " << c[0] << "," << c[1] << "," << c[2] << ","
                                    << c[3] << "," << c[4] << "," << c[5] << "," << c[6] << "," << c[7] << ","
                                    << c[8]);
    check_fast(s, conv_transpose2d_forward, conv_transpose2d_forward_ref, conv_transpose2d_backward,
               conv_transpose2d_backward_ref);
  }
}

// conv_transpose2d with the same w is conv2d's adjoint: <conv(x), y> == <x, convT(y)>,
// and convT(y) equals conv2d_backward's dx for dy = y. Checked for the reference and fast kernels.
TEST(ConvFast, TransposeIsAdjointOfConv) {
  for (const auto& c : kConvCases) {
    ConvShape s = conv_shape(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]);
    int rem = (s.H + 2 * s.pad - s.K) % s.stride;
    if (rem != (s.W + 2 * s.pad - s.K) % s.stride) continue;  // no single out_pad recovers both sizes
    ConvShape t = tconv_shape(s.N, s.O, s.Ho(), s.Wo(), s.C, s.K, s.stride, s.pad, rem);
    ASSERT_EQ(t.Ho(), s.H);
    ASSERT_EQ(t.Wo(), s.W);
    auto x = random_vec(in_size(s), 21), w = random_vec(w_size(s), 22), yv = random_vec(out_size(s), 23);
    for (int fast = 0; fast < 2; ++fast) {
      std::vector<float> cx(out_size(s)), ty(in_size(s)), dx(in_size(s), 0.f);
      (fast ? conv2d_forward : conv2d_forward_ref)(s, x.data(), w.data(), nullptr, cx.data());
      (fast ? conv_transpose2d_forward : conv_transpose2d_forward_ref)(t, yv.data(), w.data(), nullptr, ty.data());
      (fast ? conv2d_backward : conv2d_backward_ref)(s, x.data(), w.data(), yv.data(), dx.data(), nullptr, nullptr);
      double lhs = dot(cx, yv), rhs = dot(x, ty);
      EXPECT_NEAR(lhs, rhs, 1e-4 * (1 + std::fabs(lhs))) << (fast ? "fast" : "ref");
      expect_close(ty, dx, fast ? "convT(y) vs conv2d dx (fast)" : "convT(y) vs conv2d dx (ref)");
    }
  }
}

// The decoder's first layer (1x1 inputs, no padding, a 5x5 kernel that is the whole output) runs as
// GEMMs on the NCHW arrays for batches of 4 or more; batches of 3 or fewer take the patch-matrix
// path. Each image's output and input gradient are the same bits either way (the same sums in the
// same order, over 2 blocks of 256 of the 400 patch rows); the weight gradient sums over the
// batch in both, against the reference above.
TEST(ConvFast, WholeKernelTransposedConvSameBitsAsPatchPath) {
  const ConvShape s6 = tconv_shape(6, 40, 1, 1, 16, 5, 2, 0, 0), s3 = tconv_shape(3, 40, 1, 1, 16, 5, 2, 0, 0);
  auto x = random_vec(in_size(s6), 31), w = random_vec(w_size(s6), 32), b = random_vec(s6.O, 33);
  auto dy = random_vec(out_size(s6), 34);
  std::vector<float> y6(out_size(s6)), y3(out_size(s3)), dx6(in_size(s6), 0.5f), dx3(in_size(s3), 0.5f);
  conv_transpose2d_forward(s6, x.data(), w.data(), b.data(), y6.data());
  conv_transpose2d_forward(s3, x.data(), w.data(), b.data(), y3.data());  // the first 3 images
  conv_transpose2d_backward(s6, x.data(), w.data(), dy.data(), dx6.data(), nullptr, nullptr);
  conv_transpose2d_backward(s3, x.data(), w.data(), dy.data(), dx3.data(), nullptr, nullptr);
  for (size_t i = 0; i < y3.size(); ++i) ASSERT_EQ(y6[i], y3[i]) << i;
  for (size_t i = 0; i < dx3.size(); ++i) ASSERT_EQ(dx6[i], dx3[i]) << i;
}
