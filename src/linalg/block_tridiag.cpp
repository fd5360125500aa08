// Block-tridiagonal Cholesky, twisted: blocks 0 .. m-1 are eliminated from the top and blocks
// H-1 .. m+1 from the bottom, the two chains on the two threads, and they meet at block m
// (then the solve's forward and backward sweeps run from both ends too). Every block's kernels run
// serially inside its chain, on the double kernels of linalg/dense.*: one n x n Cholesky, one
// triangular solve and one symmetric rank-n update per block.
#include "linalg/block_tridiag.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/flops.h"
#include "linalg/dense.h"

namespace latco {

namespace {
// Stored blocks as a source: the lower triangle of D_t and all of B_t, copied.
class StoredBlocks : public BlockSource {
 public:
  StoredBlocks(int n, const double* D, const double* B) : n_(n), D_(D), B_(B) {}
  void fill(int t, double* Dt, double* Bt) const override {
    const long nn = long(n_) * n_;
    for (int i = 0; i < n_; ++i) std::memcpy(Dt + i * n_, D_ + t * nn + i * n_, sizeof(double) * (i + 1));
    if (t > 0) std::memcpy(Bt, B_ + t * nn, sizeof(double) * nn);
  }

 private:
  int n_;
  const double *D_, *B_;
};

// y_t = L_t^{-1} (y_t - C y_s): one forward step against the solved neighbour y_s (C null: none).
void forward_step(int n, const double* Lt, const double* C, const double* ys, double* yt) {
  count_flops(trsm_flops(1, n), true);  // the triangular solve, as trsm with one row (dgemv_n counts C y)
  if (C) dgemv_n(n, n, -1.0, C, n, ys, yt);
  trsv_lower(n, Lt, n, yt);
}
// x_t = L_t^{-T} (y_t - C^T x_s): one backward step against the solved neighbour x_s (C null: none).
void backward_step(int n, const double* Lt, const double* C, const double* xs, double* xt) {
  count_flops(trsm_flops(1, n) + (C ? gemm_flops(n, 1, n) : 0.0), true);
  if (C)
    for (int k = 0; k < n; ++k) {
      const double xk = xs[k];
      for (int i = 0; i < n; ++i) xt[i] -= C[long(k) * n + i] * xk;
    }
  trsv_lower_t(n, Lt, n, xt);
}

// y_m = L_m^{-1} (y_m - C_m y_{m-1} - C'_m y_{m+1}): the middle block's forward step, against both
// neighbours (each only where it exists).
void forward_middle(int H, int n, int m, const double* Lf, const double* C, double* y) {
  const long nn = long(n) * n;
  double* ym = y + long(m) * n;
  if (m > 0) dgemv_n(n, n, -1.0, C + m * nn, n, ym - n, ym);
  forward_step(n, Lf + m * nn, m + 1 < H ? C + (m + 1) * nn : nullptr, m + 1 < H ? ym + n : nullptr, ym);
}

// The two chains of one factor. fill(t): D_t into Lf[t] with its damping, B_t into C[t].
struct TwistedFactor {
  const BlockSource* src;
  const ForwardSolve* fwd;
  int H, n, c0, m;
  long nn;
  double damping;
  double *Lf, *C, *P;  // P: -C'_m C'_m^T, the bottom chain's update of block m
  bool ok[2] = {true, true};
  // The top chain, which has a coupling and a factor less to do, fills block m+1 for the bottom
  // first (when that is not the bottom's first block); the bottom reaches it last.
  bool lend = false;
  std::atomic<bool> lent_filled{false};

