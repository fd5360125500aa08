// Shape ops on the GPU: the window copy that concat and slice (forward and backward) reduce to,
// and the two-dim swap of transpose. Plain gathers, one thread per destination element.
// Left out: general permutations, strided views (tensors are contiguous; ops that permute copy).
#include "common.cuh"

namespace latco::cuda {
namespace {

// dst (outer, dst_len, inner)[:, dst_off + l, :] (+)= src (outer, src_len, inner)[:, src_off + l, :], l < len
__global__ void copy_window_kernel(int64_t outer, int64_t len, int64_t inner, const float* __restrict__ src,
                                   int64_t src_len, int64_t src_off, float* __restrict__ dst, int64_t dst_len,
                                   int64_t dst_off, bool accumulate) {
  const int64_t n = outer * len * inner;
  for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < n; k += (int64_t)gridDim.x * blockDim.x) {
    const int64_t i = k % inner, l = (k / inner) % len, o = k / (inner * len);
    const float v = src[(o * src_len + src_off + l) * inner + i];
    float& d = dst[(o * dst_len + dst_off + l) * inner + i];
    d = accumulate ? d + v : v;
  }
}

// x (A, n0, B, n1, C) -> y (A, n1, B, n0, C)
__global__ void swap_dims_kernel(int64_t A, int64_t n0, int64_t B, int64_t n1, int64_t C, const float* __restrict__ x,
                                 float* __restrict__ y, bool accumulate) {
  const int64_t n = A * n0 * B * n1 * C;
  for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < n; k += (int64_t)gridDim.x * blockDim.x) {
    // k indexes y as (a, j1, b, j0, c)
    int64_t r = k;
    const int64_t c = r % C; r /= C;
    const int64_t j0 = r % n0; r /= n0;
    const int64_t b = r % B; r /= B;
    const int64_t j1 = r % n1; r /= n1;
    const int64_t a = r;
    const float v = x[(((a * n0 + j0) * B + b) * n1 + j1) * C + c];
    y[k] = accumulate ? y[k] + v : v;
  }
}

}  // namespace

void copy_window(int64_t outer, int64_t len, int64_t inner, const float* src, int64_t src_len, int64_t src_off,
                 float* dst, int64_t dst_len, int64_t dst_off, bool accumulate) {
  LATCO_CHECK(src_off >= 0 && src_off + len <= src_len && dst_off >= 0 && dst_off + len <= dst_len)
      << "cuda::copy_window: window [" << src_off << ", " << src_off + len << ") of " << src_len << " into ["
      << dst_off << ", " << dst_off + len << ") of " << dst_len;
  const int64_t n = outer * len * inner;
  if (n <= 0) return;
  copy_window_kernel<<<grid_for(n), kThreads>>>(outer, len, inner, src, src_len, src_off, dst, dst_len, dst_off,
                                                accumulate);
  cudaCheckLaunch();
}

void swap_dims(int64_t A, int64_t n0, int64_t B, int64_t n1, int64_t C, const float* x, float* y, bool accumulate) {
  const int64_t n = A * n0 * B * n1 * C;
  if (n <= 0) return;
  swap_dims_kernel<<<grid_for(n), kThreads>>>(A, n0, B, n1, C, x, y, accumulate);
  cudaCheckLaunch();
}

}  // namespace latco::cuda
