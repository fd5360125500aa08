// The planners' derivative work on the GPU. LatCo's Levenberg-Marquardt step (Eq. 9) for K
// plans at once: the normal equations assembled from the residual Jacobian's blocks
// (cuda/latco_lm.cu; the layout and formulas of plan/latco_residuals.h) and the
// block-tridiagonal solve with one damping per plan (cuda/block_tridiag.cu). Shooting GD's
// backpropagation through time (cuda/bptt.cu). Device pointers.
#pragma once
#include <cstdint>

namespace latco::cuda {

// K plans of horizon H, state Y, action A, costs C; row r = k * H + t. Device pointers:
//   a (K,H,A), y (K,H+1,Y), f (K,H,Y), c (K,H,C), Fy (K,H,Y,Y), Fa (K,H,Y,A), Jc (K,H,C,Y),
//   lambda, nu (K,H) the multipliers.
struct LmBatch {
  int K = 0, H = 0, Y = 0, A = 0, C = 0;
  float amax = 1, w = 0;
  const float *a = nullptr, *y = nullptr, *f = nullptr, *c = nullptr;
  const float *Fy = nullptr, *Fa = nullptr, *Jc = nullptr;
  const double *lambda = nullptr, *nu = nullptr;
};
// Eq. (9)'s normal equations of every plan, n = A + Y: D (K,H,n,n) lower triangles of J^T J's
// diagonal blocks (upper triangles zeroed), B (K,H,n,n) sub-diagonal blocks (B_0 zeroed),
// g (K,H,n) = J^T rho.
void latco_assemble(const LmBatch& p, double* D, double* B, double* g);
// y = -x, n doubles (the solve's right-hand side -J^T rho).
void negate(int64_t n, const double* x, double* y);
// cuda::block_tridiag_solve_device with a damping per system: damping (batch) on the device;
// info (batch, H) on the device receives 0 or the failed pivot + 1 of each block; no copies.
void block_tridiag_solve_damped(int batch, int H, int n, const double* D, const double* B, const double* damping,
                                double* b, int* info);

// Shooting GD's dJ/da by backprop through time (plan/rollout.h, backprop_return), Z <= 2048:
//   fz (H,Z,Z), fa (H,Z,A), dr (H+1,Z), a (H,A) -> g (H,A):
//   g_t = fa_t^T p_{t+1} - 2 w a_t,   p_t = dr(z_t) + fz_t^T p_{t+1},   p_H = dr(z_H).
void backprop_return(int H, int Z, int A, const float* fz, const float* fa, const float* dr, const float* a, float w,
                     float* g);

}  // namespace latco::cuda
