// Finite-horizon discrete-time LQR by the Riccati recursion: the known optimum
// the LatCo tests compare against on the linear-quadratic model.
//   minimise  sum_{t=1..H} |L z_t|^2 + w sum_{t=0..H-1} |a_t|^2,   z_{t+1} = F z_t + G a_t,  z_0 given.
// Not here: constraints on the actions, infinite horizon, cross terms.
#pragma once
#include <vector>

namespace latco {

struct LqrSolution {
  std::vector<double> gains;    // (H, A, Z): a_t = -K_t z_t
  std::vector<double> actions;  // (H, A) optimal open-loop actions from z_0
  std::vector<double> latents;  // (H+1, Z) the optimal trajectory
  double cost = 0;              // the optimal objective, z_0^T P_0 z_0
};

// F: (Z,Z), G: (Z,A), L: (Z,Z) row-major; w >= 0 (w = 0 needs G^T S G positive definite); z0: (Z).
LqrSolution lqr_riccati(int Z, int A, int H, const float* F, const float* G, const float* L, double w,
                        const float* z0);

// The objective above for given actions (H,A) from z0 (rolled out in double).
double lqr_cost(int Z, int A, int H, const float* F, const float* G, const float* L, double w, const float* z0,
                const double* actions);

}  // namespace latco
