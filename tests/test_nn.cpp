// Layers, Adam and parameter files: each layer's gradients by finite differences,
// GRUCell against a hand-written forward, Adam against a hand-computed two-step
// update, clipping, NaN detection, save/load round trips, corrupted/truncated files.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/rng.h"
#include "gradcheck.h"
#include "nn/adam.h"
#include "nn/layers.h"
#include "nn/serialize.h"

using namespace latco;
using ad::Var;
using test::random_tensor;
using test::weighted_sum;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string tmp_path(const std::string& name) { return ::testing::TempDir() + "latco_test_nn_" + name; }

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream is(path, std::ios::binary);
  return std::vector<char>((std::istreambuf_iterator<char>(is)), std::istreambuf_iterator<char>());
}
void write_bytes(const std::string& path, const std::vector<char>& b) {
  std::ofstream os(path, std::ios::binary | std::ios::trunc);
  os.write(b.data(), static_cast<std::streamsize>(b.size()));
}

// Gradients of a module's parameters and of an input leaf by finite differences.
void expect_module_grads(const char* what, const nn::Module& m, Var x, const std::function<Var()>& loss) {
  std::vector<Var> vars = m.parameter_vars();
  vars.push_back(x);
  test::GradCheckResult r = test::gradcheck_vars(loss, vars, {}, what);
  EXPECT_TRUE(r.ok) << r.report;
}

// Nested modules for the naming test.
struct Block : nn::Module {
  nn::Conv2d conv1;
  nn::Linear fc;
  explicit Block(Rng& rng) : conv1(3, 4, 3, 1, 1, rng), fc(8, 2, rng) {
    register_module("conv1", conv1);
    register_module("fc", fc);
  }
};
struct Net : nn::Module {
  Block encoder;
  nn::Linear head;
  explicit Net(Rng& rng) : encoder(rng), head(2, 1, rng, /*bias=*/false) {
    register_module("encoder", encoder);
    register_module("head", head);
  }
};

}  // namespace

// ----- initialisation and registry -----
TEST(Module, NestedNamesInRegistrationOrder) {
  Rng rng(1);
  Net net(rng);
  std::vector<std::string> names;
  for (const auto& p : net.parameters()) names.push_back(p.first);
  EXPECT_EQ(names, (std::vector<std::string>{"encoder.conv1.w", "encoder.conv1.b", "encoder.fc.w", "encoder.fc.b",
                                             "head.w"}));
  EXPECT_EQ(net.num_parameters(), 4 * 3 * 9 + 4 + 8 * 2 + 2 + 2);
  // A copy shares the parameters; lookup by name works and a bad name lists the names.
  Var w = net.parameter("encoder.fc.w");
  EXPECT_EQ(w.node(), net.encoder.fc.w.node());
  std::string m = error_of([&] { net.parameter("encoder.fc.W"); });
  EXPECT_NE(m.find("encoder.fc.w"), std::string::npos) << m;
}

TEST(Module, GlorotUniformInit) {
  Rng rng(2);
  nn::Linear l(300, 200, rng);
  const float lim = std::sqrt(6.0f / 500.0f);
  double ss = 0;
  for (int64_t i = 0; i < l.w.value().numel(); ++i) {
    const float v = l.w.value()[i];
    ASSERT_LE(std::fabs(v), lim);
    ss += double(v) * v;
  }
  // Var(U(-l, l)) = l^2 / 3
  EXPECT_NEAR(ss / l.w.value().numel(), lim * lim / 3.0, 0.02 * lim * lim);
  for (int64_t i = 0; i < 200; ++i) EXPECT_EQ(l.b.value()[i], 0.0f);
  // Convs count the kernel area in both fans.
  Rng r2(3);
  nn::Conv2d c(8, 16, 4, 2, 1, r2);
  const float clim = std::sqrt(6.0f / float(8 * 16 + 16 * 16));
  float mx = 0;
  for (int64_t i = 0; i < c.w.value().numel(); ++i) mx = std::max(mx, std::fabs(c.w.value()[i]));
  EXPECT_LE(mx, clim);
  EXPECT_GT(mx, 0.9f * clim);
  // Same seed, same weights.
  Rng a(7), b(7);
  nn::Linear la(5, 6, a), lb(5, 6, b);
  for (int64_t i = 0; i < 30; ++i) EXPECT_EQ(la.w.value()[i], lb.w.value()[i]);
}

