// RssmLatentModel: the planner's fast view of the RSSM prior transition and reward head
// (math in model/transition_weights.h), batched over samples as (N, in) x (in, out) GEMMs,
// with analytic batched Jacobians. Leaves out the posterior, the image model and sampling.
#pragma once
#include <vector>

#include "model/latent_model.h"
#include "model/transition_weights.h"

namespace latco {

// z = [s, h] (Z = S + D), a (A).  mu(z, a) = [m, h'];  std(z, a) = [sd, 0].
// Holds a reference to the trained weights (never a copy of them), so predict and reward
// always see the current values. The Jacobians also use transposed copies of W_h, W_m,
// W_s: call refresh() after the weights change (after each training phase). Each Jacobian
// call spot-checks 16 entries of every copy against the live weights and throws when they
// differ (training moves every weight, so stale copies are caught).
// The weights object must outlive the model.
class RssmLatentModel : public LatentModel {
 public:
  explicit RssmLatentModel(const TransitionWeights& w, float action_max = 1.0f);
  // Checks the weight shapes against w.sz and rebuilds the transposed copies.
  void refresh();

  int latent_dim() const override { return S_ + D_; }
  int action_dim() const override { return A_; }
  float action_max() const override { return amax_; }
  const TransitionSizes& sizes() const { return w_.sz; }

  // z: (N,Z), a: (N,A) -> z_next: (N,Z) = [m, h']
  void predict(int N, const float* z, const float* a, float* z_next) const override;
  // z: (N,Z) -> r: (N)
  void reward(int N, const float* z, float* r) const override;
  // mu: (N,Z) or null; dmu_dz: (N,Z,Z), dmu_da: (N,Z,A)
  void predict_jacobians(int N, const float* z, const float* a, float* mu, float* dmu_dz,
                         float* dmu_da) const override;
  // r: (N) or null; dr_dz: (N,Z)
  void reward_gradient(int N, const float* z, float* r, float* dr_dz) const override;

  bool stochastic() const override { return true; }
  // std: (N,Z) = [softplus(y W_s + b_s) + min_std, 0]; dstd_dz: (N,Z,Z), dstd_da: (N,Z,A); any may be null.
  void predict_std(int N, const float* z, const float* a, float* std, float* dstd_dz,
                   float* dstd_da) const override;

 private:
  // One chunk of n samples; the public calls split N into fixed-size chunks. jacobian_chunk is the
  // fast form of model/rssm_jacobians_ref.h (plain loops, double), which tests hold it equal to.
  void predict_chunk(int n, const float* z, const float* a, float* z_next) const;
  void reward_chunk(int n, const float* z, float* r, float* dr_dz) const;
  void jacobian_chunk(int n, const float* z, const float* a, float* mu, float* dmu_dz, float* dmu_da,
                      float* sd, float* dsd_dz, float* dsd_da) const;
  void check_fresh() const;

  const TransitionWeights& w_;
  int S_, D_, Hd_, A_, Hr_;
  float amax_;
  // Transposed copies (refresh()): gate rows [r, u, n] of W_h, head rows of W_m, W_s.
  std::vector<float> WhT_;  // (3D, D)
  std::vector<float> WmT_;  // (S, Hd)
  std::vector<float> WsT_;  // (S, Hd)
};

}  // namespace latco
