// The world model: conv stack shapes for each image size, the prior step against the
// plain-loop math of transition_weights.h (whose tensors it must share), the whole
// ELBO's gradient against finite differences, filter_step against observe, overfitting
// a few sequences, bit-exact reproducibility, NaN reporting. Tiny sizes throughout.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/thread_pool.h"
#include "gradcheck.h"
#include "model/elbo.h"

using namespace latco;

namespace {

RssmSettings tiny(int image = 16) {
  RssmSettings s;
  s.stoch = 4;
  s.deter = 8;
  s.hidden = 8;
  s.depth = 2;
  s.image_size = image;
  s.reward_hidden = 8;
  s.batch = 3;
  s.length = 5;
  s.lr = 3e-3f;
  return s;
}

// Learnable toy sequences: a bright square moving by the action on a dark background,
// reward 1 when it sits in the right half.
SequenceBatch toy_batch(int B, int L, int size, int A, uint64_t seed) {
  SequenceBatch b;
  b.resize(B, L, size, size, A);
  Rng rng(seed);
  for (int i = 0; i < B; ++i) {
    int x = int(rng.below(size - 4)), y = int(rng.below(size - 4));
    for (int t = 0; t < L; ++t) {
      float* a = &b.action[(size_t(i) * L + t) * A];
      if (t > 0) {
        for (int k = 0; k < A; ++k) a[k] = rng.uniform(-1.0f, 1.0f);
        x = std::min(std::max(x + int(std::lround(2 * a[0])), 0), size - 4);
        y = std::min(std::max(y + int(std::lround(2 * a[1 % A])), 0), size - 4);
      }
      uint8_t* im = &b.image[(size_t(i) * L + t) * size * size * 3];
      for (int p = 0; p < size * size; ++p) {
        const int r = p / size, c = p % size;
        const bool in = r >= y && r < y + 4 && c >= x && c < x + 4;
        im[p * 3 + 0] = in ? 230 : 20;
        im[p * 3 + 1] = in ? 200 : 40;
        im[p * 3 + 2] = in ? 40 : 60;
      }
      b.reward[size_t(i) * L + t] = x >= size / 2 ? 1.0f : 0.0f;
    }
  }
  return b;
}

float elu(float x) { return x > 0 ? x : std::expm1(x); }
float sigm(float x) { return 1.0f / (1.0f + std::exp(-x)); }
float softplus(float x) { return x > 20 ? x : std::log1p(std::exp(x)); }

// Plain loops over transition_weights.h's math: one prior step for one row.
void prior_ref(const TransitionWeights& w, const float* s, const float* h, const float* a, float* h_next,
               float* m, float* sd) {
  const int S = w.sz.stoch, D = w.sz.deter, Hd = w.sz.hidden, A = w.sz.action;
  std::vector<float> in(S + A), x(Hd), gx(3 * D), gh(3 * D), y(Hd);
  for (int i = 0; i < S; ++i) in[i] = s[i];
  for (int i = 0; i < A; ++i) in[S + i] = a[i];
  for (int j = 0; j < Hd; ++j) {
    float acc = w.b_in[j];
    for (int i = 0; i < S + A; ++i) acc += in[i] * w.W_in[i * Hd + j];
    x[j] = elu(acc);
  }
  for (int j = 0; j < 3 * D; ++j) {
    float ax = w.b_x[j], ah = w.b_h[j];
    for (int i = 0; i < Hd; ++i) ax += x[i] * w.W_x[i * 3 * D + j];
    for (int i = 0; i < D; ++i) ah += h[i] * w.W_h[i * 3 * D + j];
    gx[j] = ax;
    gh[j] = ah;
  }
  for (int d = 0; d < D; ++d) {
    const float r = sigm(gx[d] + gh[d]), u = sigm(gx[D + d] + gh[D + d]);
    const float n = std::tanh(gx[2 * D + d] + r * gh[2 * D + d]);
    h_next[d] = (1 - u) * n + u * h[d];
  }
  for (int j = 0; j < Hd; ++j) {
    float acc = w.b_p[j];
    for (int i = 0; i < D; ++i) acc += h_next[i] * w.W_p[i * Hd + j];
    y[j] = elu(acc);
  }
  for (int k = 0; k < S; ++k) {
    float am = w.b_m[k], as = w.b_s[k];
    for (int j = 0; j < Hd; ++j) {
      am += y[j] * w.W_m[j * S + k];
      as += y[j] * w.W_s[j * S + k];
    }
    m[k] = am;
    sd[k] = softplus(as) + w.sz.min_std;
  }
}

}  // namespace