TEST(Module, WrappedTensorsShareStorage) {
  Tensor w = random_tensor({3, 2}, 4), b = random_tensor({2}, 5);
  nn::Linear l(w, b);
  EXPECT_EQ(l.in, 3);
  EXPECT_EQ(l.out, 2);
  w[0] = 42.0f;
  EXPECT_EQ(l.w.value()[0], 42.0f);
  l.w.mutable_value()[1] = -3.0f;
  EXPECT_EQ(w[1], -3.0f);
  EXPECT_THROW(nn::Linear(w, Tensor::zeros({3})), Error);
  EXPECT_THROW(nn::GRUCell(Tensor::zeros({4, 6}), Tensor::zeros({6}), Tensor::zeros({2, 5}), Tensor::zeros({6})), Error);
}

// ----- layer gradients -----
TEST(Layers, LinearForwardAndGradients) {
  Rng rng(10);
  nn::Linear l(4, 5, rng);
  l.b.mutable_value().copy_from(random_tensor({5}, 11));
  Var x = ad::leaf(random_tensor({3, 4}, 12), true);
  Var y = l(x);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 5; ++j) {
      double ref = l.b.value()[j];
      for (int k = 0; k < 4; ++k) ref += double(x.value()[i * 4 + k]) * l.w.value()[k * 5 + j];
      ASSERT_NEAR(y.value()[i * 5 + j], ref, 1e-5);
    }
  expect_module_grads("linear", l, x, [&] { return weighted_sum(l(x)); });
  Var x3 = ad::leaf(random_tensor({2, 3, 4}, 13), true);  // extra leading dims
  EXPECT_EQ(l(x3).shape(), (Shape{2, 3, 5}));
  expect_module_grads("linear 3-d", l, x3, [&] { return weighted_sum(l(x3)); });
  std::string m = error_of([&] { l(ad::constant(Tensor::zeros({3, 3}))); });
  EXPECT_NE(m.find("(3,3)"), std::string::npos) << m;
}

TEST(Layers, ConvGradients) {
  Rng rng(20);
  nn::Conv2d c(2, 3, 3, 2, 1, rng);
  c.b.mutable_value().copy_from(random_tensor({3}, 21));
  Var x = ad::leaf(random_tensor({2, 2, 6, 5}, 22), true);
  EXPECT_EQ(c(x).shape(), (Shape{2, 3, 3, 3}));
  expect_module_grads("conv2d", c, x, [&] { return weighted_sum(c(x)); });
  nn::ConvTranspose2d t(3, 2, 4, 2, 1, rng);
  t.b.mutable_value().copy_from(random_tensor({2}, 23));
  Var z = ad::leaf(random_tensor({2, 3, 3, 4}, 24), true);
  EXPECT_EQ(t(z).shape(), (Shape{2, 2, 6, 8}));
  expect_module_grads("conv_transpose2d", t, z, [&] { return weighted_sum(t(z)); });
}

