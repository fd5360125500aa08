// Block-tridiagonal SPD solve on the GPU, the twin of linalg/block_tridiag.* for a batch of
// independent systems (LatCo's parallel plans): the LM step of Eq. (9). Forward elimination
// over time steps is sequential; at each step all systems factor and solve at once.
// Left out: the zero_cols shortcut of the CPU factor, keeping the factor for reuse.
#include <algorithm>
#include <vector>

#include "cholesky.cuh"
#include "common.cuh"
#include "core/device_lm.h"

namespace latco::cuda {
namespace {

constexpr int kBlockThreads = 256;

// dst_b = src_b (+ damping, or damp[b] when damp is non-null, on the diagonal); matrices (n x n) at
// strides sd / sdst
__global__ void copy_damped_kernel(int n, const double* __restrict__ src, int64_t sd, double* __restrict__ dst,
                                   int64_t sdst, double damping, const double* __restrict__ damp) {
  const double* S = src + blockIdx.x * sd;
  double* Dm = dst + blockIdx.x * sdst;
  if (damp) damping = damp[blockIdx.x];
  for (int64_t idx = threadIdx.x; idx < (int64_t)n * n; idx += blockDim.x)
    Dm[idx] = S[idx] + (idx / n == idx % n ? damping : 0.0);
}

// dst_b = src_b^T
__global__ void transpose_kernel(int n, const double* __restrict__ src, int64_t ss, double* __restrict__ dst,
                                 int64_t sdst) {
  const double* S = src + blockIdx.x * ss;
  double* Dm = dst + blockIdx.x * sdst;
  for (int64_t idx = threadIdx.x; idx < (int64_t)n * n; idx += blockDim.x) {
    const int64_t i = idx / n, j = idx % n;
    Dm[idx] = S[j * n + i];
  }
}

// y_b -= op(G_b) x_b,  op = G^T (trans) or G;  G (n x n), x, y (n)
__global__ void gemv_sub_kernel(int n, const double* __restrict__ G_all, int64_t sg, bool trans,
                                const double* __restrict__ x_all, int64_t sx, double* __restrict__ y_all,
                                int64_t sy) {
  const double* G = G_all + blockIdx.x * sg;
  const double* x = x_all + blockIdx.x * sx;
  double* y = y_all + blockIdx.x * sy;
  for (int i = threadIdx.x; i < n; i += blockDim.x) {
    double acc = 0.0;
    if (trans) for (int k = 0; k < n; ++k) acc += G[(int64_t)k * n + i] * x[k];
    else for (int k = 0; k < n; ++k) acc += G[(int64_t)i * n + k] * x[k];
    y[i] -= acc;
  }
}

// The sweep of both entry points: damping for every system, or damp[b] (device) when non-null;
// info (batch, H) on the device.
void solve_sweep(int batch, int H, int n, const double* D, const double* B, double damping, const double* damp,
                 double* b, int* info) {
  LATCO_CHECK(batch >= 1 && H >= 1 && n >= 1) << "cuda block_tridiag_solve: batch " << batch << ", H " << H << ", n " << n;
  const int64_t nn = (int64_t)n * n, sM = (int64_t)H * nn, sV = (int64_t)H * n;  // per-system strides
  DeviceArray<double> Lf((int64_t)batch * sM), G((int64_t)batch * sM);
  memset_zero(info, sizeof(int) * batch * H);
  // ----- factor and forward substitution: L y = b -----
  for (int t = 0; t < H; ++t) {
    double* Lt = Lf.data() + t * nn;
    double* bt = b + (int64_t)t * n;
    copy_damped_kernel<<<batch, kBlockThreads>>>(n, D + t * nn, sM, Lt, sM, damping, damp);
    cudaCheckLaunch();
    if (t > 0) {
      double* Gt = G.data() + t * nn;
      const double* Lprev = Lf.data() + (t - 1) * nn;
      // G_t = L_{t-1}^{-1} B_t^T  (the CPU code's C_t = B_t L_{t-1}^{-T} is G_t^T)
      transpose_kernel<<<batch, kBlockThreads>>>(n, B + t * nn, sM, Gt, sM);
      cudaCheckLaunch();
      trsm_lower_strided(batch, n, n, Lprev, sM, false, Gt, sM);
      // Schur complement: D_t + damping I - C_t C_t^T = ... - G_t^T G_t
      dgemm_batched(batch, true, false, n, n, n, -1.0, Gt, n, sM, Gt, n, sM, 1.0, Lt, n, sM);
      // b_t -= C_t y_{t-1} = G_t^T y_{t-1}
      gemv_sub_kernel<<<batch, kBlockThreads>>>(n, Gt, sM, true, bt - n, sV, bt, sV);
      cudaCheckLaunch();
    }
    cholesky_strided(batch, n, Lt, sM, info + t, H);
    trsm_lower_strided(batch, n, 1, Lt, sM, false, bt, sV);
  }
  // ----- backward substitution: L^T x = y -----
  for (int t = H - 1; t >= 0; --t) {
    double* bt = b + (int64_t)t * n;
    if (t < H - 1) {  // y_t -= C_{t+1}^T x_{t+1} = G_{t+1} x_{t+1}
      gemv_sub_kernel<<<batch, kBlockThreads>>>(n, G.data() + (t + 1) * nn, sM, false, bt + n, sV, bt, sV);
      cudaCheckLaunch();
    }
    trsm_lower_strided(batch, n, 1, Lf.data() + t * nn, sM, true, bt, sV);
  }
}
}  // namespace

void block_tridiag_solve_damped(int batch, int H, int n, const double* D, const double* B, const double* damping,
                                double* b, int* info) {
  solve_sweep(batch, H, n, D, B, 0.0, damping, b, info);
}

bool block_tridiag_solve_device(int batch, int H, int n, const double* D, const double* B, double damping, double* b,
                                int* failed_system, int* failed_step) {
  DeviceArray<int> info((int64_t)std::max(batch, 1) * std::max(H, 1));
  solve_sweep(batch, H, n, D, B, damping, nullptr, b, info.data());
  // ----- report the first block that was not positive definite -----
  std::vector<int> host(info.size());
  info.download(host.data());
  if (failed_system) *failed_system = -1;
  if (failed_step) *failed_step = -1;
  for (int s = 0; s < batch; ++s)
    for (int t = 0; t < H; ++t)
      if (host[(size_t)s * H + t] != 0) {
        if (failed_system) *failed_system = s;
        if (failed_step) *failed_step = t;
        return false;
      }
  return true;
}

bool cuda_block_tridiag_solve(int batch, int H, int n, const double* D, const double* B, double damping, double* b) {
  const int64_t nm = (int64_t)batch * H * n * n, nv = (int64_t)batch * H * n;
  DeviceArray<double> dD(nm), dB(nm), db(nv);
  dD.upload(D);
  dB.upload(B);
  db.upload(b);
  bool ok = block_tridiag_solve_device(batch, H, n, dD.data(), dB.data(), damping, db.data());
  db.download(b);
  return ok;
}

}  // namespace latco::cuda
