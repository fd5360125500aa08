// Fused GRU cell (the gate math of model/transition_weights.h) and the Gaussian terms of the
// ELBO: KL between diagonal Normals and the Normal log-likelihood, forward and backward.
// The dense layers around the GRU are cuBLAS GEMMs done by the caller. Left out: LSTM, layer norm.
#include "common.cuh"

namespace latco::cuda {
namespace {

__device__ __forceinline__ float sigmoidf_(float x) {
  if (x >= 0) return 1.0f / (1.0f + expf(-x));
  float e = expf(x);
  return e / (1.0f + e);
}

// gx, gh: (B, 3D) gates [r | u | n]; h, h_new: (B, D); saved: (B, 3D) <- [r | u | n]
__global__ void gru_forward_kernel(int B, int D, const float* __restrict__ gx, const float* __restrict__ gh,
                                   const float* __restrict__ h, float* __restrict__ h_new, float* __restrict__ saved) {
  const int64_t n_all = (int64_t)B * D;
  for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < n_all; k += (int64_t)gridDim.x * blockDim.x) {
    const int64_t b = k / D, d = k % D, g = b * 3 * D;
    const float r = sigmoidf_(gx[g + d] + gh[g + d]);
    const float u = sigmoidf_(gx[g + D + d] + gh[g + D + d]);
    const float n = tanhf(gx[g + 2 * D + d] + r * gh[g + 2 * D + d]);
    h_new[k] = (1.0f - u) * n + u * h[k];
    if (saved) {
      saved[g + d] = r;
      saved[g + D + d] = u;
      saved[g + 2 * D + d] = n;
    }
  }
}

// h' = (1-u) n + u h:  dn = dh' (1-u), du = dh' (h - n), dh += dh' u
// n = tanh(a_n), a_n = gx_n + r gh_n:  da_n = dn (1 - n^2); dgx_n += da_n; dgh_n += da_n r; dr = da_n gh_n
// u = sigmoid(a_u): da_u = du u (1-u);  r = sigmoid(a_r): da_r = dr r (1-r)  (both to gx and gh)
__global__ void gru_backward_kernel(int B, int D, const float* __restrict__ gh, const float* __restrict__ h,
                                    const float* __restrict__ saved, const float* __restrict__ dh_new,
                                    float* __restrict__ dgx, float* __restrict__ dgh, float* __restrict__ dh) {
  const int64_t n_all = (int64_t)B * D;
  for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < n_all; k += (int64_t)gridDim.x * blockDim.x) {
    const int64_t b = k / D, d = k % D, g = b * 3 * D;
    const float r = saved[g + d], u = saved[g + D + d], n = saved[g + 2 * D + d];
    const float go = dh_new[k];
    const float dn = go * (1.0f - u), du = go * (h[k] - n);
    const float da_n = dn * (1.0f - n * n);
    const float dr = da_n * gh[g + 2 * D + d];
    const float da_u = du * u * (1.0f - u), da_r = dr * r * (1.0f - r);
    if (dh) dh[k] += go * u;
    if (dgx) {
      dgx[g + d] += da_r;
      dgx[g + D + d] += da_u;
      dgx[g + 2 * D + d] += da_n;
    }
    if (dgh) {
      dgh[g + d] += da_r;
      dgh[g + D + d] += da_u;
      dgh[g + 2 * D + d] += da_n * r;
    }
  }
}

// KL(N(m1, s1^2) || N(m2, s2^2)) = log(s2/s1) + (s1^2 + (m1-m2)^2) / (2 s2^2) - 1/2
__global__ void kl_forward_kernel(int64_t n, const float* __restrict__ m1, const float* __restrict__ s1,
                                  const float* __restrict__ m2, const float* __restrict__ s2, float* __restrict__ kl) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const float dm = m1[i] - m2[i], v2 = s2[i] * s2[i];
    kl[i] = logf(s2[i] / s1[i]) + (s1[i] * s1[i] + dm * dm) / (2.0f * v2) - 0.5f;
  }
}

