// Shooting GD's backpropagation through time on the GPU (the twin of plan/rollout.cpp's
// backprop_return): one thread block sweeps t = H-1 .. 0 with the adjoint p in shared memory,
// its threads over the latent and action entries. Double accumulation, as on the CPU.
// Left out: several trajectories at once (shooting GD optimises one plan at a time).
#include "common.cuh"
#include "core/device_lm.h"

namespace latco::cuda {
namespace {

constexpr int kBpttThreads = 256;
constexpr int kMaxZ = 2048;

__global__ void backprop_kernel(int H, int Z, int A, const float* __restrict__ fz, const float* __restrict__ fa,
                                const float* __restrict__ dr, const float* __restrict__ a, float w,
                                float* __restrict__ g) {
  __shared__ double adj[2 * kMaxZ];
  double* p = adj;      // p_{t+1} = dJ/dz_{t+1}
  double* q = adj + Z;  // p_t
  for (int i = threadIdx.x; i < Z; i += blockDim.x) p[i] = dr[(int64_t)H * Z + i];
  __syncthreads();
  for (int t = H - 1; t >= 0; --t) {
    const float* fzt = fz + (int64_t)t * Z * Z;  // (Z, Z)
    const float* fat = fa + (int64_t)t * Z * A;  // (Z, A)
    for (int j = threadIdx.x; j < A; j += blockDim.x) {  // g_t = fa_t^T p_{t+1} - 2 w a_t
      double s = 0;
      for (int i = 0; i < Z; ++i) s += fat[(int64_t)i * A + j] * p[i];
      g[(int64_t)t * A + j] = (float)(s - 2.0 * w * a[(int64_t)t * A + j]);
    }
    if (t == 0) break;
    for (int j = threadIdx.x; j < Z; j += blockDim.x) {  // p_t = dr(z_t) + fz_t^T p_{t+1}
      double s = dr[(int64_t)t * Z + j];
      for (int i = 0; i < Z; ++i) s += fzt[(int64_t)i * Z + j] * p[i];
      q[j] = s;
    }
    __syncthreads();
    double* tmp = p;
    p = q, q = tmp;
    __syncthreads();
  }
}

}  // namespace

void backprop_return(int H, int Z, int A, const float* fz, const float* fa, const float* dr, const float* a, float w,
                     float* g) {
  LATCO_CHECK(H >= 1 && Z >= 1 && Z <= kMaxZ && A >= 1)
      << "cuda backprop_return: H " << H << ", Z " << Z << " (at most " << kMaxZ << "), A " << A;
  backprop_kernel<<<1, kBpttThreads>>>(H, Z, A, fz, fa, dr, a, w, g);
  cudaCheckLaunch();
}

}  // namespace latco::cuda
