// Sum and mean reductions, over everything or over one axis, and their backward passes.
// Deterministic: a fixed partition and a fixed tree order (no atomics), double accumulators.
// Left out: max/argmax reductions, reductions over several axes at once (chain them).
#include "common.cuh"

namespace latco::cuda {
namespace {

// Block-wide sum of one double per thread (blockDim.x a multiple of 32, at most 1024).
__device__ double block_sum(double v) {
  __shared__ double warp_sums[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
  if (lane == 0) warp_sums[warp] = v;
  __syncthreads();
  double total = 0.0;
  if (warp == 0) {
    total = lane < (int)(blockDim.x >> 5) ? warp_sums[lane] : 0.0;
    for (int off = 16; off > 0; off >>= 1) total += __shfl_down_sync(0xffffffffu, total, off);
  }
  __syncthreads();  // warp_sums may be reused by the caller's next call
  return total;     // valid in thread 0
}

// Pass 1: block i sums its grid-stride share of x into partial[i].
__global__ void sum_partial_kernel(int64_t n, const float* __restrict__ x, double* __restrict__ partial) {
  double acc = 0.0;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    acc += x[i];
  double s = block_sum(acc);
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

// Pass 2: one block sums the partials.
__global__ void sum_final_kernel(int nparts, const double* __restrict__ partial, float* __restrict__ y, float scale) {
  double acc = 0.0;
  for (int i = threadIdx.x; i < nparts; i += blockDim.x) acc += partial[i];
  double s = block_sum(acc);
  if (threadIdx.x == 0) y[0] = (float)(scale * s);
}

__global__ void broadcast_scalar_add_kernel(int64_t n, const float* __restrict__ dy, float* __restrict__ dx,
                                            float scale) {
  const float g = scale * dy[0];
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    dx[i] += g;
}

// x: (outer, len, inner) -> y: (outer, inner); one thread per output, reading down the
// middle axis (consecutive threads read consecutive inner elements: coalesced).
__global__ void sum_axis_kernel(int64_t outer, int64_t len, int64_t inner, const float* __restrict__ x,
                                float* __restrict__ y, float scale) {
  const int64_t n = outer * inner;
  for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < n; k += (int64_t)gridDim.x * blockDim.x) {
    const int64_t o = k / inner, i = k % inner;
    const float* p = x + o * len * inner + i;
    double acc = 0.0;
    for (int64_t l = 0; l < len; ++l) acc += p[l * inner];
    y[k] = (float)(scale * acc);
  }
}

// inner == 1 (the last axis): one warp per row, lanes striding along the contiguous row.
__global__ void sum_rows_kernel(int64_t rows, int64_t len, const float* __restrict__ x, float* __restrict__ y,
                                float scale) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = (int64_t)gridDim.x * (blockDim.x / 32);
  for (int64_t r = blockIdx.x * (int64_t)(blockDim.x / 32) + threadIdx.x / 32; r < rows; r += warps) {
    const float* p = x + r * len;
    double acc = 0.0;
    for (int64_t l = lane; l < len; l += 32) acc += p[l];
    for (int off = 16; off > 0; off >>= 1) acc += __shfl_down_sync(0xffffffffu, acc, off);
    if (lane == 0) y[r] = (float)(scale * acc);
  }
}

__global__ void sum_axis_backward_kernel(int64_t outer, int64_t len, int64_t inner, const float* __restrict__ dy,
                                         float* __restrict__ dx, float scale) {
  const int64_t n = outer * len * inner;
  for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < n; k += (int64_t)gridDim.x * blockDim.x) {
    const int64_t o = k / (len * inner), i = k % inner;
    dx[k] += scale * dy[o * inner + i];
  }
}

}  // namespace

void sum_all(int64_t n, const float* x, float* y, float scale) {
  // The number of partials depends only on n, so the summation order is fixed.
  int64_t nparts64 = (n + kThreads * 8 - 1) / (kThreads * 8);
  const int nparts = (int)(nparts64 < 1 ? 1 : (nparts64 > 1024 ? 1024 : nparts64));
  DeviceArray<double> partial(nparts);
  sum_partial_kernel<<<nparts, kThreads>>>(n, x, partial.data());
  cudaCheckLaunch();
  sum_final_kernel<<<1, 1024>>>(nparts, partial.data(), y, scale);
  cudaCheckLaunch();
}

void sum_all_backward(int64_t n, const float* dy, float* dx, float scale) {
  if (n <= 0) return;
  broadcast_scalar_add_kernel<<<grid_for(n), kThreads>>>(n, dy, dx, scale);
  cudaCheckLaunch();
}

void sum_axis(int64_t outer, int64_t len, int64_t inner, const float* x, float* y, float scale) {
  if (outer * inner <= 0) return;
  if (inner == 1 && len >= 32) {
    sum_rows_kernel<<<grid_for(outer, kThreads / 32), kThreads>>>(outer, len, x, y, scale);
  } else {
    sum_axis_kernel<<<grid_for(outer * inner), kThreads>>>(outer, len, inner, x, y, scale);
  }
  cudaCheckLaunch();
}

void sum_axis_backward(int64_t outer, int64_t len, int64_t inner, const float* dy, float* dx, float scale) {
  const int64_t n = outer * len * inner;
  if (n <= 0) return;
  sum_axis_backward_kernel<<<grid_for(n), kThreads>>>(outer, len, inner, dy, dx, scale);
  cudaCheckLaunch();
}

}  // namespace latco::cuda
