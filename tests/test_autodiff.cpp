// Autodiff: every op's gradient against central differences (each broadcasting
// pattern, unaries away from kinks, reductions, shape ops, matmul/bmm with all
// transposes, convolutions, Normal helpers), forward values against plain loops,
// vjp_batched against per-row backward, NoGradGuard, accumulation, errors.
#include <gtest/gtest.h>

#include <cmath>

#include "autodiff/var.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "gradcheck.h"
#include "kernels/conv.h"
#include "kernels/gemm.h"

using namespace latco;
using ad::Var;
using test::gradcheck;
using test::random_tensor;
using test::weighted_sum;

namespace {

using Fn = std::function<Var(const std::vector<Var>&)>;

void expect_grad(const char* what, const Fn& f, const std::vector<Tensor>& xs, test::GradCheckOptions o = {}) {
  test::GradCheckResult r = gradcheck(f, xs, o, what);
  EXPECT_TRUE(r.ok) << r.report;
}

void expect_near_tensor(const Tensor& a, const Tensor& b, float tol, const char* what) {
  ASSERT_EQ(a.shape(), b.shape()) << what;
  for (int64_t i = 0; i < a.numel(); ++i) ASSERT_NEAR(a[i], b[i], tol * (1 + std::fabs(b[i]))) << what << " [" << i << "]";
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

// ----- broadcasting binary ops -----
TEST(Autodiff, BroadcastForwardValues) {
  Var a = ad::constant(Tensor::from({2, 3}, {1, 2, 3, 4, 5, 6}));
  Var b = ad::constant(Tensor::from({3}, {10, 20, 30}));
  Var c = ad::constant(Tensor::from({2, 1}, {100, 200}));
  Var s = a + b;
  EXPECT_EQ(s.shape(), (Shape{2, 3}));
  EXPECT_FLOAT_EQ(s.value()[4], 25.0f);
  Var m = a * c;
  EXPECT_FLOAT_EQ(m.value()[2], 300.0f);
  EXPECT_FLOAT_EQ(m.value()[3], 800.0f);
  Var o = b - c;  // (3) - (2,1) -> (2,3)
  EXPECT_EQ(o.shape(), (Shape{2, 3}));
  EXPECT_FLOAT_EQ(o.value()[5], 30.0f - 200.0f);
  Var d = a / ad::constant(Tensor::scalar(2.0f));
  EXPECT_FLOAT_EQ(d.value()[5], 3.0f);
}

TEST(Autodiff, BroadcastGradients) {
  struct Pattern { Shape a, b; };
  const std::vector<Pattern> patterns = {
      {{3, 4}, {3, 4}}, {{3, 4}, {4}}, {{3, 4}, {3, 1}}, {{2, 3, 4}, {1, 3, 1}}, {{3, 1}, {1, 4}},
      {{}, {3, 4}},     {{2, 1, 4}, {3, 1}}, {{2, 3, 4, 5}, {1, 3, 1, 1}}, {{4}, {2, 3, 4}}};
  int k = 0;
  for (const auto& p : patterns) {
    Tensor a = random_tensor(p.a, 10 + k), b = random_tensor(p.b, 20 + k);
    Tensor bpos = random_tensor(p.b, 30 + k, 0.5f, 2.0f);  // away from 0 for div
    std::string tag = shape_str(p.a) + " op " + shape_str(p.b);
    expect_grad(("add " + tag).c_str(), [](const std::vector<Var>& v) { return weighted_sum(v[0] + v[1]); }, {a, b});
    expect_grad(("sub " + tag).c_str(), [](const std::vector<Var>& v) { return weighted_sum(v[0] - v[1]); }, {a, b});
    expect_grad(("mul " + tag).c_str(), [](const std::vector<Var>& v) { return weighted_sum(v[0] * v[1]); }, {a, b});
    expect_grad(("div " + tag).c_str(), [](const std::vector<Var>& v) { return weighted_sum(v[0] / v[1]); },
                {a, bpos});
    // the mirrored pattern (b op a)
    expect_grad(("mul rev " + tag).c_str(), [](const std::vector<Var>& v) { return weighted_sum(v[1] * v[0]); },
                {a, b});
    ++k;
  }
}

TEST(Autodiff, ScalarOps) {
  Tensor x = random_tensor({3, 5}, 1);
  expect_grad("add_scalar", [](const std::vector<Var>& v) { return weighted_sum(v[0] + 3.0f); }, {x});
  expect_grad("mul_scalar", [](const std::vector<Var>& v) { return weighted_sum(v[0] * -2.5f); }, {x});
  expect_grad("neg/rsub", [](const std::vector<Var>& v) { return weighted_sum(1.0f - (-v[0])); }, {x});
  Var y = 2.0f * ad::constant(x) - 1.0f;
  EXPECT_FLOAT_EQ(y.value()[7], 2.0f * x[7] - 1.0f);
}

// ----- unary ops, on inputs away from kinks and outside domains' edges -----
TEST(Autodiff, UnaryGradients) {
  Tensor x = random_tensor({4, 6}, 2, -2.0f, 2.0f);
  Tensor pos = random_tensor({4, 6}, 3, 0.3f, 3.0f);
  Tensor nokink = random_tensor({4, 6}, 4, 0.1f, 2.0f);  // |x| in (0.1, 2), random signs
  for (int64_t i = 0; i < nokink.numel(); i += 2) nokink[i] = -nokink[i];
  struct U { const char* name; Var (*f)(const Var&); Tensor in; };
  const std::vector<U> us = {
      {"exp", ad::exp, x},   {"log", ad::log, pos},   {"tanh", ad::tanh, x},         {"sigmoid", ad::sigmoid, x},
      {"relu", ad::relu, nokink}, {"elu", ad::elu, nokink}, {"softplus", ad::softplus, x}, {"sqrt", ad::sqrt, pos},
      {"square", ad::square, x}, {"abs", ad::abs, nokink}};
  for (const U& u : us) {
    auto f = u.f;
    expect_grad(u.name, [f](const std::vector<Var>& v) { return weighted_sum(f(v[0])); }, {u.in});
  }
  Tensor m = random_tensor({4, 6}, 5, -2.0f, 2.0f);
  for (int64_t i = 0; i < m.numel(); ++i)
    if (std::fabs(m[i] - 0.5f) < 0.05f) m[i] = 0.7f;
  expect_grad("maximum", [](const std::vector<Var>& v) { return weighted_sum(ad::maximum(v[0], 0.5f)); }, {m});
}

TEST(Autodiff, UnaryForwardValues) {
  Tensor x = Tensor::from({5}, {-30.0f, -1.0f, 0.0f, 1.0f, 30.0f});
  Var c = ad::constant(x);
  Var sp = ad::softplus(c), sg = ad::sigmoid(c), el = ad::elu(c);
  for (int i = 0; i < 5; ++i) {
    const double v = x[i];
    EXPECT_NEAR(sp.value()[i], std::log1p(std::exp(v)), 1e-5 * (1 + std::fabs(v)));
    EXPECT_NEAR(sg.value()[i], 1.0 / (1.0 + std::exp(-v)), 1e-6);
    EXPECT_NEAR(el.value()[i], v > 0 ? v : std::expm1(v), 1e-6);
  }
  EXPECT_FLOAT_EQ(ad::maximum(c, 0.5f).value()[1], 0.5f);
}

// ----- reductions -----
TEST(Autodiff, Reductions) {
  Tensor x = random_tensor({2, 3, 4}, 6);
  expect_grad("sum", [](const std::vector<Var>& v) { return ad::sum(ad::square(v[0])); }, {x});
  expect_grad("mean", [](const std::vector<Var>& v) { return ad::mean(ad::square(v[0])); }, {x});
  for (int axis : {0, 1, 2, -1})
    for (bool keep : {false, true}) {
      std::string t = "axis " + std::to_string(axis) + (keep ? " keepdim" : "");
      expect_grad(("sum " + t).c_str(),
                  [axis, keep](const std::vector<Var>& v) { return weighted_sum(ad::sum(v[0], axis, keep)); }, {x});
      expect_grad(("mean " + t).c_str(),
                  [axis, keep](const std::vector<Var>& v) { return weighted_sum(ad::mean(v[0], axis, keep)); }, {x});
    }
  Var c = ad::constant(x);
  EXPECT_EQ(ad::sum(c, 1).shape(), (Shape{2, 4}));
  EXPECT_EQ(ad::sum(c, 1, true).shape(), (Shape{2, 1, 4}));
  EXPECT_EQ(ad::sum(c).shape(), (Shape{}));
  // sum over axis 1 at (1, :, 2) by hand
  double ref = 0;
  for (int j = 0; j < 3; ++j) ref += x[(1 * 3 + j) * 4 + 2];
  EXPECT_NEAR(ad::sum(c, 1).value()[1 * 4 + 2], ref, 1e-6);
  EXPECT_NEAR(ad::mean(c, -1).value()[5], (x[20] + x[21] + x[22] + x[23]) / 4.0, 1e-6);
}

// ----- shape ops -----
TEST(Autodiff, ShapeOps) {
  Tensor a = random_tensor({2, 3, 4}, 7), b = random_tensor({2, 1, 4}, 8), c = random_tensor({2, 2, 4}, 9);
  expect_grad("concat axis 1",
              [](const std::vector<Var>& v) { return weighted_sum(ad::concat({v[0], v[1], v[2]}, 1)); }, {a, b, c});
  Tensor d = random_tensor({2, 3, 2}, 10);
  expect_grad("concat axis -1", [](const std::vector<Var>& v) { return weighted_sum(ad::concat({v[0], v[1]}, -1)); },
              {a, d});
  Tensor e = random_tensor({1, 3, 4}, 11);
  expect_grad("concat axis 0", [](const std::vector<Var>& v) { return weighted_sum(ad::concat({v[0], v[1]}, 0)); },
              {a, e});
  expect_grad("slice", [](const std::vector<Var>& v) { return weighted_sum(ad::slice(v[0], 2, 1, 3)); }, {a});
  expect_grad("slice axis 0", [](const std::vector<Var>& v) { return weighted_sum(ad::slice(v[0], 0, 1, 2)); }, {a});
  expect_grad("reshape", [](const std::vector<Var>& v) { return weighted_sum(ad::reshape(v[0], {4, -1})); }, {a});
  expect_grad("transpose 0,2", [](const std::vector<Var>& v) { return weighted_sum(ad::transpose(v[0], 0, 2)); }, {a});
  expect_grad("transpose 1,2", [](const std::vector<Var>& v) { return weighted_sum(ad::transpose(v[0], 2, 1)); }, {a});
  Tensor f = random_tensor({2, 3, 4, 5}, 12);
  expect_grad("transpose 1,3", [](const std::vector<Var>& v) { return weighted_sum(ad::transpose(v[0], 1, 3)); }, {f});
  expect_grad("transpose 1,1", [](const std::vector<Var>& v) { return weighted_sum(ad::transpose(v[0], 1, -2)); }, {a});
  Tensor g = random_tensor({2, 3, 4}, 13);
  expect_grad("stack0", [](const std::vector<Var>& v) { return weighted_sum(ad::stack0({v[0], v[1], v[0]})); },
              {a, g});

  // forward values
  Var ca = ad::constant(a), cb = ad::constant(b);
  Var cat = ad::concat({ca, cb}, 1);
  EXPECT_EQ(cat.shape(), (Shape{2, 4, 4}));
  EXPECT_FLOAT_EQ(cat.value()[(1 * 4 + 3) * 4 + 2], b[(1 * 1 + 0) * 4 + 2]);
  EXPECT_FLOAT_EQ(cat.value()[(1 * 4 + 1) * 4 + 0], a[(1 * 3 + 1) * 4 + 0]);
  Var tr = ad::transpose(ca, 0, 2);
  EXPECT_EQ(tr.shape(), (Shape{4, 3, 2}));
  EXPECT_FLOAT_EQ(tr.value()[(3 * 3 + 1) * 2 + 1], a[(1 * 3 + 1) * 4 + 3]);
  Var sl = ad::slice(ca, 2, 1, 3);
  EXPECT_FLOAT_EQ(sl.value()[(1 * 3 + 2) * 2 + 1], a[(1 * 3 + 2) * 4 + 2]);
  Var st = ad::stack0({ca, ad::constant(g)});
  EXPECT_EQ(st.shape(), (Shape{2, 2, 3, 4}));
  EXPECT_FLOAT_EQ(st.value()[24 + 5], g[5]);
}

// ----- matmul / bmm with every transpose combination -----
TEST(Autodiff, MatmulAllTransposes) {
  const int M = 3, K = 4, N = 5;
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      Tensor a = random_tensor(ta ? Shape{K, M} : Shape{M, K}, 40 + ta), b = random_tensor(tb ? Shape{N, K} : Shape{K, N}, 50 + tb);
      std::string t = "matmul ta=" + std::to_string(ta) + " tb=" + std::to_string(tb);
      expect_grad(t.c_str(), [ta, tb](const std::vector<Var>& v) { return weighted_sum(ad::matmul(v[0], v[1], ta, tb)); },
                  {a, b});
      Var y = ad::matmul(ad::constant(a), ad::constant(b), ta, tb);
      ASSERT_EQ(y.shape(), (Shape{M, N}));
      Tensor ref({M, N});
      sgemm_ref(ta, tb, M, N, K, 1.0f, a.data(), ta ? M : K, b.data(), tb ? K : N, 0.0f, ref.data(), N);
      expect_near_tensor(y.value(), ref, 1e-5f, t.c_str());
    }
}

TEST(Autodiff, BmmAllTransposes) {
  const int B = 2, M = 3, K = 4, N = 2;
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      Tensor a = random_tensor(ta ? Shape{B, K, M} : Shape{B, M, K}, 60 + ta);
      Tensor b = random_tensor(tb ? Shape{B, N, K} : Shape{B, K, N}, 70 + tb);
      std::string t = "bmm ta=" + std::to_string(ta) + " tb=" + std::to_string(tb);
      expect_grad(t.c_str(), [ta, tb](const std::vector<Var>& v) { return weighted_sum(ad::bmm(v[0], v[1], ta, tb)); },
                  {a, b});
      Var y = ad::bmm(ad::constant(a), ad::constant(b), ta, tb);
      ASSERT_EQ(y.shape(), (Shape{B, M, N}));
      for (int i = 0; i < B; ++i) {  // each batch against matmul of the slices
        Var yi = ad::matmul(ad::constant(a.slice0(i, i + 1).reshape({-1, ta ? M : K})),
                            ad::constant(b.slice0(i, i + 1).reshape({-1, tb ? K : N})), ta, tb);
        expect_near_tensor(y.value().slice0(i, i + 1).reshape({M, N}), yi.value(), 1e-5f, t.c_str());
      }
    }
}

