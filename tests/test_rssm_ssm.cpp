// The "no deterministic latent" model (model_deterministic_path: false) is the released code's SSM:
// prior [s, a] -> Hd ELU -> Hd sigmoid -> (m, softplus + min_std); posterior [s~, e, a] -> Hd ELU ->
// Hd sigmoid -> (m, sd) with s~ a prior sample in training. Checked against plain loops here; its
// ELBO gradient in test_rssm.cpp, the planner's Jacobians in test_rssm_latent_model.cpp and
// test_rssm_jacobians_ref.cpp; image collocation on it here.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "gradcheck.h"
#include "core/error.h"
#include "model/elbo.h"
#include "model/rssm.h"
#include "model/rssm_latent_model.h"
#include "plan/collocation/image_collocation.h"
#include "plan/planner.h"

using namespace latco;

namespace {

constexpr int S = 4, Hd = 6, A = 2, kSize = 16;

RssmSettings ssm_settings() {
  RssmSettings s;
  s.stoch = S, s.hidden = Hd, s.depth = 2, s.image_size = kSize, s.reward_hidden = 5;
  s.deterministic_path = false;
  return s;
}

double elu(double x) { return x > 0 ? x : std::expm1(x); }
double sigm(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double softplus(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }

// act(x W + b) for one row; W (in, out) row-major, b may be undefined.
std::vector<double> dense(const std::vector<double>& x, const Tensor& W, const Tensor* b, int out,
                          double (*act)(double)) {
  std::vector<double> y(out);
  for (int j = 0; j < out; ++j) {
    double acc = b && b->defined() ? (*b)[j] : 0.0;
    for (size_t k = 0; k < x.size(); ++k) acc += x[k] * W[int64_t(k) * out + j];
    y[j] = act ? act(acc) : acc;
  }
  return y;
}

// The released SigmoidPredictor with 2 layers: in -> Hd ELU -> Hd sigmoid -> (m, softplus + 0.1).
// `first` is the first layer's pre-activation (the posterior's sums two products).
void head(const Rssm& model, const std::string& pre, const std::vector<double>& first, const Tensor& W2,
          const Tensor& b2, std::vector<double>* m, std::vector<double>* sd) {
  std::vector<double> x(first.size());
  for (size_t j = 0; j < x.size(); ++j) x[j] = elu(first[j]);
  const std::vector<double> y = dense(x, W2, &b2, Hd, sigm);
  const Tensor bm = model.parameter(pre + ".mean.b").value(), bs = model.parameter(pre + ".std.b").value();
  *m = dense(y, model.parameter(pre + ".mean.w").value(), &bm, S, nullptr);
  *sd = dense(y, model.parameter(pre + ".std.w").value(), &bs, S, nullptr);
  for (double& v : *sd) v = softplus(v) + 0.1;
}

// Random biases everywhere (init leaves them 0), written through the shared storage.
void randomise_biases(Rssm& model, uint64_t seed) {
  Rng rng(seed);
  for (const auto& [name, v] : model.parameters())
    if (name.size() > 2 && name.compare(name.size() - 2, 2, ".b") == 0) {
      Tensor t = ad::Var(v).value();
      for (int64_t i = 0; i < t.numel(); ++i) t[i] = rng.uniform(-0.5f, 0.5f);
    }
}

}  // namespace

TEST(Ssm, LayersAreTheReleasedOnes) {
  Rssm model(ssm_settings(), A, 1);
  EXPECT_EQ(model.latent_dim(), S);
  EXPECT_EQ(model.parameter("prior.in.w").value().shape(), (Shape{S + A, Hd}));
  EXPECT_EQ(model.parameter("prior.hidden.w").value().shape(), (Shape{Hd, Hd}));
  EXPECT_EQ(model.parameter("posterior.u.w").value().shape(), (Shape{S + A, Hd}));  // [s~, a]
  EXPECT_EQ(model.parameter("posterior.e.w").value().shape(), (Shape{model.embed_dim(), Hd}));
  EXPECT_EQ(model.parameter("posterior.hidden.w").value().shape(), (Shape{Hd, Hd}));
  EXPECT_EQ(model.noise_shape(3, 2), (Shape{3, 2, 2, S}));  // per step: posterior, then prior noise
  // The RSSM keeps one draw per step and has no second posterior layer.
  Rssm rssm(RssmSettings{}, A, 1);
  EXPECT_EQ(rssm.noise_shape(3, 2), (Shape{3, 2, 30}));
  EXPECT_THROW(rssm.parameter("posterior.hidden.w"), Error);
}

// Two filtered steps against plain loops: the prior on the previous posterior sample, the
// posterior on [prior sample, embedding, action], every sample from the given noise.
TEST(Ssm, ObserveIsTheReleasedFilter) {
  Rssm model(ssm_settings(), A, 2);
  randomise_biases(model, 3);
  const int L = 2, B = 2;
  Tensor images = test::random_tensor({L * B, 3, kSize, kSize}, 4, -0.5f, 0.5f);
  Tensor actions = test::random_tensor({L, B, A}, 5);
  Tensor eps = test::random_tensor(model.noise_shape(L, B), 6);
  ad::NoGradGuard ng;
  const RssmSequence seq = model.observe(images, actions, eps);
  const Tensor emb = model.encode(ad::constant(images)).value();  // (L*B, E)
  const int E = model.embed_dim();
  const Tensor b_u = model.parameter("posterior.u.b").value();
  for (int b = 0; b < B; ++b) {
    std::vector<double> s(S, 0.0);  // the zero initial state
    for (int t = 0; t < L; ++t) {
      const int row = t * B + b;
      std::vector<double> sa(s), a(A);
      for (int k = 0; k < A; ++k) a[k] = actions[row * A + k];
      sa.insert(sa.end(), a.begin(), a.end());
      std::vector<double> pm, psd, qm, qsd;
      head(model, "prior", dense(sa, model.parameter("prior.in.w").value(), &model.parameter("prior.in.b").value(),
                                 Hd, nullptr),
           model.parameter("prior.hidden.w").value(), model.parameter("prior.hidden.b").value(), &pm, &psd);
      std::vector<double> u(S + A), e(E);  // [s~, a], s~ = m + sd eps_prior
      for (int k = 0; k < S; ++k) u[k] = pm[k] + psd[k] * eps[((t * 2 + 1) * B + b) * S + k];
      for (int k = 0; k < A; ++k) u[S + k] = a[k];
      for (int k = 0; k < E; ++k) e[k] = emb[int64_t(row) * E + k];
      std::vector<double> first = dense(u, model.parameter("posterior.u.w").value(), &b_u, Hd, nullptr);
      const std::vector<double> fe = dense(e, model.parameter("posterior.e.w").value(), nullptr, Hd, nullptr);
      for (int j = 0; j < Hd; ++j) first[j] += fe[j];
      head(model, "posterior", first, model.parameter("posterior.hidden.w").value(),
           model.parameter("posterior.hidden.b").value(), &qm, &qsd);
      for (int k = 0; k < S; ++k) {
        const int64_t i = int64_t(row) * S + k;
        EXPECT_NEAR(seq.prior_m.value()[i], pm[k], 1e-5) << "prior m t" << t << " b" << b;
        EXPECT_NEAR(seq.prior_sd.value()[i], psd[k], 1e-5) << "prior sd t" << t << " b" << b;
        EXPECT_NEAR(seq.post_m.value()[i], qm[k], 1e-5) << "posterior m t" << t << " b" << b;
        EXPECT_NEAR(seq.post_sd.value()[i], qsd[k], 1e-5) << "posterior sd t" << t << " b" << b;
        s[k] = qm[k] + qsd[k] * eps[((t * 2) * B + b) * S + k];
        EXPECT_NEAR(seq.s.value()[i], s[k], 1e-5) << "sample t" << t << " b" << b;
      }
    }
  }
  EXPECT_FALSE(seq.h.defined());
  // The prior noise matters: with a different prior draw the posterior moves.
  Tensor eps2 = eps.clone();
  for (int k = 0; k < B * S; ++k) eps2[B * S + k] += 1.0f;  // step 0's prior draws
  EXPECT_NE(model.observe(images, actions, eps2).post_m.value()[0], seq.post_m.value()[0]);
  // Noise of the RSSM's shape is refused with the expected shape named.
  try {
    model.observe(images, actions, Tensor::zeros({L, B, S}));
    FAIL() << "no throw";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("expected (2,2,2,4)"), std::string::npos) << err.what();
  }
}

