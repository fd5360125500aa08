// Batched small dense Cholesky factorisation and triangular solves in double precision, one
// thread block per matrix (sizes up to 1024; LatCo's blocks are Z + A <= 234). Right-looking:
// at column j the pivot is taken, the column scaled, and the trailing lower triangle updated by
// the whole block. Left out: pivoting, blocked (panel) variants, matrices larger than 1024.
#include "cholesky.cuh"
#include "common.cuh"

namespace latco::cuda {
namespace {

constexpr int kCholThreads = 512;
constexpr int kMaxN = 1024;

// A: (n, n) lower triangle -> L with A = L L^T. Eq. (9)'s solve factors its blocks with this.
__global__ void cholesky_kernel(int n, double* __restrict__ A_all, int64_t stride_a, int* __restrict__ info,
                                int64_t info_stride) {
  __shared__ double col[kMaxN];  // column j of L below the diagonal
  __shared__ int fail;
  double* A = A_all + blockIdx.x * stride_a;
  const int tid = threadIdx.x;
  if (tid == 0) fail = 0;
  __syncthreads();
  for (int j = 0; j < n; ++j) {
    // ----- pivot -----
    if (tid == 0) {
      const double d = A[(int64_t)j * n + j];
      if (d > 0.0 && isfinite(d)) A[(int64_t)j * n + j] = sqrt(d);
      else fail = j + 1;
    }
    __syncthreads();
    if (fail) break;
    // ----- column j: L[i][j] = A[i][j] / L[j][j] -----
    const double ljj = A[(int64_t)j * n + j];
    for (int i = j + 1 + tid; i < n; i += blockDim.x) {
      const double l = A[(int64_t)i * n + j] / ljj;
      A[(int64_t)i * n + j] = l;
      col[i] = l;
    }
    __syncthreads();
    // ----- trailing update: A[i][k] -= L[i][j] L[k][j] for j < k <= i -----
    const int m = n - j - 1;
    for (int64_t idx = tid; idx < (int64_t)m * m; idx += blockDim.x) {
      const int ii = (int)(idx / m), kk = (int)(idx % m);
      if (kk > ii) continue;
      const int i = j + 1 + ii, k = j + 1 + kk;
      A[(int64_t)i * n + k] -= col[i] * col[k];
    }
    __syncthreads();
  }
  // ----- clean upper triangle (L is used as a full matrix by GEMMs) -----
  for (int64_t idx = tid; idx < (int64_t)n * n; idx += blockDim.x)
    if (idx % n > idx / n) A[idx] = 0.0;
  if (tid == 0) info[blockIdx.x * info_stride] = fail;
}

// X: (n, m) <- L^{-1} X or L^{-T} X, column-oriented substitution: after x_i is final, every
// later row subtracts its multiple of x_i in parallel (two barriers per row).
__global__ void trsm_kernel(int n, int m, const double* __restrict__ L_all, int64_t stride_l, bool trans,
                            double* __restrict__ X_all, int64_t stride_x) {
  __shared__ double lcol[kMaxN];  // the multipliers of row/column i
  const double* L = L_all + blockIdx.x * stride_l;
  double* X = X_all + blockIdx.x * stride_x;
  const int tid = threadIdx.x;
  for (int step = 0; step < n; ++step) {
    const int i = trans ? n - 1 - step : step;
    const double lii = L[(int64_t)i * n + i];
    for (int c = tid; c < m; c += blockDim.x) X[(int64_t)i * m + c] /= lii;
    // L x = b: rows k > i use L[k][i];  L^T x = b: rows k < i use (L^T)[k][i] = L[i][k]
    if (!trans) for (int k = i + 1 + tid; k < n; k += blockDim.x) lcol[k] = L[(int64_t)k * n + i];
    else for (int k = tid; k < i; k += blockDim.x) lcol[k] = L[(int64_t)i * n + k];
    __syncthreads();
    const int k0 = trans ? 0 : i + 1, rows = trans ? i : n - i - 1;
    for (int64_t idx = tid; idx < (int64_t)rows * m; idx += blockDim.x) {
      const int k = k0 + (int)(idx / m), c = (int)(idx % m);
      X[(int64_t)k * m + c] -= lcol[k] * X[(int64_t)i * m + c];
    }
    __syncthreads();
  }
}

}  // namespace

void cholesky_strided(int batch, int n, double* A, int64_t stride_a, int* info, int64_t info_stride) {
  LATCO_CHECK(n >= 1 && n <= kMaxN) << "cuda cholesky: matrix size " << n << " outside [1, " << kMaxN << "]";
  if (batch <= 0) return;
  cholesky_kernel<<<batch, kCholThreads>>>(n, A, stride_a, info, info_stride);
  cudaCheckLaunch();
}

void trsm_lower_strided(int batch, int n, int m, const double* L, int64_t stride_l, bool trans, double* X,
                        int64_t stride_x) {
  LATCO_CHECK(n >= 1 && n <= kMaxN) << "cuda trsm: matrix size " << n << " outside [1, " << kMaxN << "]";
  if (batch <= 0 || m <= 0) return;
  trsm_kernel<<<batch, kCholThreads>>>(n, m, L, stride_l, trans, X, stride_x);
  cudaCheckLaunch();
}

void cholesky_batched(int batch, int n, double* A, int* info) {
  cholesky_strided(batch, n, A, (int64_t)n * n, info, 1);
}

void trsm_lower_batched(int batch, int n, int m, const double* L, bool trans, double* X) {
  trsm_lower_strided(batch, n, m, L, (int64_t)n * n, trans, X, (int64_t)n * m);
}

}  // namespace latco::cuda