// ----- convolutions -----
TEST(Autodiff, Conv2dGradients) {
  struct G { int stride, pad, K; bool bias; };
  for (G g : {G{1, 0, 3, true}, G{2, 1, 3, true}, G{2, 0, 4, false}, G{1, 2, 3, true}}) {
    Tensor x = random_tensor({2, 3, 7, 6}, 80), w = random_tensor({4, 3, g.K, g.K}, 81), b = random_tensor({4}, 82);
    std::string t = "conv2d stride " + std::to_string(g.stride) + " pad " + std::to_string(g.pad);
    if (g.bias)
      expect_grad(t.c_str(), [g](const std::vector<Var>& v) {
        return weighted_sum(ad::conv2d(v[0], v[1], v[2], g.stride, g.pad));
      }, {x, w, b});
    else
      expect_grad(t.c_str(), [g](const std::vector<Var>& v) {
        return weighted_sum(ad::conv2d(v[0], v[1], Var(), g.stride, g.pad));
      }, {x, w});
  }
}

TEST(Autodiff, ConvTranspose2dGradients) {
  struct G { int stride, pad, K, out_pad; };
  for (G g : {G{1, 0, 3, 0}, G{2, 1, 3, 1}, G{2, 0, 4, 0}, G{3, 1, 5, 2}}) {
    Tensor x = random_tensor({2, 3, 4, 5}, 90), w = random_tensor({3, 2, g.K, g.K}, 91), b = random_tensor({2}, 92);
    std::string t = "conv_transpose2d stride " + std::to_string(g.stride) + " pad " + std::to_string(g.pad) +
                    " out_pad " + std::to_string(g.out_pad);
    expect_grad(t.c_str(), [g](const std::vector<Var>& v) {
      return weighted_sum(ad::conv_transpose2d(v[0], v[1], v[2], g.stride, g.pad, g.out_pad));
    }, {x, w, b});
  }
  // Shapes: (H-1)s - 2p + K + op
  Var y = ad::conv_transpose2d(ad::constant(Tensor::zeros({1, 3, 4, 5})), ad::constant(Tensor::zeros({3, 2, 3, 3})),
                               Var(), 2, 1, 1);
  EXPECT_EQ(y.shape(), (Shape{1, 2, 8, 10}));
}