// Acting filters without noise: the posterior reads the prior mean and the state is its mean,
// the same as observe with zero noise.
TEST(Ssm, FilterStepMatchesObserveWithZeroNoise) {
  Rssm model(ssm_settings(), A, 7);
  randomise_biases(model, 8);
  const int L = 3, HW = kSize * kSize;
  std::vector<uint8_t> bytes(size_t(L) * HW * 3);  // (L, H, W, 3) frames
  Rng rng(9);
  for (uint8_t& v : bytes) v = uint8_t(rng.below(256));
  Tensor images({L, 3, kSize, kSize});  // the filter's conversion: byte / 255 - 0.5, channels first
  for (int t = 0; t < L; ++t)
    for (int p = 0; p < HW; ++p)
      for (int c = 0; c < 3; ++c)
        images[(int64_t(t) * 3 + c) * HW + p] = bytes[(size_t(t) * HW + p) * 3 + c] * (1.0f / 255.0f) - 0.5f;
  Tensor actions = test::random_tensor({L, 1, A}, 10);
  ad::NoGradGuard ng;
  const RssmSequence seq = model.observe(images, actions, Tensor::zeros(model.noise_shape(L, 1)));
  RssmState st = model.initial_state();
  std::vector<float> z(S);
  for (int t = 0; t < L; ++t) {
    st = model.filter_step(st, &actions[t * A], &bytes[size_t(t) * HW * 3]);
    model.latent(st, z.data());
    for (int k = 0; k < S; ++k) EXPECT_NEAR(z[k], seq.post_m.value()[t * S + k], 1e-5) << "t" << t;
  }
}

