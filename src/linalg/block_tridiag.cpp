// Block-tridiagonal Cholesky (forward elimination of the block rows, then back
// substitution), on the double kernels of linalg/dense.*. Cost per block: one
// n x n Cholesky, one triangular solve and one symmetric rank-n update.
#include "linalg/block_tridiag.h"

#include <algorithm>
#include <cstring>

#include "core/thread_pool.h"
#include "kernels/flops.h"
#include "linalg/dense.h"

namespace latco {

namespace {
// Stored blocks as a source: the lower triangle of D_t and all of B_t, copied.
class StoredBlocks : public BlockSource {
 public:
  StoredBlocks(int n, const double* D, const double* B) : n_(n), D_(D), B_(B) {}
  void fill(int t, int part, double* Dt, double* Bt) const override {
    const long nn = long(n_) * n_;
    for (int i = 0; i < n_; ++i) std::memcpy(Dt + i * n_, D_ + t * nn + i * n_, sizeof(double) * (i + 1));
    if (t > 0) std::memcpy(Bt, B_ + t * nn, sizeof(double) * nn);
  }

 private:
  int n_;
  const double *D_, *B_;
};
}  // namespace

bool block_tridiag_factor(int H, int n, const double* D, const double* B, double damping, double* Lf, double* C,
                          int zero_cols) {
  return block_tridiag_factor(H, n, StoredBlocks(n, D, B), damping, Lf, C, zero_cols);
}

bool block_tridiag_factor(int H, int n, const BlockSource& src, double damping, double* Lf, double* C,
                          int zero_cols, const ForwardSolve* forward) {
  const long nn = long(n) * n;
  const int c0 = std::min(std::max(zero_cols, 0), n);
  const int parts = std::max(1, src.parts());
  // One job: the factor of block t's diagonal tile and its forward step (task 0, when t >= 0)
  // beside the parts of block t+1 (when t+1 < H), which then gets its damping.
  struct Job {
    const BlockSource* src;
    const ForwardSolve* fwd;
    int H, n, parts, t;
    long nn;
    double* Lf;
    double* C;
    bool ok;
  } job{&src, forward, H, n, parts, -1, nn, Lf, C, true};
  Job* jp = &job;  // one-pointer capture: no allocation inside std::function
  auto factor_and_fill = [&](int t) {
    job.t = t;
    const int first = t >= 0 ? 0 : 1, last = t + 1 < H ? parts : 0;
    parallel_tasks(last + 1 - first, [jp, first](int64_t i) {
      const int task = int(i) + first;
      if (task == 0) {
        const int t = jp->t, n = jp->n;
        if (!cholesky(n, jp->Lf + t * jp->nn, n)) {
          jp->ok = false;
        } else if (jp->fwd) {
          const ForwardSolve& f = *jp->fwd;
          for (int i = 0; i < n; ++i) f.y[long(t) * n + i] = f.sign * f.rhs[long(t) * n + i];
          block_tridiag_forward_step(t, n, jp->Lf, jp->C, f.y);
        }
      } else {
        const int tn = jp->t + 1;
        jp->src->fill(tn, task - 1, jp->Lf + tn * jp->nn, jp->C + tn * jp->nn);
      }
    });
    if (t + 1 < H)
      for (int i = 0; i < n; ++i) Lf[(t + 1) * nn + i * n + i] += damping;
  };
  factor_and_fill(-1);  // block 0
  for (int t = 0; t < H; ++t) {
    double* L = Lf + t * nn;
    if (t > 0) {
      // C_t = B_t L_{t-1}^{-T}: solve X L_{t-1}^T = B_t row by row (columns < c0 stay zero).
      double* Ct = C + t * nn;
      const double* Lp = Lf + (t - 1) * nn;
      trsm_right_lower_t(n, n - c0, Lp + c0 * n + c0, n, Ct + c0, n);
      // D_t + damping I - C_t C_t^T (lower triangle).
      dsyrk_lower(n, n - c0, -1.0, Ct + c0, n, L, n);
    }
    factor_and_fill(t);
    if (!job.ok) return false;
  }
  return true;
}

void block_tridiag_forward_step(int t, int n, const double* Lf, const double* C, double* b) {
  const long nn = long(n) * n;
  count_flops(trsm_flops(1, n), true);  // the triangular solve, as trsm with one row (dgemv_n counts C_t y)
  double* bt = b + long(t) * n;
  if (t > 0) dgemv_n(n, n, -1.0, C + t * nn, n, b + long(t - 1) * n, bt);
  trsv_lower(n, Lf + t * nn, n, bt);
}

void block_tridiag_solve_backward(int H, int n, const double* Lf, const double* C, double* b) {
  const long nn = long(n) * n;
  // The triangular solves and the products C_{t+1}^T x.
  count_flops(H * trsm_flops(1, n) + (H - 1) * gemm_flops(n, 1, n), true);
  // x_t = L_t^{-T} (y_t - C_{t+1}^T x_{t+1}).
  for (int t = H - 1; t >= 0; --t) {
    double* bt = b + long(t) * n;
    if (t + 1 < H) {
      const double* Cn = C + (t + 1) * nn;
      const double* xn = b + long(t + 1) * n;
      for (int k = 0; k < n; ++k) {
        const double xk = xn[k];
        for (int i = 0; i < n; ++i) bt[i] -= Cn[k * n + i] * xk;
      }
    }
    trsv_lower_t(n, Lf + t * nn, n, bt);
  }
}

void block_tridiag_solve(int H, int n, const double* Lf, const double* C, double* b) {
  for (int t = 0; t < H; ++t) block_tridiag_forward_step(t, n, Lf, C, b);  // y_t = L_t^{-1} (b_t - C_t y_{t-1})
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