// ----- Normal helpers -----
TEST(Autodiff, NormalHelpers) {
  Tensor m1 = random_tensor({3, 4}, 100), m2 = random_tensor({3, 4}, 101);
  Tensor s1 = random_tensor({3, 4}, 102, 0.3f, 2.0f), s2 = random_tensor({3, 4}, 103, 0.3f, 2.0f);
  Tensor x = random_tensor({3, 4}, 104, -2.0f, 2.0f), eps = random_tensor({3, 4}, 105, -2.0f, 2.0f);
  expect_grad("kl_normal", [](const std::vector<Var>& v) { return weighted_sum(ad::kl_normal(v[0], v[1], v[2], v[3])); },
              {m1, s1, m2, s2});
  expect_grad("normal_log_prob",
              [](const std::vector<Var>& v) { return weighted_sum(ad::normal_log_prob(v[0], v[1], v[2])); }, {x, m1, s1});
  expect_grad("sample_normal",
              [eps](const std::vector<Var>& v) { return weighted_sum(ad::square(ad::sample_normal(v[0], v[1], eps))); },
              {m1, s1});
  // closed forms
  Var kl = ad::kl_normal(ad::constant(m1), ad::constant(s1), ad::constant(m2), ad::constant(s2));
  Var lp = ad::normal_log_prob(ad::constant(x), ad::constant(m1), ad::constant(s1));
  Var sm = ad::sample_normal(ad::constant(m1), ad::constant(s1), eps);
  for (int i = 0; i < 12; ++i) {
    const double a = m1[i], b = m2[i], sa = s1[i], sb = s2[i], z = (x[i] - a) / sa;
    EXPECT_NEAR(kl.value()[i], std::log(sb / sa) + (sa * sa + (a - b) * (a - b)) / (2 * sb * sb) - 0.5, 1e-5);
    EXPECT_NEAR(lp.value()[i], -0.5 * z * z - std::log(sa) - 0.5 * std::log(2 * M_PI), 1e-5);
    EXPECT_NEAR(sm.value()[i], a + sa * eps[i], 1e-6);
  }
  // KL of identical Normals is 0, and broadcasting a (1,4) prior works
  Var self_kl = ad::kl_normal(ad::constant(m1), ad::constant(s1), ad::constant(m1), ad::constant(s1));
  for (int i = 0; i < 12; ++i) EXPECT_NEAR(self_kl.value()[i], 0.0f, 1e-6);
  Var kb = ad::kl_normal(ad::constant(m1), ad::constant(s1), ad::constant(Tensor::zeros({1, 4})),
                         ad::constant(Tensor::full({1, 4}, 1.0f)));
  EXPECT_EQ(kb.shape(), (Shape{3, 4}));
}

