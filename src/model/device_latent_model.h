// DeviceRssmLatentModel: the planner's view of the RSSM (model/rssm_latent_model.h) on the
// GPU: predict, reward, their Jacobians and dr/dz, batched over all N samples with cuBLAS GEMMs,
// the fused GRU cell of cuda/rssm_ops.cu and the per-sample Jacobian kernels of
// cuda/latent_jac.cu. Each call copies its inputs up once and its outputs down once. Planners
// keep their interface: the device is a property of the model (CEM and MPPI roll out all their
// samples through predict and reward; LatCo and the gradient planners take the Jacobians).
// Left out: the std head and the no-deterministic-path Jacobians on the device (they come from
// the CPU view it holds), and keeping rollouts on the device between calls.
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
  void reward(int N, const float* z, float* r) const override { reward_device(N, z, r, nullptr); }
  // mu: (N,Z) or null; dmu_dz: (N,Z,Z), dmu_da: (N,Z,A) (on the CPU when D = 0)
  void predict_jacobians(int N, const float* z, const float* a, float* mu, float* dmu_dz,
                         float* dmu_da) const override;
  // r: (N) or null; dr_dz: (N,Z)
  void reward_gradient(int N, const float* z, float* r, float* dr_dz) const override {
    reward_device(N, z, r, dr_dz);
  }

  // On the CPU (RssmLatentModel).
  bool stochastic() const override { return true; }
  void predict_std(int N, const float* z, const float* a, float* std, float* dstd_dz,
                   float* dstd_da) const override {
    cpu_.predict_std(N, z, a, std, dstd_dz, dstd_da);
  }

 private:
  struct Acts;  // the forward pass's intermediates on the device
  void forward(int N, const float* z, const float* a, Acts& t) const;
  void reward_device(int N, const float* z, float* r, float* dr_dz) const;

  RssmLatentModel cpu_;
  const TransitionWeights& w_;
  TransitionWeights dev_;  // the same tensors on the GPU
};

}  // namespace latco