TEST(Rssm, ConvStacksForEachImageSize) {
  for (int size : {16, 32, 64}) {
    RssmSettings s = tiny(size);
    Rssm model(s, 3, 1);
    ad::NoGradGuard ng;
    Tensor img = test::random_tensor({2, 3, size, size}, 5, -0.5f, 0.5f);
    ad::Var e = model.encode(ad::constant(img));
    EXPECT_EQ(e.shape(), (Shape{2, model.embed_dim()})) << size;
    EXPECT_EQ(model.embed_dim(), size == 16 ? 8 * s.depth : 32 * s.depth) << size;
    ad::Var dec = model.decode(ad::constant(test::random_tensor({2, model.latent_dim()}, 6)));
    EXPECT_EQ(dec.shape(), (Shape{2, 3, size, size})) << size;
  }
  RssmSettings bad = tiny(24);
  EXPECT_THROW(Rssm(bad, 3, 1), Error);
}

TEST(Rssm, PriorStepIsTheTransitionWeightsMathOnSharedStorage) {
  Rssm model(tiny(), 3, 7);
  const TransitionWeights& w = model.transition();
  // Parameters are views of the TransitionWeights tensors: an update through the Var shows there.
  ad::Var win = model.parameter("prior.in.w");
  EXPECT_EQ(win.value().data(), w.W_in.data());
  EXPECT_EQ(model.parameter("reward.2.w").value().data(), w.R3.data());
  Tensor bx = w.b_x;  // shares storage
  for (int64_t i = 0; i < bx.numel(); ++i) bx[i] = 0.1f * float(i % 5) - 0.2f;  // nonzero biases

  const int N = 3, S = 4, D = 8, A = 3;
  Tensor s = test::random_tensor({N, S}, 1), h = test::random_tensor({N, D}, 2), a = test::random_tensor({N, A}, 3);
  ad::NoGradGuard ng;
  ad::Var hn, m, sd, u;
  model.prior_step(ad::constant(s), ad::constant(h), ad::constant(a), hn, m, sd, u);
  for (int n = 0; n < N; ++n) {
    float rh[8], rm[4], rs[4];
    prior_ref(w, s.data() + n * S, h.data() + n * D, a.data() + n * A, rh, rm, rs);
    for (int i = 0; i < D; ++i) EXPECT_NEAR(hn.value()[n * D + i], rh[i], 1e-5);
    for (int i = 0; i < S; ++i) {
      EXPECT_NEAR(m.value()[n * S + i], rm[i], 1e-5);
      EXPECT_NEAR(sd.value()[n * S + i], rs[i], 1e-5);
    }
  }
  // Reward head: ELU(ELU(z R1 + c1) R2 + c2) R3 + c3.
  Tensor z = test::random_tensor({1, S + D}, 4);
  const int Hr = w.sz.reward_hidden;
  std::vector<float> l1(Hr), l2(Hr);
  for (int j = 0; j < Hr; ++j) {
    float acc = w.c1[j];
    for (int i = 0; i < S + D; ++i) acc += z[i] * w.R1[i * Hr + j];
    l1[j] = elu(acc);
  }
  float r = w.c3[0];
  for (int j = 0; j < Hr; ++j) {
    float acc = w.c2[j];
    for (int i = 0; i < Hr; ++i) acc += l1[i] * w.R2[i * Hr + j];
    r += elu(acc) * w.R3[j];
  }
  EXPECT_NEAR(model.reward(ad::constant(z)).item(), r, 1e-5);
}

TEST(Rssm, ElboGradientMatchesFiniteDifferences) {
  for (bool det : {true, false}) {
    RssmSettings st = tiny();
    st.deterministic_path = det;
    Rssm model(st, 2, 3);
    SequenceBatch b = toy_batch(2, 3, 16, 2, 9);
    Tensor images, actions, rewards;
    model.batch_tensors(b, images, actions, rewards);
    Tensor eps = test::random_tensor(model.noise_shape(3, 2), 10);  // without D: also the prior samples'
    // free_nats 0 keeps the loss smooth; the KL floor is checked by the overfit test's numbers.
    auto loss = [&]() { return elbo_loss(model, images, actions, rewards, eps, 0.0f).loss; };
    model.zero_grad();
    ad::backward(loss());
    // Central differences on a spread of elements of every parameter tensor. ReLU kinks
    // make a difference quotient wrong when a pre-activation crosses zero inside the step;
    // that happens at some step sizes, a wrong gradient shows at all of them: an element
    // passes when one of four step sizes agrees.
    for (const auto& [name, v] : model.parameters()) {
      ad::Var p = v;
      Tensor val = p.value();
      std::vector<double> an, nu;
      const int64_t n = val.numel(), stride = std::max<int64_t>(1, n / 6);
      for (int64_t i = 0; i < n; i += stride) {
        const float x0 = val[i];
        const double g = p.has_grad() ? p.grad()[i] : 0.0;
        double best = 0, best_err = INFINITY;
        for (float e : {3e-4f, 1e-3f, 3e-3f, 1e-2f}) {
          double fp, fm;
          {
            ad::NoGradGuard ng;
            val.data()[i] = x0 + e;
            fp = loss().item();
            val.data()[i] = x0 - e;
            fm = loss().item();
          }
          val.data()[i] = x0;
          const double d = (fp - fm) / (double(x0 + e) - double(x0 - e));
          if (std::fabs(d - g) < best_err) best_err = std::fabs(d - g), best = d;
        }
        an.push_back(g);
        nu.push_back(best);
      }
      auto r = test::compare_arrays(an, nu, 5e-2, 2e-2, std::string(det ? "" : "no-det ") + name);
      EXPECT_TRUE(r.ok) << r.report;
    }
  }
}