// ModelTrainer draws the SSM's two noise tensors per step from its seeded stream: the same seed
// gives the same losses bit for bit, and a few steps on one batch lower the loss.
TEST(Ssm, TrainerStepsAreReproducibleAndLowerTheLoss) {
  SequenceBatch b;
  b.resize(2, 4, kSize, kSize, A);
  Rng rng(11);
  for (uint8_t& v : b.image) v = uint8_t(rng.below(256));
  for (float& v : b.action) v = rng.uniform(-1.0f, 1.0f);
  for (float& v : b.reward) v = rng.uniform(0.0f, 1.0f);
  auto run = [&](uint64_t seed) {
    RssmSettings st = ssm_settings();
    st.lr = 3e-3f;
    Rssm model(st, A, seed);
    ModelTrainer trainer(model, seed + 1);
    std::vector<double> losses;
    for (int k = 0; k < 30; ++k) losses.push_back(trainer.step(b).loss);
    return losses;
  };
  const std::vector<double> a = run(12), again = run(12);
  EXPECT_EQ(a, again);
  EXPECT_LT(a.back(), a.front());
}

// Image collocation filters its planned images through the SSM's prior and posterior (the
// posterior on the prior mean) and reports the rollout of its actions through the planner's view.
TEST(Ssm, ImageCollocationPlansOnTheSsm) {
  Rssm model(ssm_settings(), A, 13);
  const int H = 3;
  ImageCollocationSettings s;
  s.iterations = 30;
  s.dual_lr = 0;
  s.lambda_init = 1000.0;  // the image-dynamics term dominates and must fall
  ImageCollocation ic(model, H, s);
  std::vector<float> z0(S, 0.3f);
  const PlanResult& res = ic.plan(z0.data(), 4);
  EXPECT_LT(res.iters.back().dyn_violation, res.iters.front().dyn_violation);
  RssmLatentModel view(model.transition());
  std::vector<float> lat((H + 1) * S);
  EXPECT_NEAR(res.predicted_return, rollout_return(view, z0.data(), res.actions.data(), H, lat.data()), 1e-5);
}
