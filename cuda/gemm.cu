// cuBLAS GEMM with the row-major convention of kernels/gemm.h. cuBLAS is column-major,
// and a row-major matrix read column-major is its transpose, so row-major C = op(A) op(B)
// is computed as column-major C^T = op(B)^T op(A)^T: swap the operands and M with N.
// Left out: TF32/half tensor-core modes (results must match the CPU to float rounding).
#include "common.cuh"

namespace latco::cuda {

void sgemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
           int ldb, float beta, float* C, int ldc) {
  if (M == 0 || N == 0) return;
  cublasOperation_t op_a = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasOperation_t op_b = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  // column-major (N x M) = (N x K) * (K x M)
  cublasCheck(cublasSgemm(cublas_handle(), op_b, op_a, N, M, K, &alpha, B, ldb, A, lda, &beta, C, ldc));
}

void sgemm_batched(int batch, bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
                   long stride_a, const float* B, int ldb, long stride_b, float beta, float* C, int ldc,
                   long stride_c) {
  if (batch == 0 || M == 0 || N == 0) return;
  cublasOperation_t op_a = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasOperation_t op_b = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasCheck(cublasSgemmStridedBatched(cublas_handle(), op_b, op_a, N, M, K, &alpha, B, ldb, stride_b, A, lda,
                                        stride_a, &beta, C, ldc, stride_c, batch));
}

void dgemm_batched(int batch, bool trans_a, bool trans_b, int M, int N, int K, double alpha, const double* A,
                   int lda, long stride_a, const double* B, int ldb, long stride_b, double beta, double* C, int ldc,
                   long stride_c) {
  if (batch == 0 || M == 0 || N == 0) return;
  cublasOperation_t op_a = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasOperation_t op_b = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasCheck(cublasDgemmStridedBatched(cublas_handle(), op_b, op_a, N, M, K, &alpha, B, ldb, stride_b, A, lda,
                                        stride_a, &beta, C, ldc, stride_c, batch));
}

}  // namespace latco::cuda
