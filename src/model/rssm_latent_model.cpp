// RssmLatentModel: batched RSSM prior step, reward head and their analytic Jacobians.
// Every layer runs as one (n, in) x (in, out) sgemm per chunk of samples; Jacobians are
// propagated layer by layer as GEMMs with the weight matrices shared across the chunk.
// Leaves out: sampling from the prior (callers draw eps and use mu + std * eps).
#include "model/rssm_latent_model.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/gemm.h"

namespace latco {
namespace {

// Samples per task. Fixed (never derived from the thread count), so every sample goes
// through the same sequence of GEMM shapes whatever the number of threads.
constexpr int kForwardChunk = 144;  // predict, reward, reward_gradient
constexpr int kJacobianChunk = 32;  // predict_jacobians, predict_std: chunks in turn, each parallel inside
constexpr int kSaBlock = 4;         // samples per task for d h'/d[s,a] inside a Jacobian chunk

// ----- elementwise math: branch-free, so the loops over it vectorise -----

// e^x: x = k ln2 + f with |f| <= ln2/2, e^f by its degree-7 Taylor polynomial
// (truncation < 5e-9 relative), 2^k through the exponent bits. Clamped to the float range.
inline float exp_fast(float x) {
  x = std::min(std::max(x, -87.0f), 88.0f);
  const float magic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  float k = (x * 1.44269504088896341f + magic) - magic;
  float f = x - k * 0.693145751953125f;  // ln2 split in two for an exact product
  f = f - k * 1.428606765330187e-06f;
  float p = 1.0f / 5040.0f;
  p = p * f + 1.0f / 720.0f;
  p = p * f + 1.0f / 120.0f;
  p = p * f + 1.0f / 24.0f;
  p = p * f + 1.0f / 6.0f;
  p = p * f + 0.5f;
  p = p * f + 1.0f;
  p = p * f + 1.0f;
  int32_t bits = (static_cast<int32_t>(k) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return p * scale;
}
inline float sigmoid_fast(float x) { return 1.0f / (1.0f + exp_fast(-x)); }
inline float tanh_fast(float x) { return 1.0f - 2.0f / (1.0f + exp_fast(2.0f * x)); }
inline float elu(float x) { return x > 0.0f ? x : exp_fast(x) - 1.0f; }
// ELU'(p) from the output y = ELU(p): 1 where p > 0, else e^p = y + 1 (ELU is monotone, ELU(0) = 0).
inline float elu_grad_from_out(float y) { return y > 0.0f ? 1.0f : y + 1.0f; }
// softplus(p) = log(1 + e^p), stable for large |p|; only S values per sample, so std::log1p.
inline float softplus(float p) { return std::max(p, 0.0f) + std::log1p(exp_fast(-std::fabs(p))); }

// Out-of-line elementwise kernels: their restrict parameters are honoured there, and where
// AVX-512 is available they use full 512-bit vectors (GCC prefers 256 by default).
#if defined(__AVX512F__) && defined(__GNUC__) && !defined(__clang__)
#define LATCO_WIDE_VECTORS __attribute__((noinline, target("prefer-vector-width=512")))
#else
#define LATCO_WIDE_VECTORS __attribute__((noinline))
#endif

enum class Act { None, Elu, Sigmoid };

// y = act(y + b) for one row; b may be null.
LATCO_WIDE_VECTORS void bias_act(int out, const float* __restrict b, float* __restrict y, Act act) {
  if (act == Act::Sigmoid)  // the SSM's second layer (D = 0)
    for (int j = 0; j < out; ++j) y[j] = sigmoid_fast(y[j] + (b ? b[j] : 0.0f));
  else if (b && act == Act::Elu)
    for (int j = 0; j < out; ++j) y[j] = elu(y[j] + b[j]);
  else if (b)
    for (int j = 0; j < out; ++j) y[j] += b[j];
  else if (act == Act::Elu)
    for (int j = 0; j < out; ++j) y[j] = elu(y[j]);
}

// y = act(x W + b).  x: (n, in) row stride ldx, W: (in, out), b: (out) or null, y: (n, out) row stride ldy
void dense(int n, int in, int out, const float* x, int ldx, const float* W, const float* b, float* y, int ldy,
           Act act) {
  sgemm(false, false, n, out, in, 1.0f, x, ldx, W, out, 0.0f, y, ldy);
  if (b || act != Act::None)
    for (int i = 0; i < n; ++i) bias_act(out, b, y + int64_t(i) * ldy, act);
}

// Per-thread scratch that only grows: the hot path does not allocate after warm-up.
float* scratch(size_t n) {
  static thread_local std::vector<float> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}
// A second per-thread scratch for work inside pool tasks (the caller's Arena lives in scratch()).
float* task_scratch(size_t n) {
  static thread_local std::vector<float> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

// Carves up to 16 64-byte-aligned pieces out of one scratch block (no heap traffic once warm).
struct Arena {
  static constexpr int kMax = 16;
  size_t sizes[kMax] = {};
  float* p[kMax] = {};
  int count = 0;
  size_t add(size_t n) {
    LATCO_CHECK(count < kMax) << "Arena: more than " << kMax << " pieces";
    sizes[count] = (n + 15) / 16 * 16;
    return size_t(count++);
  }
  void build() {
    size_t total = 16;
    for (int i = 0; i < count; ++i) total += sizes[i];
    float* q = scratch(total);
    q += (16 - (reinterpret_cast<uintptr_t>(q) / sizeof(float)) % 16) % 16;
    for (int i = 0; i < count; ++i) {
      p[i] = q;
      q += sizes[i];
    }
  }
};

// sum_k a[k] b[k] with 16 partial sums in a fixed order (vectorises; same bits on every call).
inline float dot16(const float* __restrict a, const float* __restrict b, int n) {
  float acc[16] = {};
  int k = 0;
  for (; k + 16 <= n; k += 16)
    for (int l = 0; l < 16; ++l) acc[l] += a[k + l] * b[k + l];
  for (int l = 0; k + l < n; ++l) acc[l] += a[k + l] * b[k + l];
  float s = 0.0f;
  for (int l = 0; l < 16; ++l) s += acc[l];
  return s;
}

// Splits [0, N) into fixed chunks and runs fn(begin, count) on the pool.
template <class Fn>
void for_chunks(int N, int chunk, const Fn& fn) {
  if (N <= 0) return;
  const int64_t nchunks = (N + chunk - 1) / chunk;
  parallel_tasks(nchunks, [&](int64_t c) {
    const int b = int(c) * chunk;
    fn(b, std::min(chunk, N - b));
  });
}

// Runs fn(begin, count) on fixed chunks of [0, N) one after the other (fn parallelises inside).
template <class Fn>
void for_chunks_serial(int N, int chunk, const Fn& fn) {
  for (int b = 0; b < N; b += chunk) fn(b, std::min(chunk, N - b));
}

// GRU gates of one sample, in place: the gate products x W_x (r, u, n blocks of D) become
// [r, u, n~]; the n block of h W_h gets its bias added (the Jacobians read it); hn = h'.
LATCO_WIDE_VECTORS void gru_gates(int D, float* __restrict gr, float* __restrict gu, float* __restrict gn,
                                  const float* __restrict hr, const float* __restrict hu, float* __restrict hnn,
                                  const float* __restrict bx, const float* __restrict bh,
                                  const float* __restrict h, float* __restrict hn) {
  for (int d = 0; d < D; ++d) {
    const float r = sigmoid_fast(gr[d] + bx[d] + hr[d] + bh[d]);
    const float u = sigmoid_fast(gu[d] + bx[D + d] + hu[d] + bh[D + d]);
    const float ghn = hnn[d] + bh[2 * D + d];
    const float nt = tanh_fast(gn[d] + bx[2 * D + d] + r * ghn);
    gr[d] = r;
    gu[d] = u;
    gn[d] = nt;
    hnn[d] = ghn;
    hn[d] = (1.0f - u) * nt + u * h[d];  // GRU: h' = (1 - u) n + u h
  }
}

// The forward pass of the prior step for n samples, keeping what the Jacobians need.
struct TransitionActs {
  float* xin;  // (n, S+A)  [s, a]
  float* x;    // (n, Hd)   ELU([s, a] W_in + b_in)
  float* g;    // (n, 3D)   gates [r, u, n~] after their nonlinearities
  float* gh;   // (n, 3D)   h W_h (+ b_h in the n block, which enters d h'/d r)
  float* y;    // (n, Hd)   ELU(h' W_p + b_p)   (D = 0: sigmoid(x W_p + b_p))
};

// z: (n,Z), a: (n,A); writes mu = [m, h'] to out: (n,Z).
void transition_forward(const TransitionWeights& w, int n, const float* z, const float* a, const TransitionActs& t,
                        float* out) {
  const int S = w.sz.stoch, D = w.sz.deter, Hd = w.sz.hidden, A = w.sz.action, Z = S + D, SA = S + A;
  for (int i = 0; i < n; ++i) {
    std::memcpy(t.xin + int64_t(i) * SA, z + int64_t(i) * Z, sizeof(float) * S);
    std::memcpy(t.xin + int64_t(i) * SA + S, a + int64_t(i) * A, sizeof(float) * A);
  }
  dense(n, SA, Hd, t.xin, SA, w.W_in.data(), w.b_in.data(), t.x, Hd, Act::Elu);
  if (D > 0) {
    dense(n, Hd, 3 * D, t.x, Hd, w.W_x.data(), nullptr, t.g, 3 * D, Act::None);  // biases added in gru_gates
    dense(n, D, 3 * D, z + S, Z, w.W_h.data(), nullptr, t.gh, 3 * D, Act::None);
    for (int i = 0; i < n; ++i) {
      float* g = t.g + int64_t(i) * 3 * D;
      float* gh = t.gh + int64_t(i) * 3 * D;
      gru_gates(D, g, g + D, g + 2 * D, gh, gh + D, gh + 2 * D, w.b_x.data(), w.b_h.data(), z + int64_t(i) * Z + S,
                out + int64_t(i) * Z + S);
    }
    dense(n, D, Hd, out + S, Z, w.W_p.data(), w.b_p.data(), t.y, Hd, Act::Elu);
  } else {
    dense(n, Hd, Hd, t.x, Hd, w.W_p.data(), w.b_p.data(), t.y, Hd, Act::Sigmoid);
  }
  dense(n, Hd, S, t.y, Hd, w.W_m.data(), w.b_m.data(), out, Z, Act::None);
}

void transpose(int rows, int cols, const float* src, float* dst) {  // src (rows, cols) -> dst (cols, rows)
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) dst[int64_t(j) * rows + i] = src[int64_t(i) * cols + j];
}

void check_shape(const Tensor& t, int64_t rows, int64_t cols, const char* name) {
  const int64_t want = rows * cols;
  if (!t.defined() || t.numel() != want)
    LATCO_FAIL("RssmLatentModel: weight " << name << " has " << (t.defined() ? t.str() : std::string("no tensor"))
                                          << ", expected " << rows << "x" << cols << " for the sizes in sz");
  if (t.device() != Device::CPU) LATCO_FAIL("RssmLatentModel: weight " << name << " is not on the CPU");
}

}  // namespace

RssmLatentModel::RssmLatentModel(const TransitionWeights& w, float action_max) : w_(w), amax_(action_max) {
  refresh();
}

void RssmLatentModel::refresh() {
  const TransitionSizes& sz = w_.sz;
  S_ = sz.stoch, D_ = sz.deter, Hd_ = sz.hidden, A_ = sz.action, Hr_ = sz.reward_hidden;
  LATCO_CHECK(S_ > 0 && D_ >= 0 && Hd_ > 0 && A_ > 0 && Hr_ > 0)
      << "RssmLatentModel: sizes stoch " << S_ << " deter " << D_ << " hidden " << Hd_ << " action " << A_
      << " reward_hidden " << Hr_;
  const int Z = S_ + D_;
  check_shape(w_.W_in, S_ + A_, Hd_, "W_in");
  check_shape(w_.b_in, 1, Hd_, "b_in");
  if (D_ > 0) {
    check_shape(w_.W_x, Hd_, 3 * D_, "W_x");
    check_shape(w_.b_x, 1, 3 * D_, "b_x");
    check_shape(w_.W_h, D_, 3 * D_, "W_h");
    check_shape(w_.b_h, 1, 3 * D_, "b_h");
  }
  check_shape(w_.W_p, D_ > 0 ? D_ : Hd_, Hd_, "W_p");
  check_shape(w_.b_p, 1, Hd_, "b_p");
  check_shape(w_.W_m, Hd_, S_, "W_m");
  check_shape(w_.b_m, 1, S_, "b_m");
  check_shape(w_.W_s, Hd_, S_, "W_s");
  check_shape(w_.b_s, 1, S_, "b_s");
  check_shape(w_.R1, Z, Hr_, "R1");
  check_shape(w_.c1, 1, Hr_, "c1");
  check_shape(w_.R2, Hr_, Hr_, "R2");
  check_shape(w_.c2, 1, Hr_, "c2");
  check_shape(w_.R3, Hr_, 1, "R3");
  check_shape(w_.c3, 1, 1, "c3");
  WhT_.assign(size_t(3) * D_ * D_, 0.0f);
  WmT_.assign(size_t(S_) * Hd_, 0.0f);
  WsT_.assign(size_t(S_) * Hd_, 0.0f);
  if (D_ > 0) {
    transpose(D_, 3 * D_, w_.W_h.data(), WhT_.data());
  }
  transpose(Hd_, S_, w_.W_m.data(), WmT_.data());
  transpose(Hd_, S_, w_.W_s.data(), WsT_.data());
}

// Compares 16 spread entries of each transposed copy with the live weights. Training
// (Adam) moves every weight, so stale copies are caught on the first Jacobian call.
void RssmLatentModel::check_fresh() const {
  auto probe = [&](const std::vector<float>& T, const Tensor& W, int rows, int cols, const char* name) {
    if (rows * cols == 0) return;
    const bool same_size = W.defined() && W.numel() == int64_t(rows) * cols;
    bool ok = same_size;
    for (int k = 0; ok && k < 16; ++k) {
      const int64_t idx = (int64_t(rows) * cols - 1) * k / 15;  // index into W (rows, cols)
      const int64_t i = idx / cols, j = idx % cols;
      ok = T[size_t(j) * rows + i] == W.data()[idx];
    }
    if (!ok)
      LATCO_FAIL("RssmLatentModel: weight " << name << " changed since refresh(); call refresh() after each "
                                           "training phase, before planning with Jacobians");
  };
  probe(WhT_, w_.W_h, D_, 3 * D_, "W_h");
  probe(WmT_, w_.W_m, Hd_, S_, "W_m");
  probe(WsT_, w_.W_s, Hd_, S_, "W_s");
  LATCO_CHECK(w_.sz.stoch == S_ && w_.sz.deter == D_ && w_.sz.hidden == Hd_ && w_.sz.action == A_ &&
              w_.sz.reward_hidden == Hr_)
      << "RssmLatentModel: the weights' sizes changed since refresh(); call refresh()";
}

// ----- predict: mu(z, a) = [m, h'] -----
// Eq. (6), (8): the mean latent dynamics mu_phi(z_t, a_t) that collocation constrains to.

void RssmLatentModel::predict(int N, const float* z, const float* a, float* z_next) const {
  const int Z = S_ + D_;
  for_chunks(N, kForwardChunk, [&](int b, int n) {
    predict_chunk(n, z + int64_t(b) * Z, a + int64_t(b) * A_, z_next + int64_t(b) * Z);
  });
}

void RssmLatentModel::predict_chunk(int n, const float* z, const float* a, float* z_next) const {
  Arena ar;
  const size_t ixin = ar.add(size_t(n) * (S_ + A_)), ix = ar.add(size_t(n) * Hd_), ig = ar.add(size_t(n) * 3 * D_),
               igh = ar.add(size_t(n) * 3 * D_), iy = ar.add(size_t(n) * Hd_);
  ar.build();
  float* const* p = ar.p;
  transition_forward(w_, n, z, a, TransitionActs{p[ixin], p[ix], p[ig], p[igh], p[iy]}, z_next);
}

// ----- reward head: r(z) = ELU(ELU(z R1 + c1) R2 + c2) R3 + c3, and dr/dz -----
// Eq. (8): the objective's r(z_t); dr/dz gives the reward rows of J in Eq. (9).

void RssmLatentModel::reward(int N, const float* z, float* r) const {
  const int Z = S_ + D_;
  for_chunks(N, kForwardChunk,
             [&](int b, int n) { reward_chunk(n, z + int64_t(b) * Z, r + b, nullptr); });
}

void RssmLatentModel::reward_gradient(int N, const float* z, float* r, float* dr_dz) const {
  const int Z = S_ + D_;
  for_chunks(N, kForwardChunk, [&](int b, int n) {
    reward_chunk(n, z + int64_t(b) * Z, r ? r + b : nullptr, dr_dz + int64_t(b) * Z);
  });
}

// z: (n,Z) -> r: (n) or null, dr_dz: (n,Z) or null.
void RssmLatentModel::reward_chunk(int n, const float* z, float* r, float* dr_dz) const {
  const int Z = S_ + D_, Hr = Hr_;
  Arena ar;
  const size_t i1 = ar.add(size_t(n) * Hr), i2 = ar.add(size_t(n) * Hr), i3 = ar.add(dr_dz ? size_t(n) * Hr : 0);
  ar.build();
  float *h1 = ar.p[i1], *h2 = ar.p[i2];
  dense(n, Z, Hr, z, Z, w_.R1.data(), w_.c1.data(), h1, Hr, Act::Elu);
  dense(n, Hr, Hr, h1, Hr, w_.R2.data(), w_.c2.data(), h2, Hr, Act::Elu);
  const float* R3 = w_.R3.data();
  if (r)
    for (int i = 0; i < n; ++i) r[i] = dot16(h2 + int64_t(i) * Hr, R3, Hr) + w_.c3.data()[0];
  if (!dr_dz) return;
  // Backward: g2 = R3 * ELU'(.)  (n,Hr);  g1 = (g2 R2^T) * ELU'(.)  (n,Hr);  dr/dz = g1 R1^T  (n,Z)
  float* g1 = ar.p[i3];
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < Hr; ++k) h2[int64_t(i) * Hr + k] = R3[k] * elu_grad_from_out(h2[int64_t(i) * Hr + k]);
  sgemm(false, true, n, Hr, Hr, 1.0f, h2, Hr, w_.R2.data(), Hr, 0.0f, g1, Hr);
  for (int64_t i = 0; i < int64_t(n) * Hr; ++i) g1[i] *= elu_grad_from_out(h1[i]);
  sgemm(false, true, n, Z, Hr, 1.0f, g1, Hr, w_.R1.data(), Hr, 0.0f, dr_dz, Z);
}

// ----- Jacobians of mu and of std -----
// Eq. (9): d mu/d z and d mu/d a are the dynamics blocks of J in the LM step; d std/d(z, a)
// feeds the variance constraint of Gaussian LatCo, Eq. (5), (7).

void RssmLatentModel::predict_jacobians(int N, const float* z, const float* a, float* mu, float* dmu_dz,
                                        float* dmu_da) const {
  check_fresh();
  const int Z = S_ + D_, A = A_;
  for_chunks_serial(N, kJacobianChunk, [&](int b, int n) {
    jacobian_chunk(n, z + int64_t(b) * Z, a + int64_t(b) * A, mu ? mu + int64_t(b) * Z : nullptr,
                   dmu_dz ? dmu_dz + int64_t(b) * Z * Z : nullptr, dmu_da ? dmu_da + int64_t(b) * Z * A : nullptr,
                   nullptr, nullptr, nullptr);
  });
}

void RssmLatentModel::predict_std(int N, const float* z, const float* a, float* sd, float* dsd_dz,
                                  float* dsd_da) const {
  const int Z = S_ + D_, A = A_;
  if (dsd_dz || dsd_da) check_fresh();
  auto chunk = [&](int b, int n) {
    jacobian_chunk(n, z + int64_t(b) * Z, a + int64_t(b) * A, nullptr, nullptr, nullptr,
                   sd ? sd + int64_t(b) * Z : nullptr, dsd_dz ? dsd_dz + int64_t(b) * Z * Z : nullptr,
                   dsd_da ? dsd_da + int64_t(b) * Z * A : nullptr);
  };
  if (dsd_dz || dsd_da)
    for_chunks_serial(N, kJacobianChunk, chunk);
  else
    for_chunks(N, kForwardChunk, chunk);  // values only: chunks in parallel
}

// For n samples: mu (n,Z), dmu_dz (n,Z,Z), dmu_da (n,Z,A), sd (n,Z), dsd_dz (n,Z,Z), dsd_da (n,Z,A);
// any may be null. Chain rule, with c_* = d h' / d(pre-activation of gate *):
//   c_n = (1 - u)(1 - n~^2),  c_r = c_n gh_n r(1 - r),  c_u = (h - n~) u(1 - u)
//   d h'/d[s,a] = [diag(c_r) Wx_r^T + diag(c_u) Wx_u^T + diag(c_n) Wx_n^T] diag(ELU'_x) W_in^T    (D, S+A)
//   d h'/d h    =  diag(c_r) Wh_r^T + diag(c_u) Wh_u^T + diag(c_n r) Wh_n^T + diag(u)              (D, D)
//   d m/d z     = P d h'/d z,   P = W_m^T diag(ELU'_y) W_p^T                                       (S, D)
//   d sd/d z    = diag(sigmoid(y W_s + b_s)) W_s^T diag(ELU'_y) W_p^T d h'/d z
// D = 0 (the SSM, y = sigmoid(x W_p + b_p)): d m/d[s,a] = W_m^T diag(y (1 - y)) W_p^T diag(ELU'_x) W_in^T,
//   d sd/d[s,a] = diag(sigmoid(ps)) W_s^T diag(y (1 - y)) W_p^T diag(ELU'_x) W_in^T.
void RssmLatentModel::jacobian_chunk(int n, const float* z, const float* a, float* mu, float* dmu_dz,
                                     float* dmu_da, float* sd, float* dsd_dz, float* dsd_da) const {
  const int S = S_, D = D_, Hd = Hd_, A = A_, Z = S + D, SA = S + A;
  const bool want_mu_jac = dmu_dz || dmu_da, want_sd_jac = dsd_dz || dsd_da;
  const bool need_hz = D > 0 && (want_mu_jac || want_sd_jac);  // d h'/d z, d h'/d a
  const int heads = int(want_mu_jac) + int(want_sd_jac);          // Jacobian rows: S per head
  const int PW = D > 0 ? D : Hd;                                  // width of P
  Arena ar;
  const size_t ixin = ar.add(size_t(n) * SA), ix = ar.add(size_t(n) * Hd), ig = ar.add(size_t(n) * 3 * D),
               igh = ar.add(size_t(n) * 3 * D), iy = ar.add(size_t(n) * Hd), imu = ar.add(mu ? 0 : size_t(n) * Z),
               ihz = ar.add(need_hz && !dmu_dz ? size_t(n) * Z * Z : 0),
               ic = ar.add(need_hz ? size_t(n) * 4 * D : 0),
               isa = ar.add(heads ? size_t(n) * std::max(D, heads * S) * SA : 0),
               iQ = ar.add(size_t(n) * heads * S * Hd), iP = ar.add(size_t(n) * heads * S * PW),
               ips = ar.add(size_t(n) * S);
  ar.build();
  float* const* p = ar.p;
  if (!mu) mu = p[imu];
  const TransitionActs t{p[ixin], p[ix], p[ig], p[igh], p[iy]};
  transition_forward(w_, n, z, a, t, mu);

  if (sd || want_sd_jac) {  // ps = y W_s + b_s; sd = softplus(ps) + min_std; keep sigmoid(ps) = d sd / d ps
    float* ps = p[ips];
    dense(n, Hd, S, t.y, Hd, w_.W_s.data(), w_.b_s.data(), ps, S, Act::None);
    for (int i = 0; i < n; ++i)
      for (int k = 0; k < S; ++k) {
        const float v = ps[i * S + k];
        if (sd) sd[int64_t(i) * Z + k] = softplus(v) + w_.sz.min_std;
        ps[i * S + k] = sigmoid_fast(v);
      }
    if (sd)
      for (int i = 0; i < n; ++i) std::fill(sd + int64_t(i) * Z + S, sd + int64_t(i) * Z + Z, 0.0f);
  }
  if (!want_mu_jac && !want_sd_jac) return;

  // ----- d h'/d z and d h'/d a: rows S.. of hz (n,Z,Z) and ha (n,Z,A) -----
  float* hz = dmu_dz ? dmu_dz : p[ihz];
  float* ha = dmu_da;  // written only when asked for: the heads read d h'/d a from saT
  if (D > 0) {
    float* coef = p[ic];  // (n, 4, D): c_r, c_u, c_n, and c_n r (the n-gate coefficient on the h side)
    parallel_for(n, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        const float* r = t.g + i * 3 * D;
        const float* u = r + D;
        const float* nt = r + 2 * D;
        const float* ghn = t.gh + i * 3 * D + 2 * D;
        const float* h = z + i * Z + S;
        float* cr = coef + i * 4 * D;
        float* cu = cr + D;
        float* cn = cr + 2 * D;
        float* cnr = cr + 3 * D;
        for (int d = 0; d < D; ++d) {
          cn[d] = (1.0f - u[d]) * (1.0f - nt[d] * nt[d]);
          cr[d] = cn[d] * ghn[d] * r[d] * (1.0f - r[d]);
          cu[d] = (h[d] - nt[d]) * u[d] * (1.0f - u[d]);
          cnr[d] = cn[d] * r[d];
        }
      }
    });
    // d h'/d h, row d of every sample in turn, so the three rows of W_h^T stay in L1.
    parallel_for(D, [&](int64_t d0, int64_t d1) {
      for (int64_t d = d0; d < d1; ++d) {
        const float* hr = &WhT_[size_t(d) * D];
        const float* hu = &WhT_[size_t(D + d) * D];
        const float* hnn = &WhT_[size_t(2 * D + d) * D];
        for (int i = 0; i < n; ++i) {
          const float* c = coef + int64_t(i) * 4 * D;
          const float a_r = c[d], a_u = c[D + d], a_n = c[3 * D + d];
          float* row = hz + int64_t(i) * Z * Z + (S + d) * Z + S;  // d h'_d / d h
          for (int j = 0; j < D; ++j) row[j] = a_r * hr[j] + a_u * hu[j] + a_n * hnn[j];
          row[d] += t.g[int64_t(i) * 3 * D + D + d];  // the direct path h' = ... + u h
        }
      }
    });
    // d h'/d[s,a], per block of kSaBlock samples (a task each), so that the block's M^T stays
    // in L2 between being formed and being multiplied:
    //   M^T: (Hd, nb D), M^T[k][i D + d] = d h'_d / d x_k * ELU'(x_k) for sample i, from rows of W_x;
    //   (d h'/d[s,a])^T = W_in (S+A, Hd) x M^T (Hd, nb D) -> columns [i0 D, (i0 + nb) D) of saT (S+A, n D)
    // (this orientation keeps the narrow S+A side on the GEMM's rows, not its column panels).
    float* saT = p[isa];
    const float* Wx = w_.W_x.data();
    parallel_tasks((n + kSaBlock - 1) / kSaBlock, [&](int64_t blk) {
      const int i0 = int(blk) * kSaBlock, nb = std::min(kSaBlock, n - i0);
      float* MT = task_scratch(size_t(Hd) * nb * D);
      for (int k = 0; k < Hd; ++k) {
        const float* wr = Wx + int64_t(k) * 3 * D;
        const float* wu = wr + D;
        const float* wn = wr + 2 * D;
        for (int i = i0; i < i0 + nb; ++i) {
          const float e = elu_grad_from_out(t.x[int64_t(i) * Hd + k]);
          const float* cr = coef + int64_t(i) * 4 * D;
          const float* cu = cr + D;
          const float* cn = cr + 2 * D;
          float* out = MT + int64_t(k) * nb * D + int64_t(i - i0) * D;
          for (int d = 0; d < D; ++d) out[d] = e * (cr[d] * wr[d] + cu[d] * wu[d] + cn[d] * wn[d]);
        }
      }
      sgemm(false, false, SA, nb * D, Hd, 1.0f, w_.W_in.data(), Hd, MT, nb * D, 0.0f, saT + int64_t(i0) * D, n * D);
      // Scatter into rows S.. of hz (columns 0..S) and ha, in 16-row blocks that stay in L1.
      for (int64_t i = i0; i < i0 + nb; ++i)
        for (int d0 = 0; d0 < D; d0 += 16) {
          const int d1 = std::min(D, d0 + 16);
          for (int c = 0; c < SA; ++c) {
            const float* src = saT + int64_t(c) * n * D + i * D;
            if (c < S)
              for (int d = d0; d < d1; ++d) hz[i * Z * Z + int64_t(S + d) * Z + c] = src[d];
            else if (ha)
              for (int d = d0; d < d1; ++d) ha[i * Z * A + int64_t(S + d) * A + (c - S)] = src[d];
          }
        }
    });
  }

  // ----- heads: Q = [W_m^T; diag(sigmoid(ps)) W_s^T] diag(act'_y), (n, heads S, Hd) -----
  // act'_y: ELU'(.) from the output; D = 0: the sigmoid's y (1 - y).
  float* Q = p[iQ];
  parallel_for(n, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const float* y = t.y + int64_t(i) * Hd;
      float* Qi = Q + int64_t(i) * heads * S * Hd;
      int head = 0;
      for (int which = 0; which < 2; ++which) {
        if (which == 0 ? !want_mu_jac : !want_sd_jac) continue;
        const std::vector<float>& WT = which == 0 ? WmT_ : WsT_;
        for (int k = 0; k < S; ++k) {
          const float scale = which == 0 ? 1.0f : p[ips][i * S + k];
          float* q = Qi + int64_t(head * S + k) * Hd;
          const float* wr = &WT[size_t(k) * Hd];
          if (D > 0)
            for (int j = 0; j < Hd; ++j) q[j] = scale * wr[j] * elu_grad_from_out(y[j]);
          else
            for (int j = 0; j < Hd; ++j) q[j] = scale * wr[j] * (y[j] * (1.0f - y[j]));
        }
        ++head;
      }
    }
  });
  // P = Q W_p^T: (n heads S, Hd) x (Hd, PW), one GEMM over the chunk
  float* P = p[iP];
  const int HS = heads * S;
  sgemm(false, true, n * HS, PW, Hd, 1.0f, Q, Hd, w_.W_p.data(), Hd, 0.0f, P, PW);

  // Output rows of each head: mu head -> dmu_*, std head -> dsd_* (rows 0..S; std rows S.. are 0).
  struct Out { float* dz; float* da; };
  Out outs[2];
  int nh = 0;
  if (want_mu_jac) outs[nh++] = Out{dmu_dz, dmu_da};
  if (want_sd_jac) outs[nh++] = Out{dsd_dz, dsd_da};
  if (D > 0) {
    // d head / d z = P_i (S, D) x d h'/d z (D, Z);  d head / d a = P_i x d h'/d a (D, A)
    for (int h = 0; h < nh; ++h) {
      if (outs[h].dz)
        sgemm_batched(n, false, false, S, Z, D, 1.0f, P + int64_t(h) * S * D, D, long(HS) * D,
                      hz + int64_t(S) * Z, Z, long(Z) * Z, 0.0f, outs[h].dz, Z, long(Z) * Z);
      if (outs[h].da)
        // (d h'/d a)^T is already stored row-contiguous in saT: rows S.., columns [i D, i D + D)
        sgemm_batched(n, false, true, S, A, D, 1.0f, P + int64_t(h) * S * D, D, long(HS) * D,
                      p[isa] + int64_t(S) * n * D, n * D, long(D), 0.0f, outs[h].da, A, long(Z) * A);
    }
  } else {
    // D = 0: (P diag(ELU'_x)) W_in^T, (n heads S, Hd) x (Hd, S+A), then split into z and a columns
    for (int i = 0; i < n; ++i) {
      const float* x = t.x + int64_t(i) * Hd;
      for (int k = 0; k < HS; ++k) {
        float* row = P + (int64_t(i) * HS + k) * Hd;
        for (int j = 0; j < Hd; ++j) row[j] *= elu_grad_from_out(x[j]);
      }
    }
    float* sa = p[isa];
    sgemm(false, true, n * HS, SA, Hd, 1.0f, P, Hd, w_.W_in.data(), Hd, 0.0f, sa, SA);
    for (int h = 0; h < nh; ++h)
      for (int i = 0; i < n; ++i)
        for (int k = 0; k < S; ++k) {
          const float* src = sa + (int64_t(i) * HS + h * S + k) * SA;
          if (outs[h].dz) std::memcpy(outs[h].dz + int64_t(i) * Z * Z + int64_t(k) * Z, src, sizeof(float) * S);
          if (outs[h].da) std::memcpy(outs[h].da + int64_t(i) * Z * A + int64_t(k) * A, src + S, sizeof(float) * A);
        }
  }
  // The std of the deterministic dims is 0 for every input.
  if (want_sd_jac && D > 0)
    for (int i = 0; i < n; ++i) {
      if (dsd_dz) std::fill(dsd_dz + int64_t(i) * Z * Z + int64_t(S) * Z, dsd_dz + int64_t(i + 1) * Z * Z, 0.0f);
      if (dsd_da) std::fill(dsd_da + int64_t(i) * Z * A + int64_t(S) * A, dsd_da + int64_t(i + 1) * Z * A, 0.0f);
    }
}

}  // namespace latco