// The image likelihood's std sigma: ln p(o|z) = -0.5 |o - m|^2 / sigma^2 - n (0.5 ln 2 pi + ln sigma),
// so the reducible image term scales by 1 / sigma^2 (and with it the decoder's gradient), while
// the KL and reward terms do not change.
TEST(Rssm, ImageStdScalesTheImageLikelihood) {
  RssmSettings st = tiny();
  SequenceBatch b = toy_batch(2, 3, 16, 2, 9);
  Tensor eps = test::random_tensor({3, 2, 4}, 10);
  const double n = 3 * 16 * 16, c = 0.91893853320467274;
  ElboTerms unit, narrow;
  double g_unit = 0, g_narrow = 0;
  for (float sigma : {1.0f, 0.25f}) {
    st.image_std = sigma;
    Rssm model(st, 2, 3);
    Tensor images, actions, rewards;
    model.batch_tensors(b, images, actions, rewards);
    model.zero_grad();
    ElboTerms t = elbo_loss(model, images, actions, rewards, eps, 0.0f);
    ad::backward(t.loss);
    double g = 0;
    for (const auto& [name, v] : model.parameters())
      if (name.rfind("decoder.", 0) == 0 && v.has_grad()) g += std::fabs(ad::Var(v).grad()[0]);
    (sigma == 1.0f ? unit : narrow) = t;
    (sigma == 1.0f ? g_unit : g_narrow) = g;
  }
  const double sq_unit = -unit.image_ll - n * c;  // 0.5 |o - m|^2 per step
  EXPECT_NEAR(-narrow.image_ll, sq_unit / (0.25 * 0.25) + n * (c + std::log(0.25)), 1e-3 * std::fabs(narrow.image_ll));
  EXPECT_NEAR(narrow.kl, unit.kl, 1e-9);
  EXPECT_NEAR(narrow.reward_ll, unit.reward_ll, 1e-9);
  ASSERT_GT(g_unit, 0.0);
  EXPECT_NEAR(g_narrow / g_unit, 16.0, 1e-2 * 16.0);
}

// batch_tensors converts the frames in parallel over (t, b): time-major rows, channels first,
// x / 255 - 0.5, the same on 1 and 2 threads.
TEST(Rssm, BatchTensorsLayoutOnOneAndTwoThreads) {
  RssmSettings st;
  st.image_size = 16;
  st.stoch = 4;
  st.deter = 8;
  st.hidden = 8;
  st.depth = 2;
  Rssm model(st, 2, 3);
  const int B = 6, L = 9, HW = 16 * 16;
  SequenceBatch b = toy_batch(B, L, 16, 2, 21);
  Tensor im2, act2, rew2, im1, act1, rew1;
  model.batch_tensors(b, im2, act2, rew2);
  set_num_threads(1);
  model.batch_tensors(b, im1, act1, rew1);
  set_num_threads(2);
  for (int bi = 0; bi < B; ++bi)
    for (int t = 0; t < L; ++t) {
      const int64_t row = int64_t(t) * B + bi;
      const uint8_t* src = &b.image[(size_t(bi) * L + t) * HW * 3];
      for (int p = 0; p < HW; ++p)
        for (int c = 0; c < 3; ++c) ASSERT_EQ(im2[(row * 3 + c) * HW + p], src[p * 3 + c] * (1.0f / 255.0f) - 0.5f);
      ASSERT_EQ(act2[row * 2 + 1], b.action[(size_t(bi) * L + t) * 2 + 1]);
      ASSERT_EQ(rew2[row], b.reward[size_t(bi) * L + t]);
    }
  for (int64_t i = 0; i < im1.numel(); ++i) ASSERT_EQ(im1[i], im2[i]);
  for (int64_t i = 0; i < act1.numel(); ++i) ASSERT_EQ(act1[i], act2[i]);
}

