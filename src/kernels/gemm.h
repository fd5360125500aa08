// Single-precision GEMM, row-major:  C = alpha * op(A) * op(B) + beta * C
//   op(A): (M x K), op(B): (K x N), C: (M x N); lda/ldb/ldc are row strides of
//   the stored (untransposed) matrices. beta == 0 ignores C's old contents (NaN-safe).
// sgemm is the fast kernel (blocked, vectorised, threaded on the pool);
// sgemm_ref is the plain triple loop it is tested against.
#pragma once

namespace latco {

void sgemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
           const float* B, int ldb, float beta, float* C, int ldc);

void sgemm_ref(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
               const float* B, int ldb, float beta, float* C, int ldc);

// Batched over a leading dimension with fixed strides between matrices.
void sgemm_batched(int batch, bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A,
                   int lda, long stride_a, const float* B, int ldb, long stride_b, float beta, float* C, int ldc,
                   long stride_c);

}  // namespace latco
