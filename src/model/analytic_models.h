// Analytic LatentModels with known answers, for testing planners before (and
// besides) a learned model:
//   LinearQuadraticModel: z' = F z + G a, r(z) = -|L z|^2, action cost w|a|^2;
//     its optimum comes from a Riccati recursion (linalg/riccati.h).
//   PointMassModel: a 2-D double integrator with a sparse Gaussian-bump goal
//     reward; from rest at the origin the goal is reachable only with a long
//     horizon, and the reward gives almost no gradient far from it.
#pragma once
#include <cstdint>
#include <vector>

#include "model/latent_model.h"

namespace latco {

class LinearQuadraticModel : public LatentModel {
 public:
  // F: (Z,Z), G: (Z,A), L: (Z,Z) row-major; w >= 0.
  LinearQuadraticModel(int Z, int A, std::vector<float> F, std::vector<float> G, std::vector<float> L, float w,
                       float action_max = 1e3f);
  // A random, mildly unstable-to-stable system (spectral radius about 1.05), L = I, w given.
  static LinearQuadraticModel random(int Z, int A, uint64_t seed, float w = 0.1f);

  int latent_dim() const override { return Z_; }
  int action_dim() const override { return A_; }
  float action_max() const override { return amax_; }
  void predict(int N, const float* z, const float* a, float* z_next) const override;
  void reward(int N, const float* z, float* r) const override;
  void predict_jacobians(int N, const float* z, const float* a, float* mu, float* dmu_dz,
                         float* dmu_da) const override;
  void reward_gradient(int N, const float* z, float* r, float* dr_dz) const override;
  int cost_residual_dim() const override { return Z_; }
  void cost_residuals(int N, const float* z, float* c, float* dc_dz) const override;
  float action_cost() const override { return w_; }

  const std::vector<float>& F() const { return F_; }
  const std::vector<float>& G() const { return G_; }
  const std::vector<float>& L() const { return L_; }

 private:
  int Z_, A_;
  std::vector<float> F_, G_, L_;
  float w_, amax_;
};

struct PointMassSettings {
  float dt = 0.1f;          // integration step
  float damping = 0.0f;     // velocity damping per step: v' = (1 - damping) v + dt a
  float goal_x = 2.0f;      // goal position
  float goal_y = 0.0f;
  float goal_sigma = 0.2f;  // width of the reward bump exp(-|p - g|^2 / (2 sigma^2))
};

// z = (px, py, vx, vy), a = (ax, ay) in [-1, 1]^2.
class PointMassModel : public LatentModel {
 public:
  explicit PointMassModel(PointMassSettings s = {}) : s_(s) {}
  int latent_dim() const override { return 4; }
  int action_dim() const override { return 2; }
  void predict(int N, const float* z, const float* a, float* z_next) const override;
  void reward(int N, const float* z, float* r) const override;
  void predict_jacobians(int N, const float* z, const float* a, float* mu, float* dmu_dz,
                         float* dmu_da) const override;
  void reward_gradient(int N, const float* z, float* r, float* dr_dz) const override;
  const PointMassSettings& settings() const { return s_; }

 private:
  PointMassSettings s_;
};

}  // namespace latco
