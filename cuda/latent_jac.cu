// The planner's RSSM Jacobians on the GPU (model/device_latent_model.cpp): the per-sample pieces
// of d mu / d(z, a) for mu = [m, h'] (math in model/transition_weights.h and
// model/rssm_latent_model.cpp); the products between them are cuBLAS GEMMs in the caller.
// Left out: the no-deterministic-path variant (D = 0), the std head's Jacobians.
#include "common.cuh"

namespace latco::cuda {
namespace {

// i over (N, D): the GRU's partial derivatives of h' = (1-u) n + u h from the saved [r, u, n].
__global__ void gru_coef_kernel(int64_t total, int D, const float* __restrict__ saved, const float* __restrict__ gh,
                                const float* __restrict__ h, float* __restrict__ c) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t b = i / D;
    const int d = (int)(i % D);
    const float r = saved[b * 3 * D + d], u = saved[b * 3 * D + D + d], n = saved[b * 3 * D + 2 * D + d];
    const float ghn = gh[b * 3 * D + 2 * D + d];
    const float cn = (1.0f - u) * (1.0f - n * n);
    float* cb = c + b * 4 * D;
    cb[d] = cn * ghn * r * (1.0f - r);              // d h' / d g_r
    cb[D + d] = (h[b * D + d] - n) * u * (1.0f - u);  // d h' / d g_u
    cb[2 * D + d] = cn;                              // d h' / d g_n (x side)
    cb[3 * D + d] = cn * r;                          // d h' / d (h W_h + b_h)_n
  }
}

// i over (N, D, D): d h'_d / d h_j.  W_h: (D, 3D)
__global__ void gru_jac_h_kernel(int64_t total, int D, const float* __restrict__ c, const float* __restrict__ saved,
                                 const float* __restrict__ Wh, float* __restrict__ out) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    const int j = (int)(i % D);
    const int d = (int)((i / D) % D);
    const int64_t b = i / ((int64_t)D * D);
    const float* cb = c + b * 4 * D;
    const float* w = Wh + (int64_t)j * 3 * D;
    float v = cb[d] * w[d] + cb[D + d] * w[D + d] + cb[3 * D + d] * w[2 * D + d];
    if (j == d) v += saved[b * 3 * D + D + d];  // the direct path u h
    out[i] = v;
  }
}

// i over (N, D, Hd): d h'_d / d x_k times e[b][k] (the ELU' of x).  W_x: (Hd, 3D)
__global__ void gru_jac_x_kernel(int64_t total, int D, int Hd, const float* __restrict__ c,
                                 const float* __restrict__ Wx, const float* __restrict__ e, float* __restrict__ out) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    const int k = (int)(i % Hd);
    const int d = (int)((i / Hd) % D);
    const int64_t b = i / ((int64_t)Hd * D);
    const float* cb = c + b * 4 * D;
    const float* w = Wx + (int64_t)k * 3 * D;
    out[i] = (cb[d] * w[d] + cb[D + d] * w[D + d] + cb[2 * D + d] * w[2 * D + d]) * e[b * Hd + k];
  }
}

// i over (N, R, K): out[b][r][k] = W[k][r] * e[b][k].  W: (K, R)
__global__ void scale_wt_kernel(int64_t total, int R, int K, const float* __restrict__ W, const float* __restrict__ e,
                                float* __restrict__ out) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    const int k = (int)(i % K);
    const int r = (int)((i / K) % R);
    const int64_t b = i / ((int64_t)K * R);
    out[i] = W[(int64_t)k * R + r] * e[b * K + k];
  }
}

// i over (N, rows, cols): one block of each sample's matrix copied.
__global__ void copy_blocks_kernel(int64_t total, int rows, int cols, const float* __restrict__ src,
                                   int64_t src_stride, int src_ld, float* __restrict__ dst, int64_t dst_stride,
                                   int dst_ld) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    const int c = (int)(i % cols);
    const int r = (int)((i / cols) % rows);
    const int64_t b = i / ((int64_t)cols * rows);
    dst[b * dst_stride + (int64_t)r * dst_ld + c] = src[b * src_stride + (int64_t)r * src_ld + c];
  }
}

}  // namespace

void gru_jacobian_coefficients(int N, int D, const float* saved, const float* gh, const float* h, float* c) {
  const int64_t total = (int64_t)N * D;
  if (total <= 0) return;
  gru_coef_kernel<<<grid_for(total), kThreads>>>(total, D, saved, gh, h, c);
  cudaCheckLaunch();
}

void gru_jacobian_h(int N, int D, const float* c, const float* saved, const float* W_h, float* out) {
  const int64_t total = (int64_t)N * D * D;
  if (total <= 0) return;
  gru_jac_h_kernel<<<grid_for(total), kThreads>>>(total, D, c, saved, W_h, out);
  cudaCheckLaunch();
}

void gru_jacobian_x(int N, int D, int Hd, const float* c, const float* W_x, const float* e, float* out) {
  const int64_t total = (int64_t)N * D * Hd;
  if (total <= 0) return;
  gru_jac_x_kernel<<<grid_for(total), kThreads>>>(total, D, Hd, c, W_x, e, out);
  cudaCheckLaunch();
}

void scale_transposed(int N, int R, int K, const float* W, const float* e, float* out) {
  const int64_t total = (int64_t)N * R * K;
  if (total <= 0) return;
  scale_wt_kernel<<<grid_for(total), kThreads>>>(total, R, K, W, e, out);
  cudaCheckLaunch();
}

void copy_blocks(int N, int rows, int cols, const float* src, int64_t src_stride, int src_ld, float* dst,
                 int64_t dst_stride, int dst_ld) {
  const int64_t total = (int64_t)N * rows * cols;
  if (total <= 0) return;
  copy_blocks_kernel<<<grid_for(total), kThreads>>>(total, rows, cols, src, src_stride, src_ld, dst, dst_stride,
                                                    dst_ld);
  cudaCheckLaunch();
}

}  // namespace latco::cuda