// ----- vjp_batched: S seeds at once equal S separate backward passes -----
TEST(Autodiff, VjpBatchedMatchesPerRowBackward) {
  Tensor xt = random_tensor({2, 3}, 110), wt = random_tensor({3, 4}, 111), zt = random_tensor({2, 4}, 112);
  Var x = ad::leaf(xt, true), w = ad::leaf(wt, true, "w"), z = ad::leaf(zt, true);
  Var h = ad::tanh(ad::matmul(x, w));
  Var y = ad::concat({h * z, ad::sum(h, 1, true)}, 1);  // (2, 5): z and x share paths; w is a parameter
  const int S = 4;
  Tensor seeds = random_tensor({S, y.value().numel()}, 113);
  w.grad().fill(7.0f);       // must be untouched by vjp_batched
  x.grad().fill(-1.0f);      // a leaf x's own accumulated grad must come back unchanged
  std::vector<Tensor> J = ad::vjp_batched(y, {x, z}, seeds);
  ASSERT_EQ(J.size(), 2u);
  EXPECT_EQ(J[0].shape(), (Shape{S, 6}));
  EXPECT_EQ(J[1].shape(), (Shape{S, 8}));
  for (int64_t i = 0; i < wt.numel(); ++i) ASSERT_EQ(w.grad()[i], 7.0f);
  for (int64_t i = 0; i < xt.numel(); ++i) ASSERT_EQ(x.grad()[i], -1.0f);
  for (int s = 0; s < S; ++s) {
    Var xs = ad::leaf(xt, true), zs = ad::leaf(zt, true), ws = ad::leaf(wt, true);
    Var hs = ad::tanh(ad::matmul(xs, ws));
    Var ys = ad::concat({hs * zs, ad::sum(hs, 1, true)}, 1);
    ad::backward(ys, seeds.slice0(s, s + 1).reshape(ys.shape()));
    for (int64_t i = 0; i < 6; ++i) ASSERT_NEAR(J[0][s * 6 + i], xs.grad()[i], 1e-6) << "s " << s << " x " << i;
    for (int64_t i = 0; i < 8; ++i) ASSERT_NEAR(J[1][s * 8 + i], zs.grad()[i], 1e-6) << "s " << s << " z " << i;
  }
  // An interior node as x: d y / d h (h feeds y directly and through the sum).
  std::vector<Tensor> Jh = ad::vjp_batched(y, {h}, seeds);
  for (int s = 0; s < S; ++s)
    for (int r = 0; r < 2; ++r)
      for (int c = 0; c < 4; ++c) {
        const float expect = seeds[s * 10 + r * 5 + c] * zt[r * 4 + c] + seeds[s * 10 + r * 5 + 4];
        ASSERT_NEAR(Jh[0][s * 8 + r * 4 + c], expect, 1e-6);
      }
  // The graph survives: a normal backward afterwards still works.
  ad::backward(ad::sum(y));
  EXPECT_TRUE(z.has_grad());
  EXPECT_THROW(ad::vjp_batched(y, {x}, Tensor::zeros({2, 3})), Error);
}

