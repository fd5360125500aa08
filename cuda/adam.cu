// Adam with global-norm gradient clipping on the GPU: the device twin of the one definition of the
// rule, nn::adam_coeffs and nn::adam_update (src/nn/adam.h):
//   g <- g * min(1, clip / ||g||) over all tensors together, m <- b1 m + (1-b1) g,
//   v <- b2 v + (1-b2) g^2, p <- p - lr * m_hat / (sqrt(v_hat) + eps).
// The norm is reduced per tensor on the device and finished in a fixed order, on the host
// (adam_update) or on the device (global_grad_norm_device, then adam_apply: no copy back).
// Left out: weight decay, AMSGrad, multi-tensor fused launches.
#include <cmath>
#include <vector>

#include "common.cuh"

namespace latco::cuda {
namespace {

constexpr int kNormThreads = 256;

// partial[blockIdx.x] = sum of g^2 over this block's grid-stride share
__global__ void sumsq_partial_kernel(int64_t n, const float* __restrict__ g, double* __restrict__ partial) {
  __shared__ double sh[kNormThreads];
  double acc = 0.0;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    acc += (double)g[i] * g[i];
  sh[threadIdx.x] = acc;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if ((int)threadIdx.x < s) sh[threadIdx.x] += sh[threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0) partial[blockIdx.x] = sh[0];
}

__global__ void adam_kernel(int64_t n, float* __restrict__ p, const float* __restrict__ g, float* __restrict__ m,
                            float* __restrict__ v, float scale, float lr, float b1, float b2, float eps, float bc1,
                            float bc2) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const float gi = g[i] * scale;
    const float mi = b1 * m[i] + (1.0f - b1) * gi;
    const float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] -= lr * (mi / bc1) / (sqrtf(vi / bc2) + eps);
  }
}

// out[0] = sqrt(sum of partial[0..n)), added in index order by one thread (the host's order).
__global__ void finish_norm_kernel(int n, const double* __restrict__ partial, float* __restrict__ out) {
  if (blockIdx.x != 0 || threadIdx.x != 0) return;
  double total = 0.0;
  for (int i = 0; i < n; ++i) total += partial[i];
  out[0] = (float)sqrt(total);
}

int norm_parts(int64_t n) {
  int64_t k = (n + kNormThreads * 8 - 1) / (kNormThreads * 8);
  return (int)(k < 1 ? 1 : (k > 256 ? 256 : k));
}

// Per-block sums of squares of every grad into one array; returns its length (0: no grads).
int norm_partials(int count, const float* const* grads, const int64_t* sizes, DeviceArray<double>& partial) {
  std::vector<int> offset(count + 1, 0);
  for (int i = 0; i < count; ++i) offset[i + 1] = offset[i] + (grads[i] ? norm_parts(sizes[i]) : 0);
  if (offset[count] == 0) return 0;
  partial = DeviceArray<double>(offset[count]);
  for (int i = 0; i < count; ++i) {
    if (!grads[i]) continue;
    sumsq_partial_kernel<<<norm_parts(sizes[i]), kNormThreads>>>(sizes[i], grads[i], partial.data() + offset[i]);
    cudaCheckLaunch();
  }
  return offset[count];
}

}  // namespace

double global_grad_norm(int count, const float* const* grads, const int64_t* sizes) {
  DeviceArray<double> partial;
  const int n = norm_partials(count, grads, sizes, partial);
  if (n == 0) return 0.0;
  std::vector<double> host(n);
  partial.download(host.data());
  double total = 0.0;
  for (double x : host) total += x;
  return std::sqrt(total);
}

void global_grad_norm_device(int count, const float* const* grads, const int64_t* sizes, float* out) {
  DeviceArray<double> partial;
  const int n = norm_partials(count, grads, sizes, partial);
  if (n == 0) {
    memset_zero(out, sizeof(float));
    return;
  }
  finish_norm_kernel<<<1, 32>>>(n, partial.data(), out);
  cudaCheckLaunch();
}

float adam_update(int count, float* const* params, const float* const* grads, float* const* m, float* const* v,
                  const int64_t* sizes, const AdamStep& s) {
  // A NaN/Inf gradient: nothing is updated and the norm is returned for the caller to report (as on the CPU).
  const double norm = global_grad_norm(count, grads, sizes);
  adam_apply(count, params, grads, m, v, sizes, s, norm);
  return (float)norm;
}

void adam_apply(int count, float* const* params, const float* const* grads, float* const* m, float* const* v,
                const int64_t* sizes, const AdamStep& s, double norm) {
  LATCO_CHECK(s.t >= 1) << "cuda::adam_update: step number t must be >= 1 (bias correction), got " << s.t;
  if (!std::isfinite(norm)) return;
  const float scale = (s.clip > 0 && norm > s.clip) ? (float)(s.clip / norm) : 1.0f;
  const float bc1 = (float)(1.0 - std::pow((double)s.beta1, (double)s.t));
  const float bc2 = (float)(1.0 - std::pow((double)s.beta2, (double)s.t));
  for (int i = 0; i < count; ++i) {
    if (!grads[i] || sizes[i] <= 0) continue;  // no grad: left alone
    adam_kernel<<<grid_for(sizes[i]), kThreads>>>(sizes[i], params[i], grads[i], m[i], v[i], scale, s.lr, s.beta1,
                                                  s.beta2, s.eps, bc1, bc2);
    cudaCheckLaunch();
  }
}

}  // namespace latco::cuda
