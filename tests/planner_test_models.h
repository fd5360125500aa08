// Shared by the planner suites (test_rollout, test_shooting, test_sampling, test_latco_first_order,
// test_image_collocation): a small nonlinear latent model with exact Jacobians, seeded random vectors,
// the point mass with a smooth goal that short horizons reach, and a tiny RSSM's settings.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "core/rng.h"
#include "model/analytic_models.h"
#include "model/latent_model.h"
#include "model/rssm.h"

namespace latco {

// A small nonlinear model for gradient checks: z' = tanh(F z + G a),  r(z) = sum_i sin(z_i) - 0.5 |z|^2.
class TanhModel : public LatentModel {
 public:
  TanhModel(int Z, int A, uint64_t seed) : Z_(Z), A_(A), F_(Z * Z), G_(Z * A) {
    Rng rng(seed);
    for (auto& f : F_) f = 0.8f * rng.normal() / std::sqrt(float(Z));
    for (auto& g : G_) g = 0.7f * rng.normal();
  }
  int latent_dim() const override { return Z_; }
  int action_dim() const override { return A_; }
  float action_cost() const override { return 0.05f; }
  void predict(int N, const float* z, const float* a, float* zn) const override {
    predict_jacobians(N, z, a, zn, nullptr, nullptr);
  }
  void reward(int N, const float* z, float* r) const override {
    for (int n = 0; n < N; ++n) {
      double s = 0;
      for (int i = 0; i < Z_; ++i) s += std::sin(z[n * Z_ + i]) - 0.5 * z[n * Z_ + i] * z[n * Z_ + i];
      r[n] = static_cast<float>(s);
    }
  }
  void predict_jacobians(int N, const float* z, const float* a, float* mu, float* dz, float* da) const override {
    for (int n = 0; n < N; ++n)
      for (int i = 0; i < Z_; ++i) {
        double x = 0;
        for (int j = 0; j < Z_; ++j) x += F_[i * Z_ + j] * z[n * Z_ + j];
        for (int j = 0; j < A_; ++j) x += G_[i * A_ + j] * a[n * A_ + j];
        const double y = std::tanh(x), d = 1 - y * y;
        if (mu) mu[n * Z_ + i] = static_cast<float>(y);
        if (dz)
          for (int j = 0; j < Z_; ++j) dz[(n * Z_ + i) * Z_ + j] = static_cast<float>(d * F_[i * Z_ + j]);
        if (da)
          for (int j = 0; j < A_; ++j) da[(n * Z_ + i) * A_ + j] = static_cast<float>(d * G_[i * A_ + j]);
      }
  }
  void reward_gradient(int N, const float* z, float* r, float* dr) const override {
    if (r) reward(N, z, r);
    for (int n = 0; n < N; ++n)
      for (int i = 0; i < Z_; ++i) dr[n * Z_ + i] = std::cos(z[n * Z_ + i]) - z[n * Z_ + i];
  }

 private:
  int Z_, A_;
  std::vector<float> F_, G_;
};

inline std::vector<float> random_vec(int n, uint64_t seed, float scale = 1.0f) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = scale * rng.normal();
  return v;
}

inline PointMassModel near_goal_model() {
  PointMassSettings s;
  s.goal_x = 0.6f, s.goal_y = 0.3f, s.goal_sigma = 0.5f;  // smooth: reachable with H = 15
  return PointMassModel(s);
}

// A tiny RSSM (16x16 images) for planners that need the whole world model.
inline RssmSettings tiny_rssm() {
  RssmSettings s;
  s.stoch = 4, s.deter = 8, s.hidden = 16, s.depth = 2, s.image_size = 16, s.reward_hidden = 16;
  return s;
}

}  // namespace latco