TEST(Layers, GRUCellMatchesHandWrittenForward) {
  Rng rng(30);
  const int B = 2, I = 3, D = 4;
  nn::GRUCell g(I, D, rng);
  g.b_x.mutable_value().copy_from(random_tensor({3 * D}, 31));
  g.b_h.mutable_value().copy_from(random_tensor({3 * D}, 32));
  Tensor xt = random_tensor({B, I}, 33), ht = random_tensor({B, D}, 34);
  Var hn = g(ad::constant(xt), ad::constant(ht));
  ASSERT_EQ(hn.shape(), (Shape{B, D}));
  const Tensor &Wx = g.W_x.value(), &bx = g.b_x.value(), &Wh = g.W_h.value(), &bh = g.b_h.value();
  auto sig = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
  for (int b = 0; b < B; ++b)
    for (int d = 0; d < D; ++d) {
      double gx[3], gh[3];
      for (int gate = 0; gate < 3; ++gate) {
        const int col = gate * D + d;
        gx[gate] = bx[col];
        gh[gate] = bh[col];
        for (int k = 0; k < I; ++k) gx[gate] += double(xt[b * I + k]) * Wx[k * 3 * D + col];
        for (int k = 0; k < D; ++k) gh[gate] += double(ht[b * D + k]) * Wh[k * 3 * D + col];
      }
      const double r = sig(gx[0] + gh[0]), u = sig(gx[1] + gh[1]);
      const double n = std::tanh(gx[2] + r * gh[2]);
      const double ref = (1 - u) * n + u * ht[b * D + d];
      ASSERT_NEAR(hn.value()[b * D + d], ref, 1e-5) << "b " << b << " d " << d;
    }
  Var x = ad::leaf(xt, true), h = ad::leaf(ht, true);
  expect_module_grads("gru x", g, x, [&] { return weighted_sum(g(x, h)); });
  expect_module_grads("gru h", g, h, [&] { return weighted_sum(g(x, h)); });
}

TEST(Layers, MLPNamesAndGradients) {
  Rng rng(40);
  nn::MLP mlp({4, 6, 5, 3}, nn::Activation::ELU, rng, nn::Activation::Tanh);
  std::vector<std::string> names;
  for (const auto& p : mlp.parameters()) names.push_back(p.first);
  EXPECT_EQ(names, (std::vector<std::string>{"0.w", "0.b", "1.w", "1.b", "2.w", "2.b"}));
  for (auto& p : mlp.parameters())
    if (p.first.back() == 'b') Var(p.second).mutable_value().copy_from(random_tensor(p.second.shape(), 41));
  Var x = ad::leaf(random_tensor({3, 4}, 42), true);
  Var y = mlp(x);
  EXPECT_EQ(y.shape(), (Shape{3, 3}));
  for (int64_t i = 0; i < y.value().numel(); ++i) EXPECT_LT(std::fabs(y.value()[i]), 1.0f);  // tanh output
  expect_module_grads("mlp", mlp, x, [&] { return weighted_sum(mlp(x)); });
  // Wrapping the same tensors gives the same function.
  nn::MLP wrap({mlp.layers[0].w.value(), mlp.layers[1].w.value(), mlp.layers[2].w.value()},
               {mlp.layers[0].b.value(), mlp.layers[1].b.value(), mlp.layers[2].b.value()}, nn::Activation::ELU,
               nn::Activation::Tanh);
  Var y2 = wrap(x);
  for (int64_t i = 0; i < y.value().numel(); ++i) EXPECT_EQ(y.value()[i], y2.value()[i]);
  EXPECT_EQ(nn::parse_activation("relu"), nn::Activation::ReLU);
  EXPECT_THROW(nn::parse_activation("gelu"), Error);
}

// ----- Adam -----
TEST(Adam, MatchesHandComputedTwoSteps) {
  Tensor pt = Tensor::from({2}, {1.0f, -2.0f});
  Var p = ad::leaf(pt, true, "p");
  nn::AdamSettings s;
  s.lr = 0.1f;
  s.eps = 1e-3f;
  nn::Adam adam({{"p", p}}, s);
  const double g1[2] = {0.5, -1.0}, g2[2] = {0.1, 0.3};
  // Hand computation, step 1: m = 0.1 g, v = 0.001 g^2, m_hat = g, v_hat = g^2.
  //   p -= 0.1 * g / (|g| + 1e-3)
  // Step 2: m = 0.9 m1 + 0.1 g2, v = 0.999 v1 + 0.001 g2^2, m_hat = m / 0.19, v_hat = v / (1 - 0.999^2).
  double ref[2];
  for (int i = 0; i < 2; ++i) {
    double x = pt[i];
    x -= 0.1 * g1[i] / (std::fabs(g1[i]) + 1e-3);
    const double m = 0.9 * (0.1 * g1[i]) + 0.1 * g2[i];
    const double v = 0.999 * (0.001 * g1[i] * g1[i]) + 0.001 * g2[i] * g2[i];
    x -= 0.1 * (m / 0.19) / (std::sqrt(v / (1 - 0.999 * 0.999)) + 1e-3);
    ref[i] = x;
  }
  p.grad()[0] = float(g1[0]), p.grad()[1] = float(g1[1]);
  EXPECT_NEAR(adam.step(), std::sqrt(0.25 + 1.0), 1e-6);
  adam.zero_grad();
  p.grad()[0] = float(g2[0]), p.grad()[1] = float(g2[1]);
  adam.step();
  EXPECT_EQ(adam.step_count(), 2);
  EXPECT_NEAR(pt[0], ref[0], 1e-6);
  EXPECT_NEAR(pt[1], ref[1], 1e-6);
}

