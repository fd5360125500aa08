// Block-tridiagonal Cholesky (forward elimination of the block rows, then back
// substitution), on the double kernels of linalg/dense.*. Cost per block: one
// n x n Cholesky, one triangular solve and one symmetric rank-n update.
#include "linalg/block_tridiag.h"

#include <algorithm>
#include <cstring>

#include "linalg/dense.h"

namespace latco {

bool block_tridiag_factor(int H, int n, const double* D, const double* B, double damping, double* Lf, double* C,
                          int zero_cols) {
  const long nn = long(n) * n;
  const int c0 = std::min(std::max(zero_cols, 0), n);
  for (int t = 0; t < H; ++t) {
    double* L = Lf + t * nn;
    const double* Dt = D + t * nn;
    for (int i = 0; i < n; ++i) {  // lower triangle only: the factor reads nothing above it
      std::memcpy(L + i * n, Dt + i * n, sizeof(double) * (i + 1));
      L[i * n + i] += damping;
    }
    if (t > 0) {
      // C_t = B_t L_{t-1}^{-T}: solve X L_{t-1}^T = B_t row by row (columns < c0 stay zero).
      double* Ct = C + t * nn;
      std::memcpy(Ct, B + t * nn, sizeof(double) * nn);
      const double* Lp = Lf + (t - 1) * nn;
      trsm_right_lower_t(n, n - c0, Lp + c0 * n + c0, n, Ct + c0, n);
      // D_t - C_t C_t^T (lower triangle).
      dsyrk_lower(n, n - c0, -1.0, Ct + c0, n, L, n);
    }
    if (!cholesky(n, L, n)) return false;
  }
  return true;
}

void block_tridiag_solve(int H, int n, const double* Lf, const double* C, double* b) {
  const long nn = long(n) * n;
  // Forward: y_t = L_t^{-1} (b_t - C_t y_{t-1}).
  for (int t = 0; t < H; ++t) {
    double* bt = b + long(t) * n;
    if (t > 0) dgemv_n(n, n, -1.0, C + t * nn, n, b + long(t - 1) * n, bt);
    trsv_lower(n, Lf + t * nn, n, bt);
  }
  // Backward: x_t = L_t^{-T} (y_t - C_{t+1}^T x_{t+1}).
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