// ----- graph control -----
TEST(Autodiff, NoGradGuardBuildsNoGraph) {
  Var x = ad::leaf(random_tensor({3}, 120), true);
  {
    ad::NoGradGuard g;
    EXPECT_FALSE(ad::grad_enabled());
    Var y = ad::exp(x) * x;
    EXPECT_FALSE(y.requires_grad());
    EXPECT_TRUE(y.node()->inputs.empty());
    EXPECT_FALSE(static_cast<bool>(y.node()->backward));
    EXPECT_THROW(ad::backward(ad::sum(y)), Error);
  }
  EXPECT_TRUE(ad::grad_enabled());
  Var y = ad::exp(x) * x;
  EXPECT_TRUE(y.requires_grad());
  EXPECT_EQ(y.node()->inputs.size(), 2u);
  Var d = ad::detach(y);
  EXPECT_FALSE(d.requires_grad());
}

TEST(Autodiff, GradientsAccumulate) {
  Tensor xt = Tensor::from({2}, {1.5f, -0.5f});
  Var x = ad::leaf(xt, true);
  Var y = ad::sum(x * x + ad::mul_scalar(x, 3.0f));  // x used three times: dy/dx = 2x + 3
  ad::backward(y);
  EXPECT_FLOAT_EQ(x.grad()[0], 2 * 1.5f + 3);
  EXPECT_FLOAT_EQ(x.grad()[1], 2 * -0.5f + 3);
  ad::backward(y);  // a second backward adds again (non-destructive graph)
  EXPECT_FLOAT_EQ(x.grad()[0], 2 * (2 * 1.5f + 3));
  ad::zero_grad({x});
  EXPECT_FLOAT_EQ(x.grad()[0], 0.0f);
  // Interior grads are released after the sweep.
  Var h = ad::tanh(x);
  Var l = ad::sum(ad::square(h));
  ad::backward(l);
  EXPECT_FALSE(h.has_grad());
  EXPECT_TRUE(x.has_grad());
}

