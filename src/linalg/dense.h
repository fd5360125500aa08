// Dense double-precision linear algebra for the LatCo solver: a plain Cholesky
// factor/solve (the reference every fast path is tested against), a register-
// blocked C += alpha A B^T kernel, and the blocked Cholesky / triangular solves
// built on it. Row-major, lower-triangular factors; no pivoting, no LAPACK.
#pragma once

namespace latco {

// ----- reference (plain loops) -----
// In place: the lower triangle of a (n x n, row stride lda) becomes L with a = L L^T.
// Returns false (and leaves a partly factored) if a is not numerically positive definite.
bool cholesky_ref(int n, double* a, int lda);
// Solves L L^T x = b in place (b: (n)), L from cholesky_ref / cholesky.
void cholesky_solve_ref(int n, const double* L, int lda, double* b);
// C (M x N) += alpha * A (M x K) * B (N x K)^T, plain triple loop.
void dgemm_nt_ref(int M, int N, int K, double alpha, const double* A, int lda, const double* B, int ldb,
                  double* C, int ldc);

// ----- fast kernels (same contracts as the references) -----
// C (M x N) += alpha * A (M x K) * B (N x K)^T. B^T packed, 12 x 16 register tiles,
// row panels split over the thread pool when large; results do not depend on the thread count.
void dgemm_nt(int M, int N, int K, double alpha, const double* A, int lda, const double* B, int ldb,
              double* C, int ldc);
// Lower triangle only (writes exactly the entries j <= i): C (N x N) += alpha * A A^T, A: (N x K).
void dsyrk_lower(int N, int K, double alpha, const double* A, int lda, double* C, int ldc);
// The same for C += alpha A^T A with A: (K x N) float, row stride lda (e.g. a Jacobian's Gram matrix):
// read in place, no transposed copy; every entry gets dsyrk_lower's operations on double(A)^T. Serial.
// Only C's rows [r0, r1) (r1 < 0: N), so that parts of one update can run on different threads.
void dsyrk_lower_tf(int N, int K, double alpha, const float* A, int lda, double* C, int ldc, int r0 = 0,
                    int r1 = -1);
// Blocked left-looking Cholesky; reads and writes only the lower triangle's tiles
// (entries above the diagonal inside diagonal tiles are scratch).
bool cholesky(int n, double* a, int lda);
// X L^T = B in place: X (m x n, row stride ldx) overwrites B; L: (n x n) lower.
void trsm_right_lower_t(int m, int n, const double* L, int ldl, double* X, int ldx);
// X (n x n) <- X^T in place, in 8 x 8 tiles transposed in registers.
void transpose_square(int n, double* X, int ldx);
// y (M) += alpha * A (M x N) x (N), rows by vectorised dot products.
void dgemv_n(int M, int N, double alpha, const double* A, int lda, const double* x, double* y);
// In-place vector solves with a lower factor: L y = b, and L^T x = y.  b: (n)
void trsv_lower(int n, const double* L, int ldl, double* b);
void trsv_lower_t(int n, const double* L, int ldl, double* b);

}  // namespace latco
