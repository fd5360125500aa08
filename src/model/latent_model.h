// LatentModel: the world model as a planner sees it (DESIGN section 2).
// Latent size Z, action size A; every call is batched over N independent
// (z, a) pairs, row-major flat buffers. Implementations may parallelise
// internally on the thread pool; callers call from one thread.
// Implemented by the RSSM (model/rssm_latent_model.*) and by analytic models
// with known optima (model/analytic_models.*).
#pragma once
#include <cstdint>

namespace latco {

class LatentModel {
 public:
  virtual ~LatentModel() = default;
  virtual int latent_dim() const = 0;  // Z
  virtual int action_dim() const = 0;  // A
  virtual float action_max() const { return 1.0f; }  // a_m of Eq. (8)

  // mu(z, a): mean one-step prediction.  z: (N,Z), a: (N,A) -> z_next: (N,Z)
  virtual void predict(int N, const float* z, const float* a, float* z_next) const = 0;
  // r(z): reward head mean.  z: (N,Z) -> r: (N)
  virtual void reward(int N, const float* z, float* r) const = 0;

  // Jacobians of mu at (z, a).  mu: (N,Z) (may be null),
  //   dmu_dz: (N,Z,Z) with [n][i][j] = d mu_i / d z_j,  dmu_da: (N,Z,A).
  virtual void predict_jacobians(int N, const float* z, const float* a, float* mu, float* dmu_dz,
                                 float* dmu_da) const = 0;
  // r and its gradient.  r: (N) (may be null), dr_dz: (N,Z).
  virtual void reward_gradient(int N, const float* z, float* r, float* dr_dz) const = 0;

  // ----- optional: a cost already in least-squares form -----
  // A model whose reward is  r(z) = -|c(z)|^2 - |c_a(a)|^2  may expose the residuals c
  // directly (the linear-quadratic test model does), so that Gauss-Newton is exact.
  // Otherwise LatCo uses the single residual softplus(-r(z)) of Section 4.
  virtual int cost_residual_dim() const { return 0; }  // C (0: not provided)
  // c(z): (N,C), dc_dz: (N,C,Z)
  virtual void cost_residuals(int N, const float* z, float* c, float* dc_dz) const {}
  // Quadratic action cost weight w: objective adds -w |a|^2 per step (0 for learned models).
  virtual float action_cost() const { return 0.0f; }

  // ----- optional: stochastic transition, for Gaussian LatCo and samplers -----
  // p(z' | z, a) = N(mu(z, a), diag(std(z, a))^2); deterministic dims have std 0.
  virtual bool stochastic() const { return false; }
  // std: (N,Z); dstd_dz: (N,Z,Z), dstd_da: (N,Z,A) (either may be null).
  virtual void predict_std(int N, const float* z, const float* a, float* std, float* dstd_dz,
                           float* dstd_da) const {}
};

}  // namespace latco