TEST(Autodiff, DeepGraphNoRecursion) {
  // A chain far deeper than any recursive walk (or recursive destructor) survives.
  Var x = ad::leaf(Tensor::full({4}, 0.5f), true);
  Var y = x;
  const int depth = 200000;
  for (int i = 0; i < depth; ++i) y = ad::add_scalar(y, 1e-6f);
  ad::backward(ad::sum(y));
  EXPECT_FLOAT_EQ(x.grad()[2], 1.0f);
  y = Var();  // releases the chain
}

TEST(Autodiff, ShapeErrorsNameOpAndShapes) {
  Var a = ad::constant(Tensor::zeros({2, 3})), b = ad::constant(Tensor::zeros({4, 3}));
  std::string m = error_of([&] { ad::add(a, b); });
  EXPECT_NE(m.find("add"), std::string::npos) << m;
  EXPECT_NE(m.find("(2,3)"), std::string::npos) << m;
  EXPECT_NE(m.find("(4,3)"), std::string::npos) << m;
  m = error_of([&] { ad::matmul(a, a); });
  EXPECT_NE(m.find("matmul"), std::string::npos) << m;
  EXPECT_NE(m.find("(2,3)"), std::string::npos) << m;
  m = error_of([&] { ad::concat({a, ad::constant(Tensor::zeros({2, 2, 1}))}, 0); });
  EXPECT_NE(m.find("concat"), std::string::npos) << m;
  m = error_of([&] { ad::slice(a, 1, 2, 5); });
  EXPECT_NE(m.find("slice"), std::string::npos) << m;
  m = error_of([&] { ad::sum(a, 2); });
  EXPECT_NE(m.find("axis 2"), std::string::npos) << m;
  m = error_of([&] {
    ad::conv2d(ad::constant(Tensor::zeros({1, 3, 8, 8})), ad::constant(Tensor::zeros({4, 2, 3, 3})), Var(), 1, 0);
  });
  EXPECT_NE(m.find("conv2d"), std::string::npos) << m;
  m = error_of([&] { ad::backward(a + b); });
  EXPECT_FALSE(m.empty());
  Var x = ad::leaf(Tensor::zeros({2, 3}), true);
  m = error_of([&] { ad::backward(x * 2.0f); });
  EXPECT_NE(m.find("one element"), std::string::npos) << m;
}

