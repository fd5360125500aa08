// DeviceRssmLatentModel: the planner's view of the RSSM (model/rssm_latent_model.h) with
// predict and reward on the GPU: cuBLAS GEMMs over all N samples, the fused GRU cell of
// cuda/rssm_ops.cu. The sampling planners (CEM, MPPI) roll all their samples through it, one
// predict and one reward call per step (plan/rollout.h); each call copies its inputs up once and
// its outputs down once. Planners keep their interface: the device is a property of the model.
// Left out: the Jacobians and std on the device (they come from the CPU view it holds, so LatCo
// and the gradient planners run as on the CPU), and keeping rollouts on the device between calls.
#pragma once
#include "core/tensor.h"
#include "model/latent_model.h"
#include "model/rssm_latent_model.h"
#include "model/transition_weights.h"

namespace latco {

class DeviceRssmLatentModel : public LatentModel {
 public:
  // Copies the weights to the GPU (throws without a device). The weights object must outlive
  // the model; call refresh() after they change, as for RssmLatentModel.
  explicit DeviceRssmLatentModel(const TransitionWeights& w, float action_max = 1.0f);
  void refresh();

  int latent_dim() const override { return cpu_.latent_dim(); }
  int action_dim() const override { return cpu_.action_dim(); }
  float action_max() const override { return cpu_.action_max(); }

  // On the GPU.  z: (N,Z), a: (N,A) -> z_next: (N,Z) = [m, h'];  z: (N,Z) -> r: (N)
  void predict(int N, const float* z, const float* a, float* z_next) const override;
  void reward(int N, const float* z, float* r) const override;

  // On the CPU (RssmLatentModel).
  void predict_jacobians(int N, const float* z, const float* a, float* mu, float* dmu_dz,
                         float* dmu_da) const override {
    cpu_.predict_jacobians(N, z, a, mu, dmu_dz, dmu_da);
  }
  void reward_gradient(int N, const float* z, float* r, float* dr_dz) const override {
    cpu_.reward_gradient(N, z, r, dr_dz);
  }
  bool stochastic() const override { return true; }
  void predict_std(int N, const float* z, const float* a, float* std, float* dstd_dz,
                   float* dstd_da) const override {
    cpu_.predict_std(N, z, a, std, dstd_dz, dstd_da);
  }

 private:
  RssmLatentModel cpu_;
  const TransitionWeights& w_;
  TransitionWeights dev_;  // the same tensors on the GPU
};

}  // namespace latco
