// RssmLatentModel: predict / reward / std against a plain per-sample double-precision
// reference written here from the equations in model/transition_weights.h, and every
// Jacobian against central finite differences of that reference. Small random weights
// (all entries), paper size (chosen entries), D = 0, thread-count invariance, large N,
// and agreement with the training graph's prior step (model/rssm.*) on the same weights.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "autodiff/var.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/thread_pool.h"
#include "model/rssm.h"
#include "model/rssm_latent_model.h"

using namespace latco;

namespace {

// ----- the reference: one sample, double precision, loops straight from the equations -----
double elu_d(double x) { return x > 0 ? x : std::expm1(x); }
double sigmoid_d(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double softplus_d(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }

// out = act(x W + b) for one sample.  x: (in), W: (in, out) row-major.
std::vector<double> layer(const std::vector<double>& x, const Tensor& W, const Tensor& b, int out, bool use_elu) {
  const int in = int(x.size());
  std::vector<double> y(out);
  for (int j = 0; j < out; ++j) {
    double acc = b[j];
    for (int k = 0; k < in; ++k) acc += x[k] * W[int64_t(k) * out + j];
    y[j] = use_elu ? elu_d(acc) : acc;
  }
  return y;
}

// mu = [m, h'] and sd = [softplus(.) + min_std, 0] for one (z, a).
void ref_step(const TransitionWeights& w, const std::vector<double>& z, const std::vector<double>& a,
              std::vector<double>* mu, std::vector<double>* sd) {
  const int S = w.sz.stoch, D = w.sz.deter, Hd = w.sz.hidden, Z = S + D;
  std::vector<double> sa(z.begin(), z.begin() + S);
  sa.insert(sa.end(), a.begin(), a.end());
  std::vector<double> x = layer(sa, w.W_in, w.b_in, Hd, true);
  std::vector<double> hn;
  if (D > 0) {
    std::vector<double> h(z.begin() + S, z.end());
    std::vector<double> gx = layer(x, w.W_x, w.b_x, 3 * D, false);
    std::vector<double> gh = layer(h, w.W_h, w.b_h, 3 * D, false);
    hn.resize(D);
    for (int d = 0; d < D; ++d) {
      double r = sigmoid_d(gx[d] + gh[d]);
      double u = sigmoid_d(gx[D + d] + gh[D + d]);
      double n = std::tanh(gx[2 * D + d] + r * gh[2 * D + d]);
      hn[d] = (1 - u) * n + u * h[d];
    }
  }
  std::vector<double> y = layer(D > 0 ? hn : x, w.W_p, w.b_p, Hd, D > 0);
  if (D == 0)  // the SSM: the second layer is a sigmoid
    for (double& v : y) v = sigmoid_d(v);
  std::vector<double> m = layer(y, w.W_m, w.b_m, S, false);
  std::vector<double> ps = layer(y, w.W_s, w.b_s, S, false);
  mu->assign(Z, 0.0);
  sd->assign(Z, 0.0);
  for (int k = 0; k < S; ++k) {
    (*mu)[k] = m[k];
    (*sd)[k] = softplus_d(ps[k]) + w.sz.min_std;
  }
  for (int d = 0; d < D; ++d) (*mu)[S + d] = hn[d];
}

double ref_reward(const TransitionWeights& w, const std::vector<double>& z) {
  const int Hr = w.sz.reward_hidden;
  std::vector<double> h1 = layer(z, w.R1, w.c1, Hr, true);
  std::vector<double> h2 = layer(h1, w.R2, w.c2, Hr, true);
  return layer(h2, w.R3, w.c3, 1, false)[0];
}

// Glorot weights plus random biases (init leaves them 0) so every bias path is exercised.
TransitionWeights random_weights(const TransitionSizes& sz, uint64_t seed) {
  Rng rng(seed);
  TransitionWeights w = TransitionWeights::init(sz, rng);
  Rng rb = rng.derive(99);
  for (Tensor* b : {&w.b_in, &w.b_x, &w.b_h, &w.b_p, &w.b_m, &w.b_s, &w.c1, &w.c2, &w.c3})
    if (b->defined())
      for (int64_t i = 0; i < b->numel(); ++i) (*b)[i] = rb.uniform(-0.5f, 0.5f);
  return w;
}

TransitionSizes small_sizes(int deter = 7) {
  TransitionSizes sz;
  sz.stoch = 5;
  sz.deter = deter;
  sz.hidden = 6;
  sz.action = 3;
  sz.reward_hidden = 8;
  return sz;
}

void random_inputs(int N, int Z, int A, uint64_t seed, std::vector<float>* z, std::vector<float>* a) {
  Rng rng(seed);
  z->resize(size_t(N) * Z);
  a->resize(size_t(N) * A);
  for (float& v : *z) v = rng.normal();
  for (float& v : *a) v = rng.uniform(-1.0f, 1.0f);
}

std::vector<double> row(const std::vector<float>& v, int i, int len) {
  return std::vector<double>(v.begin() + int64_t(i) * len, v.begin() + int64_t(i + 1) * len);
}

// Analytic (float) vs finite difference (double): |J - J_fd| <= atol + rtol |J_fd|.
constexpr double kAtol = 2e-5, kRtol = 1e-3, kEps = 1e-5;
#define EXPECT_JAC_NEAR(an, fd, what) \
  EXPECT_LE(std::fabs(double(an) - (fd)), kAtol + kRtol * std::fabs(fd)) << what << ": analytic " << (an) << " fd " << (fd)

// Central differences of the reference: d mu_i/d v_j and d sd_i/d v_j, v = z (wrt_a false) or a.
void fd_column(const TransitionWeights& w, std::vector<double> z, std::vector<double> a, bool wrt_a, int j,
               std::vector<double>* dmu, std::vector<double>* dsd) {
  std::vector<double>& v = wrt_a ? a : z;
  const double v0 = v[j];
  std::vector<double> mp, sp, mm, sm;
  v[j] = v0 + kEps;
  ref_step(w, z, a, &mp, &sp);
  v[j] = v0 - kEps;
  ref_step(w, z, a, &mm, &sm);
  dmu->resize(mp.size());
  dsd->resize(mp.size());
  for (size_t i = 0; i < mp.size(); ++i) {
    (*dmu)[i] = (mp[i] - mm[i]) / (2 * kEps);
    (*dsd)[i] = (sp[i] - sm[i]) / (2 * kEps);
  }
}
double fd_reward(const TransitionWeights& w, std::vector<double> z, int j) {
  const double z0 = z[j];
  z[j] = z0 + kEps;
  double rp = ref_reward(w, z);
  z[j] = z0 - kEps;
  double rm = ref_reward(w, z);
  return (rp - rm) / (2 * kEps);
}

// All outputs of the model for N samples.
struct Outputs {
  std::vector<float> next, r, mu, dz, da, rj, dr, sd, sdz, sda, sd_only;
};
Outputs run_all(const RssmLatentModel& m, int N, const std::vector<float>& z, const std::vector<float>& a) {
  const int Z = m.latent_dim(), A = m.action_dim();
  Outputs o;
  o.next.assign(size_t(N) * Z, -7.f);
  o.r.assign(N, -7.f);
  o.mu.assign(size_t(N) * Z, -7.f);
  o.dz.assign(size_t(N) * Z * Z, -7.f);
  o.da.assign(size_t(N) * Z * A, -7.f);
  o.rj.assign(N, -7.f);
  o.dr.assign(size_t(N) * Z, -7.f);
  o.sd.assign(size_t(N) * Z, -7.f);
  o.sdz.assign(size_t(N) * Z * Z, -7.f);
  o.sda.assign(size_t(N) * Z * A, -7.f);
  o.sd_only.assign(size_t(N) * Z, -7.f);
  m.predict(N, z.data(), a.data(), o.next.data());
  m.reward(N, z.data(), o.r.data());
  m.predict_jacobians(N, z.data(), a.data(), o.mu.data(), o.dz.data(), o.da.data());
  m.reward_gradient(N, z.data(), o.rj.data(), o.dr.data());
  m.predict_std(N, z.data(), a.data(), o.sd.data(), o.sdz.data(), o.sda.data());
  m.predict_std(N, z.data(), a.data(), o.sd_only.data(), nullptr, nullptr);
  return o;
}

// Values against the reference for the listed samples.
void check_values(const TransitionWeights& w, const Outputs& o, const std::vector<float>& z,
                  const std::vector<float>& a, const std::vector<int>& samples) {
  const int Z = w.sz.latent(), A = w.sz.action;
  for (int i : samples) {
    std::vector<double> mu, sd;
    ref_step(w, row(z, i, Z), row(a, i, A), &mu, &sd);
    const double r = ref_reward(w, row(z, i, Z));
    for (int k = 0; k < Z; ++k) {
      const double tol = 1e-5 + 1e-5 * std::fabs(mu[k]);
      ASSERT_NEAR(o.next[size_t(i) * Z + k], mu[k], tol) << "predict sample " << i << " dim " << k;
      ASSERT_EQ(o.mu[size_t(i) * Z + k], o.next[size_t(i) * Z + k]) << "mu from predict_jacobians, dim " << k;
      ASSERT_NEAR(o.sd[size_t(i) * Z + k], sd[k], 1e-5 + 1e-5 * sd[k]) << "std sample " << i << " dim " << k;
      ASSERT_EQ(o.sd_only[size_t(i) * Z + k], o.sd[size_t(i) * Z + k]);
    }
    ASSERT_NEAR(o.r[i], r, 1e-5 + 1e-5 * std::fabs(r)) << "reward sample " << i;
    ASSERT_EQ(o.rj[i], o.r[i]) << "r from reward_gradient, sample " << i;
  }
}

// Every entry of every Jacobian against finite differences.
void check_all_jacobians(const TransitionWeights& w, const Outputs& o, const std::vector<float>& z,
                         const std::vector<float>& a, int N) {
  const int Z = w.sz.latent(), A = w.sz.action;
  for (int n = 0; n < N; ++n) {
    const std::vector<double> zn = row(z, n, Z), an = row(a, n, A);
    std::vector<double> dmu, dsd;
    for (int j = 0; j < Z; ++j) {
      fd_column(w, zn, an, false, j, &dmu, &dsd);
      for (int i = 0; i < Z; ++i) {
        EXPECT_JAC_NEAR(o.dz[(size_t(n) * Z + i) * Z + j], dmu[i], "dmu/dz n " << n << " [" << i << "][" << j << "]");
        EXPECT_JAC_NEAR(o.sdz[(size_t(n) * Z + i) * Z + j], dsd[i], "dstd/dz n " << n << " [" << i << "][" << j << "]");
      }
      EXPECT_JAC_NEAR(o.dr[size_t(n) * Z + j], fd_reward(w, zn, j), "dr/dz n " << n << " [" << j << "]");
    }
    for (int j = 0; j < A; ++j) {
      fd_column(w, zn, an, true, j, &dmu, &dsd);
      for (int i = 0; i < Z; ++i) {
        EXPECT_JAC_NEAR(o.da[(size_t(n) * Z + i) * A + j], dmu[i], "dmu/da n " << n << " [" << i << "][" << j << "]");
        EXPECT_JAC_NEAR(o.sda[(size_t(n) * Z + i) * A + j], dsd[i], "dstd/da n " << n << " [" << i << "][" << j << "]");
      }
    }
  }
}

class ThreadsGuard {  // restores the pool size a test changes
 public:
  ThreadsGuard() : n_(num_threads()) {}
  ~ThreadsGuard() { set_num_threads(n_); }
 private:
  int n_;
};

}  // namespace

TEST(RssmLatentModel, SmallModelMatchesReferenceAndFiniteDifferences) {
  const TransitionWeights w = random_weights(small_sizes(), 1);
  RssmLatentModel m(w);
  ASSERT_EQ(m.latent_dim(), 12);
  ASSERT_EQ(m.action_dim(), 3);
  ASSERT_TRUE(m.stochastic());
  const int N = 5;
  std::vector<float> z, a;
  random_inputs(N, 12, 3, 2, &z, &a);
  const Outputs o = run_all(m, N, z, a);
  check_values(w, o, z, a, {0, 1, 2, 3, 4});
  check_all_jacobians(w, o, z, a, N);
}

TEST(RssmLatentModel, NoDeterministicPath) {
  const TransitionWeights w = random_weights(small_sizes(0), 3);
  RssmLatentModel m(w);
  ASSERT_EQ(m.latent_dim(), 5);
  const int N = 4;
  std::vector<float> z, a;
  random_inputs(N, 5, 3, 4, &z, &a);
  const Outputs o = run_all(m, N, z, a);
  check_values(w, o, z, a, {0, 1, 2, 3});
  check_all_jacobians(w, o, z, a, N);
}

// Paper sizes (S 30, D 200, Hd 200, A 4, Hr 400): chosen entries, including the diagonal of
// d h'/d h (the direct u h path) and the m rows' dependence on h, s and a.
TEST(RssmLatentModel, PaperSizeEntriesMatchFiniteDifferences) {
  TransitionSizes sz;
  const TransitionWeights w = random_weights(sz, 5);
  RssmLatentModel m(w);
  const int N = 7, Z = 230, A = 4, S = 30;  // N spans several Jacobian chunks
  std::vector<float> z, a;
  random_inputs(N, Z, A, 6, &z, &a);
  const Outputs o = run_all(m, N, z, a);
  check_values(w, o, z, a, {0, 3, 6});
  Rng pick(7);
  for (int n : {0, 4, 6}) {
    const std::vector<double> zn = row(z, n, Z), an = row(a, n, A);
    std::vector<double> dmu, dsd;
    std::vector<int> cols = {0, S - 1, S, S + 17, Z - 1};
    for (int k = 0; k < 4; ++k) cols.push_back(int(pick.below(Z)));
    for (int j : cols) {
      fd_column(w, zn, an, false, j, &dmu, &dsd);
      std::vector<int> rows = {0, S - 1, S, S + 5, Z - 1};
      if (j >= S) rows.push_back(j);  // diagonal of d h'/d h
      for (int k = 0; k < 4; ++k) rows.push_back(int(pick.below(Z)));
      for (int i : rows) {
        EXPECT_JAC_NEAR(o.dz[(size_t(n) * Z + i) * Z + j], dmu[i], "dmu/dz n " << n << " [" << i << "][" << j << "]");
        EXPECT_JAC_NEAR(o.sdz[(size_t(n) * Z + i) * Z + j], dsd[i], "dstd/dz n " << n << " [" << i << "][" << j << "]");
      }
      EXPECT_JAC_NEAR(o.dr[size_t(n) * Z + j], fd_reward(w, zn, j), "dr/dz n " << n << " [" << j << "]");
    }
    for (int j = 0; j < A; ++j) {
      fd_column(w, zn, an, true, j, &dmu, &dsd);
      for (int i = 0; i < Z; ++i) {
        EXPECT_JAC_NEAR(o.da[(size_t(n) * Z + i) * A + j], dmu[i], "dmu/da n " << n << " [" << i << "][" << j << "]");
        EXPECT_JAC_NEAR(o.sda[(size_t(n) * Z + i) * A + j], dsd[i], "dstd/da n " << n << " [" << i << "][" << j << "]");
      }
    }
  }
}

// Same bits with 1 and 2 threads, N not a multiple of any chunk size; small sizes and paper size.
TEST(RssmLatentModel, SameResultsWithOneAndTwoThreads) {
  ThreadsGuard guard;
  for (int deter : {7, 0, 200}) {
    TransitionSizes sz = small_sizes(deter);
    sz.hidden = 24;
    sz.reward_hidden = 32;
    if (deter == 200) sz = TransitionSizes();
    const TransitionWeights w = random_weights(sz, 8);
    RssmLatentModel m(w);
    const int N = deter == 200 ? 37 : 301;
    std::vector<float> z, a;
    random_inputs(N, m.latent_dim(), m.action_dim(), 9, &z, &a);
    set_num_threads(1);
    const Outputs o1 = run_all(m, N, z, a);
    set_num_threads(2);
    const Outputs o2 = run_all(m, N, z, a);
    EXPECT_EQ(o1.next, o2.next);
    EXPECT_EQ(o1.r, o2.r);
    EXPECT_EQ(o1.dz, o2.dz);
    EXPECT_EQ(o1.da, o2.da);
    EXPECT_EQ(o1.dr, o2.dr);
    EXPECT_EQ(o1.sd, o2.sd);
    EXPECT_EQ(o1.sdz, o2.sdz);
    EXPECT_EQ(o1.sda, o2.sda);
    if (deter == 200)
      check_values(w, o2, z, a, {0, 31, 32, 36});  // Jacobian chunk boundary
    else
      check_values(w, o2, z, a, {0, 143, 144, 300});  // forward chunk boundary
  }
}

// Sampling planners call predict and reward with N = 10,000.
TEST(RssmLatentModel, LargeBatchPredictAndReward) {
  TransitionSizes sz;
  sz.stoch = 16;
  sz.deter = 64;
  sz.hidden = 64;
  sz.reward_hidden = 64;
  const TransitionWeights w = random_weights(sz, 10);
  RssmLatentModel m(w);
  const int N = 10000, Z = 80, A = 4;
  std::vector<float> z, a;
  random_inputs(N, Z, A, 11, &z, &a);
  std::vector<float> next(size_t(N) * Z), r(N);
  m.predict(N, z.data(), a.data(), next.data());
  m.reward(N, z.data(), r.data());
  for (int i = 0; i < N; i += 331) {
    std::vector<double> mu, sd;
    ref_step(w, row(z, i, Z), row(a, i, A), &mu, &sd);
    for (int k = 0; k < Z; ++k) ASSERT_NEAR(next[size_t(i) * Z + k], mu[k], 1e-5 + 1e-5 * std::fabs(mu[k])) << i;
    const double rr = ref_reward(w, row(z, i, Z));
    ASSERT_NEAR(r[i], rr, 1e-5 + 1e-5 * std::fabs(rr)) << i;
  }
}

// The model reads the live weights; the Jacobians' transposed copies must be refreshed.
TEST(RssmLatentModel, SeesWeightUpdatesAndRefusesStaleJacobians) {
  TransitionWeights w = random_weights(small_sizes(), 12);
  RssmLatentModel m(w);
  std::vector<float> z, a;
  random_inputs(1, 12, 3, 13, &z, &a);
  std::vector<float> before(12), after(12), dz(144), da(36);
  m.predict(1, z.data(), a.data(), before.data());
  for (int64_t i = 0; i < w.W_h.numel(); ++i) w.W_h[i] *= 1.5f;  // what a training phase does
  for (int64_t i = 0; i < w.W_m.numel(); ++i) w.W_m[i] += 0.1f;
  m.predict(1, z.data(), a.data(), after.data());
  EXPECT_NE(before, after);
  EXPECT_THROW(m.predict_jacobians(1, z.data(), a.data(), nullptr, dz.data(), da.data()), Error);
  m.refresh();
  const Outputs o = run_all(m, 1, z, a);
  check_values(w, o, z, a, {0});
  check_all_jacobians(w, o, z, a, 1);
}

TEST(RssmLatentModel, WrongWeightShapeIsNamed) {
  TransitionWeights w = random_weights(small_sizes(), 14);
  w.W_x = Tensor::zeros({6, 20});
  try {
    RssmLatentModel m(w);
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("W_x"), std::string::npos) << e.what();
  }
}