// One rule (nn::adam_update): the world model's Adam (its threaded CPU path) and the planners'
// FlatAdam take bit-identical steps from the same gradients, over several steps and a vector
// longer than one thread block.
TEST(Adam, FlatAdamTakesTheWorldModelsStep) {
  const int64_t n = 70001;
  Rng rng(7);
  Tensor x0({n});
  for (int64_t i = 0; i < n; ++i) x0[i] = float(rng.normal());
  Tensor pt = x0.clone();
  Var p = ad::leaf(pt, true, "p");
  nn::AdamSettings s;
  s.lr = 0.03f;
  s.beta1 = 0.8f;
  s.beta2 = 0.99f;
  s.eps = 1e-6f;
  s.clip = 0;  // FlatAdam does not clip
  nn::Adam adam({{"p", p}}, s);
  nn::FlatAdam flat;
  flat.lr = s.lr, flat.beta1 = s.beta1, flat.beta2 = s.beta2, flat.eps = s.eps;
  flat.resize(int(n));
  std::vector<float> x(x0.data(), x0.data() + n), g(n);
  for (int step = 0; step < 4; ++step) {
    for (int64_t i = 0; i < n; ++i) g[i] = float(rng.normal()) * (i % 7 == 0 ? 1e-4f : 1.0f);
    std::copy(g.begin(), g.end(), p.grad().data());
    adam.step();
    flat.step(x.data(), g.data());
  }
  EXPECT_EQ(flat.t, 4);
  const auto st = adam.state();
  int64_t differ = 0;
  for (int64_t i = 0; i < n; ++i)
    differ += x[i] != pt[i] || flat.m[i] != st[0].second[i] || flat.v[i] != st[1].second[i];
  EXPECT_EQ(differ, 0);
  EXPECT_NE(x[0], x0[0]);  // they moved
}

TEST(Adam, ClipsByGlobalNormAndSkipsMissingGrads) {
  Var a = ad::leaf(Tensor::zeros({2}), true), b = ad::leaf(Tensor::zeros({1}), true), c = ad::leaf(Tensor::zeros({3}), true);
  nn::AdamSettings s;
  s.clip = 100.0f;
  s.eps = 1.0f;  // large eps so the update depends on the gradient's size
  nn::Adam adam({{"a", a}, {"b", b}, {"c", c}}, s);
  a.grad()[0] = 120.0f, a.grad()[1] = 0.0f;
  b.grad()[0] = 160.0f;  // global norm 200 -> scale 0.5
  const float norm = adam.step();
  EXPECT_FLOAT_EQ(norm, 200.0f);
  auto st = adam.state();
  EXPECT_EQ(st[0].first, "a.adam_m");
  EXPECT_NEAR(st[0].second[0], 0.1f * 60.0f, 1e-4);  // m = (1 - b1) * clipped g
  EXPECT_NEAR(st[2].second[0], 0.1f * 80.0f, 1e-4);
  EXPECT_FALSE(c.has_grad());  // untouched: no grad, no update
  for (int i = 0; i < 3; ++i) EXPECT_EQ(c.value()[i], 0.0f);
  EXPECT_NEAR(b.value()[0], -s.lr * 80.0 / (80.0 + 1.0), 1e-7);
  // Below the clip, nothing is scaled.
  adam.zero_grad();
  b.grad()[0] = 3.0f;
  EXPECT_FLOAT_EQ(adam.step(), 3.0f);
  EXPECT_NEAR(adam.state()[2].second[0], 0.9f * 8.0f + 0.1f * 3.0f, 1e-4);
}

