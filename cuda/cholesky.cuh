// Strided launchers of the batched Cholesky and triangular-solve kernels (cuda/cholesky.cu),
// for callers whose matrices are not packed back to back (the block-tridiagonal driver
// factors block t of every system: matrices H*n*n apart).
#pragma once
#include <cstdint>

namespace latco::cuda {

// A_b = A + b * stride_a, (n x n) row-major: lower triangle in, L out (upper zeroed);
// info[b * info_stride] = 0 or j+1 for a non-positive pivot j.
void cholesky_strided(int batch, int n, double* A, int64_t stride_a, int* info, int64_t info_stride);
// X_b (n x m) <- L_b^{-1} X_b (trans = false) or L_b^{-T} X_b (trans = true).
void trsm_lower_strided(int batch, int n, int m, const double* L, int64_t stride_l, bool trans, double* X,
                        int64_t stride_x);

}  // namespace latco::cuda
