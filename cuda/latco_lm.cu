// LatCo's normal equations (Eq. 9) on the GPU for K plans at once: one thread block per
// (plan k, step t, row i) of the block row (blockIdx.x = (k * H + t) * n + i), threads over the
// columns. Each element is the CPU assembly's formula (plan/latco_residuals.cpp,
// assemble_block), accumulated in double from the float Jacobians. Left out: tiled GEMMs for
// the Fy^T Fy products (plain dot products here).
#include "common.cuh"
#include "core/device_lm.h"

namespace latco::cuda {
namespace {

constexpr int kAsmThreads = 128;

// Block (r, i): row i of D_r (lower part), of B_r (r's step t > 0) and g_r[i]; r = k * H + t.
__global__ void assemble_kernel(LmBatch p, double* __restrict__ D, double* __restrict__ B, double* __restrict__ g) {
  const int H = p.H, Y = p.Y, A = p.A, C = p.C, n = A + Y;
  const int r = blockIdx.x / n, i = blockIdx.x % n, k = r / H, t = r % H;
  const int64_t nn = (int64_t)n * n;
  const float* Fa = p.Fa + (int64_t)r * Y * A;  // (Y, A)
  const float* Fy = p.Fy + (int64_t)r * Y * Y;  // (Y, Y)
  const float* Jc = p.Jc + (int64_t)r * C * Y;  // (C, Y)
  const float* yn = p.y + ((int64_t)k * (H + 1) + t + 1) * Y;
  const float* ft = p.f + (int64_t)r * Y;
  const bool next = t + 1 < H;                  // step t+1's dynamics rows touch y_{t+1}
  const float* Fy1 = p.Fy + (int64_t)(r + 1) * Y * Y;
  const double lam = p.lambda[r], nu = p.nu[r], w = p.w, lam1 = next ? p.lambda[r + 1] : 0.0;
  const double ai = i < A ? (double)p.a[(int64_t)r * A + i] : 0.0;
  const bool over = i < A && fabs(ai) > p.amax;
  double* Drow = D + r * nn + (int64_t)i * n;
  double* Brow = B + r * nn + (int64_t)i * n;
  for (int j = threadIdx.x; j < n; j += blockDim.x) {
    // ----- D_t[i][j], j <= i -----
    double d = 0.0;
    if (j <= i) {
      if (i < A) {  // aa: lam Fa^T Fa + (w + nu [|a_i| > a_max]) I
        double acc = 0.0;
        for (int q = 0; q < Y; ++q) acc += (double)Fa[q * A + i] * Fa[q * A + j];
        d = lam * acc;
        if (i == j) d += w + (over ? nu : 0.0);
      } else if (j < A) {  // ya: -lam Fa
        d = -lam * Fa[(i - A) * A + j];
      } else {  // yy: lam I + lam' Fy'^T Fy' + Jc^T Jc
        const int iy = i - A, jy = j - A;
        d = iy == jy ? lam : 0.0;
        if (next) {
          double acc = 0.0;
          for (int q = 0; q < Y; ++q) acc += (double)Fy1[(int64_t)q * Y + iy] * Fy1[(int64_t)q * Y + jy];
          d += lam1 * acc;
        }
        double acc = 0.0;
        for (int q = 0; q < C; ++q) acc += (double)Jc[(int64_t)q * Y + iy] * Jc[(int64_t)q * Y + jy];
        d += acc;
      }
    }
    Drow[j] = d;
    // ----- B_t[i][j] = lam [[0, Fa^T Fy], [0, -Fy]] (t > 0) -----
    double b = 0.0;
    if (t > 0 && j >= A) {
      const int jy = j - A;
      if (i < A) {
        double acc = 0.0;
        for (int q = 0; q < Y; ++q) acc += (double)Fa[q * A + i] * Fy[(int64_t)q * Y + jy];
        b = lam * acc;
      } else {
        b = -lam * Fy[(int64_t)(i - A) * Y + jy];
      }
    }
    Brow[j] = b;
  }
  // ----- g_t[i] = (J^T rho)_i -----
  if (threadIdx.x == 0) {
    double gi = 0.0;
    if (i < A) {  // -lam Fa^T e + w a + nu sign(a) (|a| - a_max)
      double acc = 0.0;
      for (int q = 0; q < Y; ++q) acc += (double)Fa[q * A + i] * ((double)yn[q] - ft[q]);
      gi = -lam * acc + w * ai;
      if (over) gi += nu * (ai > 0 ? 1.0 : -1.0) * (fabs(ai) - p.amax);
    } else {  // lam e - lam' Fy'^T e' + Jc^T c
      const int iy = i - A;
      gi = lam * ((double)yn[iy] - ft[iy]);
      if (next) {
        const float* yn1 = yn + Y;
        const float* f1 = ft + Y;
        double acc = 0.0;
        for (int q = 0; q < Y; ++q) acc += (double)Fy1[(int64_t)q * Y + iy] * ((double)yn1[q] - f1[q]);
        gi -= lam1 * acc;
      }
      const float* ct = p.c + (int64_t)r * C;
      for (int q = 0; q < C; ++q) gi += (double)Jc[(int64_t)q * Y + iy] * ct[q];
    }
    g[(int64_t)r * n + i] = gi;
  }
}

__global__ void negate_kernel(int64_t n, const double* __restrict__ x, double* __restrict__ y) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    y[i] = -x[i];
}

}  // namespace

void latco_assemble(const LmBatch& p, double* D, double* B, double* g) {
  LATCO_CHECK(p.K >= 1 && p.H >= 1 && p.Y >= 1 && p.A >= 0 && p.C >= 0)
      << "cuda latco_assemble: K " << p.K << ", H " << p.H << ", Y " << p.Y << ", A " << p.A << ", C " << p.C;
  const int n = p.A + p.Y;
  assemble_kernel<<<p.K * p.H * n, kAsmThreads>>>(p, D, B, g);
  cudaCheckLaunch();
}

void negate(int64_t n, const double* x, double* y) {
  if (n <= 0) return;
  negate_kernel<<<grid_for(n), kThreads>>>(n, x, y);
  cudaCheckLaunch();
}

}  // namespace latco::cuda