TEST(Adam, DetectsNonFiniteGradients) {
  Var a = ad::leaf(Tensor::full({2}, 1.0f), true), b = ad::leaf(Tensor::full({2}, 2.0f), true);
  nn::NamedVars ps = {{"enc.w", a}, {"dec.w", b}};
  nn::Adam adam(ps);
  a.grad().fill(0.5f);
  b.grad().fill(0.5f);
  EXPECT_EQ(nn::first_nonfinite_grad(ps), "");
  b.grad()[1] = NAN;
  EXPECT_EQ(nn::first_nonfinite_grad(ps), "dec.w");
  a.grad()[0] = INFINITY;
  EXPECT_EQ(nn::first_nonfinite_grad(ps), "enc.w");
  EXPECT_FALSE(std::isfinite(adam.step()));
  EXPECT_EQ(adam.step_count(), 0);  // update skipped, parameters untouched
  EXPECT_EQ(a.value()[0], 1.0f);
  EXPECT_EQ(b.value()[0], 2.0f);
}

// ----- parameter files -----
TEST(Serialize, RoundTripTensorsAndStreams) {
  nn::NamedTensors ts = {{"a", random_tensor({2, 3}, 50)}, {"scalar", Tensor::scalar(3.5f)},
                         {"empty", Tensor::zeros({0, 4})}, {"deep.name.x", random_tensor({2, 1, 2, 3}, 51)}};
  const std::string path = tmp_path("roundtrip.bin");
  nn::save_tensors(path, ts);
  EXPECT_FALSE(std::ifstream(path + ".tmp").good());  // the temporary was renamed away
  nn::NamedTensors back = nn::load_tensors(path);
  ASSERT_EQ(back.size(), ts.size());
  for (size_t i = 0; i < ts.size(); ++i) {
    EXPECT_EQ(back[i].first, ts[i].first);
    ASSERT_EQ(back[i].second.shape(), ts[i].second.shape());
    for (int64_t k = 0; k < ts[i].second.numel(); ++k) EXPECT_EQ(back[i].second[k], ts[i].second[k]);
  }
  // Two lists in one stream, read back in order.
  std::stringstream ss;
  nn::write_tensors(ss, ts);
  nn::write_tensors(ss, {{"b", Tensor::full({2}, 1.0f)}});
  EXPECT_EQ(nn::read_tensors(ss).size(), 4u);
  nn::NamedTensors second = nn::read_tensors(ss);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].first, "b");
  std::remove(path.c_str());
}

TEST(Serialize, ModuleAndAdamStateRoundTrip) {
  Rng r1(60), r2(61);
  nn::MLP a({3, 4, 2}, nn::Activation::ReLU, r1), b({3, 4, 2}, nn::Activation::ReLU, r2);
  nn::Adam opt_a(a.parameters()), opt_b(b.parameters());
  Tensor x = random_tensor({5, 3}, 62);
  auto train_step = [&](nn::MLP& m, nn::Adam& opt) {
    opt.zero_grad();
    ad::backward(ad::sum(ad::square(m(ad::constant(x)))));
    opt.step();
  };
  for (int i = 0; i < 3; ++i) train_step(a, opt_a);
  const std::string pp = tmp_path("params.bin"), ap = tmp_path("adam.bin");
  nn::save_parameters(pp, a);
  nn::save_tensors(ap, opt_a.state());
  nn::load_parameters(pp, b);
  opt_b.load_state(nn::load_tensors(ap), ap);
  EXPECT_EQ(opt_b.step_count(), 3);
  train_step(a, opt_a);
  train_step(b, opt_b);
  for (size_t k = 0; k < a.parameters().size(); ++k) {
    const Tensor &ta = a.parameters()[k].second.value(), &tb = b.parameters()[k].second.value();
    for (int64_t i = 0; i < ta.numel(); ++i) ASSERT_EQ(ta[i], tb[i]) << a.parameters()[k].first;
  }
  std::remove(pp.c_str());
  std::remove(ap.c_str());
}