// Free nats, both ways, against a hand computation from the filtered sequence's Gaussians:
// per_step floors each (t, b) KL, batch_mean floors their mean (the released code's).
TEST(Rssm, FreeNatsPerStepAndOnTheBatchMean) {
  RssmSettings st = tiny();
  Rssm model(st, 2, 3);
  SequenceBatch b = toy_batch(3, 4, 16, 2, 21);
  Tensor images, actions, rewards;
  model.batch_tensors(b, images, actions, rewards);
  Tensor eps = test::random_tensor({4, 3, 4}, 22);
  ElboTerms none = elbo_loss(model, images, actions, rewards, eps, 0.0f);
  // KL(q || p) per row, summed over the latent dims.
  const Tensor &qm = none.seq.post_m.value(), &qs = none.seq.post_sd.value();
  const Tensor &pm = none.seq.prior_m.value(), &ps = none.seq.prior_sd.value();
  std::vector<double> kl(12, 0.0);
  for (int r = 0; r < 12; ++r)
    for (int k = 0; k < 4; ++k) {
      const double a = qs[r * 4 + k], c = ps[r * 4 + k], d = qm[r * 4 + k] - pm[r * 4 + k];
      kl[r] += std::log(c / a) + (a * a + d * d) / (2 * c * c) - 0.5;
    }
  double mean = 0;
  for (double v : kl) mean += v / 12;
  EXPECT_NEAR(none.kl, mean, 1e-5 * mean);
  EXPECT_NEAR(none.kl_term, mean, 1e-5 * mean);
  // A floor between the smallest and the largest KL tells the two rules apart.
  const double lo = *std::min_element(kl.begin(), kl.end()), hi = *std::max_element(kl.begin(), kl.end());
  ASSERT_LT(lo, hi);
  const float fn = float(0.5 * (lo + mean));
  double per_step = 0;
  for (double v : kl) per_step += std::max(v, double(fn)) / 12;
  const double batch = std::max(mean, double(fn));
  ElboTerms p = elbo_loss(model, images, actions, rewards, eps, fn, FreeNats::PerStep);
  ElboTerms q = elbo_loss(model, images, actions, rewards, eps, fn, FreeNats::BatchMean);
  EXPECT_NEAR(p.kl_term, per_step, 1e-5 * per_step);
  EXPECT_NEAR(q.kl_term, batch, 1e-5 * batch);
  EXPECT_GT(p.kl_term - q.kl_term, 1e-3);
  // Above the mean, the batch rule is the floor itself, while per step still adds the larger KLs.
  const float high = float(0.5 * (mean + hi));
  double per_step_high = 0;
  for (double v : kl) per_step_high += std::max(v, double(high)) / 12;
  EXPECT_NEAR(elbo_loss(model, images, actions, rewards, eps, high, FreeNats::BatchMean).kl_term, high, 1e-6);
  EXPECT_NEAR(elbo_loss(model, images, actions, rewards, eps, high, FreeNats::PerStep).kl_term, per_step_high,
              1e-5 * per_step_high);
  EXPECT_EQ(parse_free_nats_mode("per_step"), FreeNats::PerStep);
  EXPECT_EQ(parse_free_nats_mode("batch_mean"), FreeNats::BatchMean);
  try {
    parse_free_nats_mode("mean");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model_free_nats_mode"), std::string::npos) << e.what();
  }
}

// Reward normalisation (dense tasks): the running statistics follow the released code's update,
// and the reward head is trained on rewards normalised with the statistics before the update.
TEST(Rssm, RunningRewardStatisticsFollowTheReleasedUpdate) {
  RewardStats rs;
  Tensor r({4, 1});
  const float v[4] = {1, 3, 5, 7};  // mean 4, population std sqrt(5)
  for (int i = 0; i < 4; ++i) r[i] = v[i];
  rs.update(r);
  EXPECT_NEAR(rs.mean, 0.99 * 0 + 0.01 * 4, 1e-6);
  EXPECT_NEAR(rs.std, 0.99 * 1 + 0.01 * std::sqrt(5.0), 1e-6);
  rs.update(r);
  EXPECT_NEAR(rs.mean, 0.99 * 0.04 + 0.01 * 4, 1e-6);

  RssmSettings st = tiny();
  st.reward_normalize = true;
  Rssm model(st, 2, 3);
  ModelTrainer trainer(model, 5);
  SequenceBatch b = toy_batch(3, 5, 16, 2, 23);
  for (float& x : b.reward) x = 10 * x + 2;  // a dense-looking reward
  double m = 0, sq = 0;
  for (float x : b.reward) m += x / b.reward.size();
  for (float x : b.reward) sq += (x - m) * (x - m) / b.reward.size();
  trainer.step(b);
  EXPECT_NEAR(trainer.reward_stats().mean, 0.01 * m, 1e-5);
  EXPECT_NEAR(trainer.reward_stats().std, 0.99 + 0.01 * std::sqrt(sq), 1e-5);
  Checkpoint ck;
  trainer.save(ck);
  Rssm other(st, 2, 3);
  ModelTrainer resumed(other, 5);
  resumed.load(ck, "test");
  EXPECT_EQ(resumed.reward_stats().mean, trainer.reward_stats().mean);
  EXPECT_EQ(resumed.reward_stats().std, trainer.reward_stats().std);
}