// dKL/dm1 = (m1-m2)/s2^2 = -dKL/dm2;  dKL/ds1 = -1/s1 + s1/s2^2;  dKL/ds2 = 1/s2 - (s1^2 + (m1-m2)^2)/s2^3
__global__ void kl_backward_kernel(int64_t n, const float* __restrict__ m1, const float* __restrict__ s1,
                                   const float* __restrict__ m2, const float* __restrict__ s2,
                                   const float* __restrict__ g, float* __restrict__ dm1, float* __restrict__ ds1,
                                   float* __restrict__ dm2, float* __restrict__ ds2) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const float dm = m1[i] - m2[i], v2 = s2[i] * s2[i];
    if (dm1) dm1[i] += g[i] * dm / v2;
    if (dm2) dm2[i] -= g[i] * dm / v2;
    if (ds1) ds1[i] += g[i] * (-1.0f / s1[i] + s1[i] / v2);
    if (ds2) ds2[i] += g[i] * (1.0f / s2[i] - (s1[i] * s1[i] + dm * dm) / (v2 * s2[i]));
  }
}

// log N(x; m, s^2) = -z^2/2 - log s - log(2 pi)/2,  z = (x-m)/s
__global__ void logp_forward_kernel(int64_t n, const float* __restrict__ x, const float* __restrict__ m,
                                    const float* __restrict__ s, float* __restrict__ lp) {
  const float half_log_2pi = 0.91893853320467274f;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const float z = (x[i] - m[i]) / s[i];
    lp[i] = -0.5f * z * z - logf(s[i]) - half_log_2pi;
  }
}

// d/dx = -z/s = -d/dm;  d/ds = (z^2 - 1)/s
__global__ void logp_backward_kernel(int64_t n, const float* __restrict__ x, const float* __restrict__ m,
                                     const float* __restrict__ s, const float* __restrict__ g,
                                     float* __restrict__ dx, float* __restrict__ dm, float* __restrict__ ds) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const float z = (x[i] - m[i]) / s[i];
    if (dx) dx[i] -= g[i] * z / s[i];
    if (dm) dm[i] += g[i] * z / s[i];
    if (ds) ds[i] += g[i] * (z * z - 1.0f) / s[i];
  }
}

}  // namespace

void gru_cell_forward(int B, int D, const float* gx, const float* gh, const float* h, float* h_new, float* saved) {
  if ((int64_t)B * D <= 0) return;
  gru_forward_kernel<<<grid_for((int64_t)B * D), kThreads>>>(B, D, gx, gh, h, h_new, saved);
  cudaCheckLaunch();
}

void gru_cell_backward(int B, int D, const float* gh, const float* h, const float* saved, const float* dh_new,
                       float* dgx, float* dgh, float* dh) {
  LATCO_CHECK(saved) << "cuda::gru_cell_backward needs the gates saved by gru_cell_forward";
  if ((int64_t)B * D <= 0) return;
  gru_backward_kernel<<<grid_for((int64_t)B * D), kThreads>>>(B, D, gh, h, saved, dh_new, dgx, dgh, dh);
  cudaCheckLaunch();
}

void kl_normal_forward(int64_t n, const float* m1, const float* s1, const float* m2, const float* s2, float* kl) {
  if (n <= 0) return;
  kl_forward_kernel<<<grid_for(n), kThreads>>>(n, m1, s1, m2, s2, kl);
  cudaCheckLaunch();
}

void kl_normal_backward(int64_t n, const float* m1, const float* s1, const float* m2, const float* s2,
                        const float* dkl, float* dm1, float* ds1, float* dm2, float* ds2) {
  if (n <= 0) return;
  kl_backward_kernel<<<grid_for(n), kThreads>>>(n, m1, s1, m2, s2, dkl, dm1, ds1, dm2, ds2);
  cudaCheckLaunch();
}

void normal_log_prob_forward(int64_t n, const float* x, const float* m, const float* s, float* lp) {
  if (n <= 0) return;
  logp_forward_kernel<<<grid_for(n), kThreads>>>(n, x, m, s, lp);
  cudaCheckLaunch();
}

void normal_log_prob_backward(int64_t n, const float* x, const float* m, const float* s, const float* dlp, float* dx,
                              float* dm, float* ds) {
  if (n <= 0) return;
  logp_backward_kernel<<<grid_for(n), kThreads>>>(n, x, m, s, dlp, dx, dm, ds);
  cudaCheckLaunch();
}

}  // namespace latco::cuda