  void fill(int t) const {
    double* Dt = Lf + t * nn;
    src->fill(t, Dt, C + t * nn);
    for (int i = 0; i < n; ++i) Dt[i * n + i] += damping;
  }
  double* y(int t) const { return fwd->y + long(t) * n; }
  double* y_start(int t) const {  // y_t = sign * rhs_t (complete once block t is filled)
    for (int i = 0; i < n; ++i) y(t)[i] = fwd->sign * fwd->rhs[long(t) * n + i];
    return y(t);
  }
  // Top: L_t L_t^T = D_t - C_t C_t^T with C_t = B_t L_{t-1}^{-T} (columns < c0 stay zero), for
  // t = 0 .. m; block m gets the top's update only, its factor waits for the bottom's.
  void top() {
    if (lend) {
      fill(m + 1);
      lent_filled.store(true, std::memory_order_release);
    }
    for (int t = 0; t <= m; ++t) {
      fill(t);
      double* L = Lf + t * nn;
      if (t > 0) {
        double* Ct = C + t * nn;
        trsm_right_lower_t(n, n - c0, Lf + (t - 1) * nn + c0 * n + c0, n, Ct + c0, n);
        dsyrk_lower(n, n - c0, -1.0, Ct + c0, n, L, n);
      }
      if (t == m) return;
      if (!cholesky(n, L, n)) {
        ok[0] = false;
        return;
      }
      if (fwd) forward_step(n, L, t > 0 ? C + t * nn : nullptr, t > 0 ? y(t - 1) : nullptr, y_start(t));
    }
  }
  // Bottom: the same elimination in reverse block order, whose coupling blocks are the B^T:
  // C'_{t-1} = B_t^T L'_t^{-T} (rows < c0 stay zero) in place of B_t at C[t], and
  // L'_t L'_t^T = D_t - C'_t C'_t^T, for t = H-1 .. m+1; then P = -C'_m C'_m^T.
  void coupling_below(int t) const {  // C[t]: B_t -> C'_{t-1}
    double* Ct = C + t * nn;
    transpose_square(n, Ct, n);
    trsm_right_lower_t(n - c0, n, Lf + t * nn, n, Ct + c0 * n, n);
  }
  void bottom() {
    for (int t = H - 1; t > m; --t) {
      if (!(lend && t == m + 1)) fill(t);
      while (lend && t == m + 1 && !lent_filled.load(std::memory_order_acquire)) {  // on one thread: filled
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
      }
      double* L = Lf + t * nn;
      if (t + 1 < H) {
        coupling_below(t + 1);
        dsyrk_lower(n - c0, n, -1.0, C + (t + 1) * nn + c0 * n, n, L + c0 * n + c0, n);
      }
      if (!cholesky(n, L, n)) {
        ok[1] = false;
        return;
      }
      if (fwd) forward_step(n, L, t + 1 < H ? C + (t + 1) * nn : nullptr, t + 1 < H ? y(t + 1) : nullptr, y_start(t));
    }
    coupling_below(m + 1);
    std::fill(P, P + nn, 0.0);
    dsyrk_lower(n - c0, n, -1.0, C + (m + 1) * nn + c0 * n, n, P + c0 * n + c0, n);
  }
};
}  // namespace

// (H-1)/2, the top chain also filling block m+1 (TwistedFactor::lend): for even H the top then
// fills two blocks more and the bottom solves one coupling and factors one block more, about the
// same time (H = 30: 16 fills, 14 couplings and factors against 14 fills, 15 and 15).
int block_tridiag_middle(int H) { return (H - 1) / 2; }

bool block_tridiag_factor(int H, int n, const double* D, const double* B, double damping, double* Lf, double* C,
                          int zero_cols) {
  return block_tridiag_factor(H, n, StoredBlocks(n, D, B), damping, Lf, C, zero_cols);
}

bool block_tridiag_factor(int H, int n, const BlockSource& src, double damping, double* Lf, double* C,
                          int zero_cols, const ForwardSolve* forward) {
  const long nn = long(n) * n;
  const int c0 = std::min(std::max(zero_cols, 0), n), m = block_tridiag_middle(H);
  const bool below = m + 1 < H;  // blocks below the middle one
  thread_local std::vector<double> middle_update;
  if (below && middle_update.size() < size_t(nn)) middle_update.resize(nn);
  TwistedFactor f{&src, forward, H, n, c0, m, nn, damping, Lf, C, middle_update.data()};
  f.lend = m + 2 < H;
  TwistedFactor* fp = &f;  // one-pointer capture: no allocation inside std::function
  parallel_tasks(below ? 2 : 1, [fp](int64_t chain) { chain == 0 ? fp->top() : fp->bottom(); });
  if (!f.ok[0] || !f.ok[1]) return false;
  // The middle block: D_m - C_m C_m^T (top) - C'_m C'_m^T (bottom), its factor and forward step.
  double* Lm = Lf + m * nn;
  if (below)
    for (int i = c0; i < n; ++i)
      for (int k = c0; k <= i; ++k) Lm[i * n + k] += f.P[i * n + k];
  if (!cholesky(n, Lm, n)) return false;
  if (forward) {
    f.y_start(m);
    forward_middle(H, n, m, Lf, C, forward->y);
  }
  return true;
}

void block_tridiag_solve_forward(int H, int n, const double* Lf, const double* C, double* b) {
  const long nn = long(n) * n;
  const int m = block_tridiag_middle(H);
  auto bt = [&](int t) { return b + long(t) * n; };
  for (int t = 0; t < m; ++t) forward_step(n, Lf + t * nn, t > 0 ? C + t * nn : nullptr, t > 0 ? bt(t - 1) : nullptr, bt(t));
  for (int t = H - 1; t > m; --t)
    forward_step(n, Lf + t * nn, t + 1 < H ? C + (t + 1) * nn : nullptr, t + 1 < H ? bt(t + 1) : nullptr, bt(t));
  forward_middle(H, n, m, Lf, C, b);
}

void block_tridiag_solve_backward(int H, int n, const double* Lf, const double* C, double* b) {
  const long nn = long(n) * n;
  const int m = block_tridiag_middle(H);
  backward_step(n, Lf + m * nn, nullptr, nullptr, b + long(m) * n);
  // x_t = L_t^{-T} (y_t - C_{t+1}^T x_{t+1}) above the middle, L'_t^{-T} (y'_t - C'_{t-1}^T x_{t-1})
  // below it: independent once x_m is known, one chain per thread.
  struct Job {
    int H, n, m;
    long nn;
    const double *Lf, *C;
    double* b;
  } job{H, n, m, nn, Lf, C, b};
  const Job* jp = &job;
  parallel_tasks(2, [jp](int64_t chain) {
    const Job& j = *jp;
    if (chain == 0)
      for (int t = j.m - 1; t >= 0; --t)
        backward_step(j.n, j.Lf + t * j.nn, j.C + (t + 1) * j.nn, j.b + long(t + 1) * j.n, j.b + long(t) * j.n);
    else
      for (int t = j.m + 1; t < j.H; ++t)
        backward_step(j.n, j.Lf + t * j.nn, j.C + t * j.nn, j.b + long(t - 1) * j.n, j.b + long(t) * j.n);
  });
}

void block_tridiag_solve(int H, int n, const double* Lf, const double* C, double* b) {
  block_tridiag_solve_forward(H, n, Lf, C, b);
  block_tridiag_solve_backward(H, n, Lf, C, b);
}

void block_tridiag_to_dense(int H, int n, const double* D, const double* B, double damping, double* M) {
  const long N = long(H) * n, nn = long(n) * n;
  std::fill(M, M + N * N, 0.0);
  for (int t = 0; t < H; ++t) {
    const double* Dt = D + t * nn;
    for (int i = 0; i < n; ++i)
      for (int j = 0; j <= i; ++j) {
        const double v = Dt[i * n + j] + (i == j ? damping : 0.0);
        M[(t * n + i) * N + t * n + j] = v;
        M[(t * n + j) * N + t * n + i] = v;
      }
    if (t > 0) {
      const double* Bt = B + t * nn;
      for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j) {
          M[(t * n + i) * N + (t - 1) * n + j] = Bt[i * n + j];
          M[((t - 1) * n + j) * N + t * n + i] = Bt[i * n + j];
        }
    }
  }
}

}  // namespace latco