// The planner's view and the autodiff training graph compute the same prior step and reward
// from the same tensors (with and without the deterministic path).
TEST(RssmLatentModel, MatchesTheTrainingGraph) {
  for (bool det : {true, false}) {
    RssmSettings st;
    st.stoch = 6, st.deter = 10, st.hidden = 12, st.depth = 2, st.image_size = 16, st.reward_hidden = 14;
    st.deterministic_path = det;
    Rssm rssm(st, 3, 21);
    // Random biases, written through the shared storage as a training step would.
    Rng rb(22);
    const TransitionWeights& tw = rssm.transition();
    for (const Tensor* b : {&tw.b_in, &tw.b_x, &tw.b_h, &tw.b_p, &tw.b_m, &tw.b_s, &tw.c1, &tw.c2, &tw.c3})
      if (b->defined()) {
        Tensor shared = *b;
        for (int64_t i = 0; i < shared.numel(); ++i) shared[i] = rb.uniform(-0.5f, 0.5f);
      }
    RssmLatentModel m(tw);
    const int N = 9, S = rssm.stoch(), D = rssm.deter(), Z = S + D, A = 3;
    ASSERT_EQ(m.latent_dim(), Z);
    std::vector<float> z, a;
    random_inputs(N, Z, A, 23, &z, &a);
    Tensor s_t({N, S}), h_t({N, std::max(D, 1)}), a_t = Tensor::from({N, A}, a);
    for (int i = 0; i < N; ++i) {
      for (int k = 0; k < S; ++k) s_t[i * S + k] = z[size_t(i) * Z + k];
      for (int k = 0; k < D; ++k) h_t[i * D + k] = z[size_t(i) * Z + S + k];
    }
    ad::Var h_next, pm, psd, u;
    rssm.prior_step(ad::constant(s_t), D > 0 ? ad::constant(h_t) : ad::Var(), ad::constant(a_t), h_next, pm, psd, u);
    ad::Var r_graph = rssm.reward(ad::constant(Tensor::from({N, Z}, z)));
    std::vector<float> next(size_t(N) * Z), sd(size_t(N) * Z), r(N);
    m.predict(N, z.data(), a.data(), next.data());
    m.predict_std(N, z.data(), a.data(), sd.data(), nullptr, nullptr);
    m.reward(N, z.data(), r.data());
    for (int i = 0; i < N; ++i) {
      for (int k = 0; k < S; ++k) {
        EXPECT_NEAR(next[size_t(i) * Z + k], pm.value()[i * S + k], 1e-5) << "prior mean " << i << "," << k;
        EXPECT_NEAR(sd[size_t(i) * Z + k], psd.value()[i * S + k], 1e-5) << "prior std " << i << "," << k;
      }
      for (int k = 0; k < D; ++k)
        EXPECT_NEAR(next[size_t(i) * Z + S + k], h_next.value()[i * D + k], 1e-5) << "h' " << i << "," << k;
      EXPECT_NEAR(r[i], r_graph.value()[i], 1e-5) << "reward " << i;
    }
  }
}