// ----- large tensors take the threaded paths: same as plain loops, for any thread count -----
TEST(Autodiff, LargeTensorsMatchPlainLoopsAndThreadCounts) {
  const int R = 300, C = 500;  // 150k elements: above the threading grain
  Tensor at = random_tensor({R, C}, 130), bt = random_tensor({R, C}, 131), ct = random_tensor({C}, 132),
         dt = random_tensor({R, 1}, 133, 0.5f, 1.5f);
  auto run = [&](int threads) {
    set_num_threads(threads);
    Var a = ad::leaf(at, true), b = ad::leaf(bt, true), c = ad::leaf(ct, true), d = ad::leaf(dt, true);
    Var y = ad::tanh((a * b + c) / d);  // (R,C): same-shape, row-broadcast and column-broadcast patterns
    Var l = ad::sum(ad::sum(y, 0)) + ad::mean(ad::sum(ad::square(y), 1, true));
    ad::backward(l);
    std::vector<Tensor> out = {y.value(), l.value(), a.grad(), b.grad(), c.grad(), d.grad()};
    return out;
  };
  const int saved = num_threads();
  std::vector<Tensor> t1 = run(1), t2 = run(2);
  set_num_threads(saved);
  for (size_t k = 0; k < t1.size(); ++k)
    for (int64_t i = 0; i < t1[k].numel(); ++i) ASSERT_EQ(t1[k][i], t2[k][i]) << "output " << k << " [" << i << "]";
  // Plain loops in double.
  std::vector<double> gc(C, 0.0), gd(R, 0.0);
  double lsum = 0, lsq = 0;
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < C; ++j) {
      const int i = r * C + j;
      const double u = (double(at[i]) * bt[i] + ct[j]) / dt[r], y = std::tanh(u);
      ASSERT_NEAR(t1[0][i], y, 1e-5);
      lsum += y;
      lsq += y * y;
      const double dl_dy = 1.0 + 2.0 * y / R, dl_du = dl_dy * (1 - y * y);
      ASSERT_NEAR(t1[2][i], dl_du * bt[i] / dt[r], 1e-4);
      ASSERT_NEAR(t1[3][i], dl_du * at[i] / dt[r], 1e-4);
      gc[j] += dl_du / dt[r];
      gd[r] -= dl_du * u / dt[r];
    }
  EXPECT_NEAR(t1[1][0], lsum + lsq / R, 1e-2);
  for (int j = 0; j < C; ++j) ASSERT_NEAR(t1[4][j], gc[j], 1e-3 * (1 + std::fabs(gc[j])));
  for (int r = 0; r < R; ++r) ASSERT_NEAR(t1[5][r], gd[r], 1e-3 * (1 + std::fabs(gd[r])));
}