TEST(Rssm, FilterStepMatchesObserveWithMeans) {
  Rssm model(tiny(), 2, 4);
  SequenceBatch b = toy_batch(1, 4, 16, 2, 11);
  Tensor images, actions, rewards;
  model.batch_tensors(b, images, actions, rewards);
  ad::NoGradGuard ng;
  RssmSequence seq = model.observe(images, actions, Tensor::zeros({4, 1, 4}));
  RssmState st = model.initial_state();
  std::vector<float> z(model.latent_dim());
  for (int t = 0; t < 4; ++t) {
    st = model.filter_step(st, &b.action[t * 2], &b.image[size_t(t) * 16 * 16 * 3]);
    model.latent(st, z.data());
    for (int i = 0; i < 4; ++i) EXPECT_NEAR(z[i], seq.post_m.value()[t * 4 + i], 1e-5);
    for (int i = 0; i < 8; ++i) EXPECT_NEAR(z[4 + i], seq.h.value()[t * 8 + i], 1e-5);
  }
}

TEST(Rssm, OverfitsAFewSequences) {
  RssmSettings st = tiny();
  st.free_nats = 0.5f;
  Rssm model(st, 2, 5);
  ModelTrainer trainer(model, 6);
  SequenceBatch b = toy_batch(3, 6, 16, 2, 12);
  // Reducible part of the loss: drop the constant 0.5 ln(2 pi) per pixel and per reward.
  const double c = 0.91893853320467274 * (16 * 16 * 3 + 1);
  double first = 0, last = 0;
  for (int k = 0; k < 250; ++k) {
    TrainMetrics m = trainer.step(b);
    ASSERT_TRUE(std::isfinite(m.loss));
    if (k == 0) first = m.loss - c;
    last = m.loss - c;
  }
  EXPECT_LT(last, 0.25 * first) << "loss (less constants) went from " << first << " to " << last;
  EXPECT_EQ(trainer.steps(), 250);
}

TEST(Rssm, SameSeedSameLossesBitForBitWithOneOrTwoThreads) {
  const int threads = num_threads();
  set_num_threads(1);
  auto run = [](uint64_t seed) {
    Rssm model(tiny(), 2, seed);
    ModelTrainer trainer(model, seed + 1);
    SequenceBatch b = toy_batch(3, 5, 16, 2, 13);
    std::vector<double> out;
    for (int k = 0; k < 4; ++k) {
      TrainMetrics m = trainer.step(b);
      out.push_back(m.loss);
      out.push_back(m.grad_norm);
    }
    return out;
  };
  std::vector<double> a = run(21), b = run(21), c = run(22);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  // The kernels split work by shape, never by thread count: two threads give the same bits.
  set_num_threads(2);
  EXPECT_EQ(run(21), a);
  set_num_threads(threads);
}

TEST(Rssm, NonFiniteLossNamesStepAndLeavesParametersUntouched) {
  Rssm model(tiny(), 2, 8);
  ModelTrainer trainer(model, 9);
  SequenceBatch b = toy_batch(2, 3, 16, 2, 14);
  trainer.step(b);
  ad::Var bias = model.parameter("decoder.deconv3.b");
  bias.mutable_value().data()[1] = NAN;
  std::vector<float> before = model.parameter("encoder.conv0.w").value().to_vector();
  try {
    trainer.step(b);
    FAIL() << "no throw";
  } catch (const NonFiniteError& e) {
    EXPECT_EQ(e.step, 1);
    EXPECT_NE(std::string(e.what()).find("step 1"), std::string::npos) << e.what();
  }
  EXPECT_EQ(model.parameter("encoder.conv0.w").value().to_vector(), before);
  EXPECT_EQ(trainer.steps(), 1);
}