TEST(Serialize, BadFilesThrowNamingFileAndTensor) {
  Rng rng(70);
  nn::Linear l(3, 2, rng);
  const std::string path = tmp_path("bad.bin");
  nn::save_parameters(path, l);
  const std::vector<char> good = read_bytes(path);

  // Every truncation point is an error, never a crash.
  for (size_t n = 0; n < good.size(); ++n) {
    write_bytes(path, std::vector<char>(good.begin(), good.begin() + n));
    std::string m = error_of([&] { nn::load_parameters(path, l); });
    ASSERT_FALSE(m.empty()) << "truncated at " << n;
    ASSERT_NE(m.find(path), std::string::npos) << m;
  }
  // A flipped bit in w's data: checksum error naming the tensor.
  std::vector<char> bad = good;
  bad[8 + 4 + 8 + 4 + 1 + 4 + 16 + 5] ^= 0x10;  // header, name "w", rank, dims, then into the data
  write_bytes(path, bad);
  std::string m = error_of([&] { nn::load_parameters(path, l); });
  EXPECT_NE(m.find("checksum"), std::string::npos) << m;
  EXPECT_NE(m.find("'w'"), std::string::npos) << m;
  // Corrupted rank / name length / magic / version.
  for (size_t at : {size_t(8 + 4 + 8 + 4 + 1), size_t(8 + 4 + 8), size_t(0), size_t(8)}) {
    bad = good;
    bad[at + 3] ^= 0x7f;
    bad[at] ^= 0x5a;
    write_bytes(path, bad);
    m = error_of([&] { nn::load_parameters(path, l); });
    EXPECT_NE(m.find(path), std::string::npos) << "byte " << at << ": " << m;
  }
  // Trailing garbage.
  bad = good;
  bad.push_back('x');
  write_bytes(path, bad);
  EXPECT_NE(error_of([&] { nn::load_parameters(path, l); }).find("trailing"), std::string::npos);
  // Shape mismatch, missing name, unexpected name.
  nn::save_tensors(path, {{"w", Tensor::zeros({2, 3})}, {"b", Tensor::zeros({2})}});
  m = error_of([&] { nn::load_parameters(path, l); });
  EXPECT_NE(m.find("'w'"), std::string::npos) << m;
  EXPECT_NE(m.find("(2,3)"), std::string::npos) << m;
  nn::save_tensors(path, {{"w", Tensor::zeros({3, 2})}});
  m = error_of([&] { nn::load_parameters(path, l); });
  EXPECT_NE(m.find("missing tensor 'b'"), std::string::npos) << m;
  nn::save_tensors(path, {{"w", Tensor::zeros({3, 2})}, {"b", Tensor::zeros({2})}, {"z", Tensor::zeros({1})}});
  m = error_of([&] { nn::load_parameters(path, l); });
  EXPECT_NE(m.find("'z'"), std::string::npos) << m;
  // A failed load leaves the parameters as they were.
  EXPECT_NE(l.w.value()[0], 0.0f);
  // Missing file.
  m = error_of([&] { nn::load_tensors(path + ".nope"); });
  EXPECT_NE(m.find(".nope"), std::string::npos) << m;
  // Adam state: missing / wrong-shape entries name the tensor.
  nn::Adam adam(l.parameters());
  auto st = adam.state();
  st.erase(st.begin());
  m = error_of([&] { adam.load_state(st, "ckpt.bin"); });
  EXPECT_NE(m.find("ckpt.bin"), std::string::npos) << m;
  EXPECT_NE(m.find("w.adam_m"), std::string::npos) << m;
  std::remove(path.c_str());
}
