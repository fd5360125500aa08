// PLACEHOLDER until the blocked kernel lands: forwards to the reference.
#include "kernels/gemm.h"

namespace latco {

void sgemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
           float beta, float* C, int ldc) {
  sgemm_ref(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void sgemm_batched(int batch, bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda,
                   long sa, const float* B, int ldb, long sb, float beta, float* C, int ldc, long sc) {
  for (int b = 0; b < batch; ++b)
    sgemm(ta, tb, M, N, K, alpha, A + b * sa, lda, B + b * sb, ldb, beta, C + b * sc, ldc);
}

}  // namespace latco
