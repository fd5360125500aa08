// Convolutions on the GPU, NCHW: im2col/col2im kernels and cuBLAS GEMMs, the same contract
// as kernels/conv.h (backward accumulates into dx, dw, db). Images go through in chunks so the
// column workspace stays bounded. Left out: cuDNN, implicit-GEMM kernels, non-square kernels.
#include <algorithm>
#include <atomic>

#include "common.cuh"

namespace latco::cuda {
namespace {

// Output size of ConvShape (the formulas of ConvShape::Ho/Wo, repeated here so the CUDA objects
// link into partial builds without kernels/conv_ref.cpp).
int conv_out(int in, const ConvShape& s) {
  return s.transposed ? (in - 1) * s.stride - 2 * s.pad + s.K + s.out_pad : (in + 2 * s.pad - s.K) / s.stride + 1;
}

void check_conv_shape(const ConvShape& s, bool transposed, const char* op) {
  LATCO_CHECK(s.transposed == transposed) << op << ": ConvShape.transposed must be " << (transposed ? "true" : "false");
  LATCO_CHECK(s.N >= 1 && s.C >= 1 && s.H >= 1 && s.W >= 1 && s.O >= 1 && s.K >= 1)
      << op << ": sizes must be positive, got N=" << s.N << " C=" << s.C << " H=" << s.H << " W=" << s.W
      << " O=" << s.O << " K=" << s.K;
  LATCO_CHECK(s.stride >= 1 && s.pad >= 0) << op << ": stride " << s.stride << ", pad " << s.pad;
  LATCO_CHECK(s.out_pad >= 0 && (s.out_pad == 0 || s.out_pad < s.stride) && (transposed || s.out_pad == 0))
      << op << ": out_pad " << s.out_pad << " (transposed only, in [0, stride))";
  LATCO_CHECK(conv_out(s.H, s) >= 1 && conv_out(s.W, s) >= 1)
      << op << ": empty output for input " << s.H << "x" << s.W << ", K=" << s.K << ", stride " << s.stride
      << ", pad " << s.pad;
}

// x: (nb, C, H, W) -> col: (nb, C*K*K, Ho*Wo);  col[n, (c,ki,kj), (i,j)] = x[n, c, i*s-p+ki, j*s-p+kj] or 0
__global__ void im2col_kernel(int nb, int C, int H, int W, int K, int s, int p, int Ho, int Wo,
                              const float* __restrict__ x, float* __restrict__ col) {
  const int64_t P = (int64_t)Ho * Wo, rows = (int64_t)C * K * K, n_all = nb * rows * P;
  for (int64_t idx = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; idx < n_all;
       idx += (int64_t)gridDim.x * blockDim.x) {
    const int64_t q = idx % P, row = (idx / P) % rows, n = idx / (P * rows);
    const int kj = (int)(row % K), ki = (int)((row / K) % K), c = (int)(row / (K * K));
    const int i = (int)(q / Wo), j = (int)(q % Wo);
    const int h = i * s - p + ki, w = j * s - p + kj;
    col[idx] = (h >= 0 && h < H && w >= 0 && w < W) ? x[((n * C + c) * H + h) * (int64_t)W + w] : 0.0f;
  }
}

// The adjoint, as a gather (no atomics): x[n, c, h, w] += sum of the col entries that read it.
__global__ void col2im_kernel(int nb, int C, int H, int W, int K, int s, int p, int Ho, int Wo,
                              const float* __restrict__ col, float* __restrict__ x) {
  const int64_t P = (int64_t)Ho * Wo, n_all = (int64_t)nb * C * H * W;
  for (int64_t idx = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; idx < n_all;
       idx += (int64_t)gridDim.x * blockDim.x) {
    const int w = (int)(idx % W), h = (int)((idx / W) % H);
    const int64_t nc = idx / ((int64_t)H * W);  // n * C + c
    const int c = (int)(nc % C);
    const int64_t n = nc / C;
    const float* cn = col + (n * C + c) * (int64_t)K * K * P;
    float acc = 0.0f;
    for (int ki = 0; ki < K; ++ki) {
      const int hh = h + p - ki;  // = i * s
      if (hh < 0 || hh % s != 0) continue;
      const int i = hh / s;
      if (i >= Ho) continue;
      for (int kj = 0; kj < K; ++kj) {
        const int ww = w + p - kj;
        if (ww < 0 || ww % s != 0) continue;
        const int j = ww / s;
        if (j >= Wo) continue;
        acc += cn[(int64_t)(ki * K + kj) * P + (int64_t)i * Wo + j];
      }
    }
    x[idx] += acc;
  }
}

// y: (N, O, P) += b[o]
__global__ void add_bias_kernel(int64_t N, int O, int64_t P, const float* __restrict__ b, float* __restrict__ y) {
  const int64_t n_all = N * O * P;
  for (int64_t idx = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; idx < n_all;
       idx += (int64_t)gridDim.x * blockDim.x)
    y[idx] += b[(idx / P) % O];
}

// db[o] += sum over n, q of dy[n, o, q]; one warp per channel, fixed order.
__global__ void bias_grad_kernel(int64_t N, int O, int64_t P, const float* __restrict__ dy, float* __restrict__ db) {
  const int lane = threadIdx.x & 31;
  const int o = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
  if (o >= O) return;
  double acc = 0.0;
  for (int64_t j = lane; j < N * P; j += 32) acc += dy[((j / P) * O + o) * P + j % P];
  for (int off = 16; off > 0; off >>= 1) acc += __shfl_down_sync(0xffffffffu, acc, off);
  if (lane == 0) db[o] += (float)acc;
}

void launch_im2col(int nb, int C, int H, int W, int K, int s, int p, int Ho, int Wo, const float* x, float* col) {
  const int64_t n = (int64_t)nb * C * K * K * Ho * Wo;
  if (n <= 0) return;
  im2col_kernel<<<grid_for(n), kThreads>>>(nb, C, H, W, K, s, p, Ho, Wo, x, col);
  cudaCheckLaunch();
}
void launch_col2im(int nb, int C, int H, int W, int K, int s, int p, int Ho, int Wo, const float* col, float* x) {
  const int64_t n = (int64_t)nb * C * H * W;
  if (n <= 0) return;
  col2im_kernel<<<grid_for(n), kThreads>>>(nb, C, H, W, K, s, p, Ho, Wo, col, x);
  cudaCheckLaunch();
}
void add_bias(int64_t N, int O, int64_t P, const float* b, float* y) {
  if (!b || N * O * P <= 0) return;
  add_bias_kernel<<<grid_for(N * O * P), kThreads>>>(N, O, P, b, y);
  cudaCheckLaunch();
}
void bias_grad(int64_t N, int O, int64_t P, const float* dy, float* db) {
  if (!db) return;
  const int warps = kThreads / 32;
  bias_grad_kernel<<<(O + warps - 1) / warps, kThreads>>>(N, O, P, dy, db);
  cudaCheckLaunch();
}

std::atomic<int64_t> g_workspace_floats{int64_t(16) << 20};

// Images per chunk: each workspace (nb x per_image floats) stays within the budget.
int chunk_images(int N, int64_t per_image) {
  int64_t nb = g_workspace_floats.load() / std::max<int64_t>(per_image, 1);
  return (int)std::max<int64_t>(1, std::min<int64_t>(N, nb));
}

// dw (rows x cols) += sum over nb of prod_n, where prod: (nb, rows, cols) was written by a batched GEMM.
void reduce_weight_grad(int nb, int64_t rows_cols, const float* prod, float* dw, DeviceArray<float>& tmp) {
  sum_axis(1, nb, rows_cols, prod, tmp.data(), 1.0f);
  axpy(rows_cols, 1.0f, tmp.data(), dw);
}

}  // namespace

int64_t set_conv_workspace_floats(int64_t floats) {
  LATCO_CHECK(floats >= 1) << "cuda conv workspace must be at least 1 float, got " << floats;
  return g_workspace_floats.exchange(floats);
}

void im2col(int C, int H, int W, int K, int stride, int pad, int Ho, int Wo, const float* x, float* col) {
  launch_im2col(1, C, H, W, K, stride, pad, Ho, Wo, x, col);
}
void col2im(int C, int H, int W, int K, int stride, int pad, int Ho, int Wo, const float* col, float* x) {
  launch_col2im(1, C, H, W, K, stride, pad, Ho, Wo, col, x);
}

// ----- conv2d: y_n (O, Ho Wo) = W (O, C K K) * im2col(x_n) (C K K, Ho Wo) + b -----
void conv2d_forward(const ConvShape& s, const float* x, const float* w, const float* b, float* y) {
  check_conv_shape(s, false, "cuda::conv2d_forward");
  const int Ho = conv_out(s.H, s), Wo = conv_out(s.W, s), CKK = s.C * s.K * s.K, P = Ho * Wo;
  const int nb = chunk_images(s.N, (int64_t)CKK * P);
  DeviceArray<float> col((int64_t)nb * CKK * P);
  for (int n0 = 0; n0 < s.N; n0 += nb) {
    const int m = std::min(nb, s.N - n0);
    launch_im2col(m, s.C, s.H, s.W, s.K, s.stride, s.pad, Ho, Wo, x + (int64_t)n0 * s.C * s.H * s.W, col.data());
    sgemm_batched(m, false, false, s.O, P, CKK, 1.0f, w, CKK, 0, col.data(), P, (long)CKK * P, 0.0f,
                  y + (int64_t)n0 * s.O * P, P, (long)s.O * P);
  }
  add_bias(s.N, s.O, P, b, y);
}

// dx_n += col2im(W^T dy_n);  dw += sum_n dy_n im2col(x_n)^T;  db += sum dy
void conv2d_backward(const ConvShape& s, const float* x, const float* w, const float* dy, float* dx, float* dw,
                     float* db) {
  check_conv_shape(s, false, "cuda::conv2d_backward");
  const int Ho = conv_out(s.H, s), Wo = conv_out(s.W, s), CKK = s.C * s.K * s.K, P = Ho * Wo;
  bias_grad(s.N, s.O, P, dy, db);
  if (!dx && !dw) return;
  const int nb = chunk_images(s.N, std::max<int64_t>((int64_t)CKK * P, (int64_t)s.O * CKK));
  DeviceArray<float> col((int64_t)nb * CKK * P);
  DeviceArray<float> prod(dw ? (int64_t)nb * s.O * CKK : 1), tmp(dw ? (int64_t)s.O * CKK : 1);
  for (int n0 = 0; n0 < s.N; n0 += nb) {
    const int m = std::min(nb, s.N - n0);
    const float* dy_n = dy + (int64_t)n0 * s.O * P;
    if (dw) {
      launch_im2col(m, s.C, s.H, s.W, s.K, s.stride, s.pad, Ho, Wo, x + (int64_t)n0 * s.C * s.H * s.W, col.data());
      // prod_n (O, CKK) = dy_n (O, P) * col_n^T (P, CKK)
      sgemm_batched(m, false, true, s.O, CKK, P, 1.0f, dy_n, P, (long)s.O * P, col.data(), P, (long)CKK * P, 0.0f,
                    prod.data(), CKK, (long)s.O * CKK);
      reduce_weight_grad(m, (int64_t)s.O * CKK, prod.data(), dw, tmp);
    }
    if (dx) {
      // dcol_n (CKK, P) = W^T (CKK, O) * dy_n (O, P)
      sgemm_batched(m, true, false, CKK, P, s.O, 1.0f, w, CKK, 0, dy_n, P, (long)s.O * P, 0.0f, col.data(), P,
                    (long)CKK * P);
      launch_col2im(m, s.C, s.H, s.W, s.K, s.stride, s.pad, Ho, Wo, col.data(), dx + (int64_t)n0 * s.C * s.H * s.W);
    }
  }
}

// ----- conv_transpose2d: the adjoint of conv2d from (O, Ho, Wo) to (C, H, W) with w (C, O K K):
// y_n = col2im(W^T x_n) + b, where the conv geometry reads y (O, Ho, Wo) and produces H x W positions.
void conv_transpose2d_forward(const ConvShape& s, const float* x, const float* w, const float* b, float* y) {
  check_conv_shape(s, true, "cuda::conv_transpose2d_forward");
  const int Ho = conv_out(s.H, s), Wo = conv_out(s.W, s), OKK = s.O * s.K * s.K, HW = s.H * s.W;
  const int nb = chunk_images(s.N, (int64_t)OKK * HW);
  DeviceArray<float> col((int64_t)nb * OKK * HW);
  memset_zero(y, sizeof(float) * (size_t)s.N * s.O * Ho * Wo);
  for (int n0 = 0; n0 < s.N; n0 += nb) {
    const int m = std::min(nb, s.N - n0);
    // col_n (OKK, HW) = W^T (OKK, C) * x_n (C, HW)
    sgemm_batched(m, true, false, OKK, HW, s.C, 1.0f, w, OKK, 0, x + (int64_t)n0 * s.C * HW, HW, (long)s.C * HW,
                  0.0f, col.data(), HW, (long)OKK * HW);
    launch_col2im(m, s.O, Ho, Wo, s.K, s.stride, s.pad, s.H, s.W, col.data(), y + (int64_t)n0 * s.O * Ho * Wo);
  }
  add_bias(s.N, s.O, (int64_t)Ho * Wo, b, y);
}

// dcol_n = im2col(dy_n) (OKK, HW);  dx_n += W dcol_n;  dw += sum_n x_n dcol_n^T;  db += sum dy
void conv_transpose2d_backward(const ConvShape& s, const float* x, const float* w, const float* dy, float* dx,
                               float* dw, float* db) {
  check_conv_shape(s, true, "cuda::conv_transpose2d_backward");
  const int Ho = conv_out(s.H, s), Wo = conv_out(s.W, s), OKK = s.O * s.K * s.K, HW = s.H * s.W;
  bias_grad(s.N, s.O, (int64_t)Ho * Wo, dy, db);
  if (!dx && !dw) return;
  const int nb = chunk_images(s.N, std::max<int64_t>((int64_t)OKK * HW, (int64_t)s.C * OKK));
  DeviceArray<float> col((int64_t)nb * OKK * HW);
  DeviceArray<float> prod(dw ? (int64_t)nb * s.C * OKK : 1), tmp(dw ? (int64_t)s.C * OKK : 1);
  for (int n0 = 0; n0 < s.N; n0 += nb) {
    const int m = std::min(nb, s.N - n0);
    launch_im2col(m, s.O, Ho, Wo, s.K, s.stride, s.pad, s.H, s.W, dy + (int64_t)n0 * s.O * Ho * Wo, col.data());
    const float* x_n = x + (int64_t)n0 * s.C * HW;
    if (dx)  // dx_n (C, HW) += W (C, OKK) * dcol_n (OKK, HW)
      sgemm_batched(m, false, false, s.C, HW, OKK, 1.0f, w, OKK, 0, col.data(), HW, (long)OKK * HW, 1.0f,
                    dx + (int64_t)n0 * s.C * HW, HW, (long)s.C * HW);
    if (dw) {  // prod_n (C, OKK) = x_n (C, HW) * dcol_n^T (HW, OKK)
      sgemm_batched(m, false, true, s.C, OKK, HW, 1.0f, x_n, HW, (long)s.C * HW, col.data(), HW, (long)OKK * HW,
                    0.0f, prod.data(), OKK, (long)s.C * OKK);
      reduce_weight_grad(m, (int64_t)s.C * OKK, prod.data(), dw, tmp);
    }
  }
}

}  // namespace latco::cuda
