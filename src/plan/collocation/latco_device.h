// LatCo's LM step (Eq. 9) on the GPU: the normal equations of all K plans assembled and solved
// there in double precision (cuda/latco_lm.cu, cuda/block_tridiag.cu), used by CollocationLM when
// the planner's model is on the device (DeviceRssmLatentModel). Without CUDA it cannot be built.
// Left out: keeping the model's Jacobians on the device (they come down from the model's call and
// go up again here: one upload of the point and its derivatives, one download of g and dx).
#pragma once
#include <memory>
#include <vector>

#include "model/latent_model.h"
#include "plan/collocation/latco_residuals.h"

namespace latco {

// True when m computes on the GPU (a DeviceRssmLatentModel).
bool latent_model_on_device(const LatentModel& m);

class LatcoDeviceSolver {
 public:
  // Device buffers for K plans of horizon H (state Y, action A, costs C); throws without CUDA.
  LatcoDeviceSolver(int H, int K, int Y, int A, int C);
  ~LatcoDeviceSolver();
  // Every plan's Eq. (9) step: v0 is plan 0's view into CollocationLM's buffers, plan k's at
  // k times the per-plan strides (a: H*A, y: (H+1)*Y, f: H*Y, ...). damping (K): mu of each
  // plan, multiplied by 10 (at least 1e-8) for each failed factorisation, up to 8 tries, as the
  // CPU path. Returns the number of failed factorisations.
  int solve(const PlanView& v0, double* damping);
  // Plan k's results of the last solve: g (H,n) = J^T rho and dx (H,n); false when its
  // factorisation failed 8 times (dx then undefined).
  bool result(int k, double* g, double* dx) const;

 private:
  struct Buffers;  // the device arrays
  int H_, K_, Y_, A_, C_, n_;
  std::unique_ptr<Buffers> d_;
  std::vector<double> g_, dx_;  // (K,H,n) downloaded
  std::vector<int> info_;       // (K,H)
  std::vector<char> ok_;        // (K)
};

}  // namespace latco
