#include "model/analytic_models.h"

#include <cmath>

#include "core/error.h"
#include "core/rng.h"

namespace latco {

// ===== linear-quadratic =====

LinearQuadraticModel::LinearQuadraticModel(int Z, int A, std::vector<float> F, std::vector<float> G,
                                           std::vector<float> L, float w, float action_max)
    : Z_(Z), A_(A), F_(std::move(F)), G_(std::move(G)), L_(std::move(L)), w_(w), amax_(action_max) {
  LATCO_CHECK(static_cast<int>(F_.size()) == Z * Z) << "F must be Z x Z";
  LATCO_CHECK(static_cast<int>(G_.size()) == Z * A) << "G must be Z x A";
  LATCO_CHECK(static_cast<int>(L_.size()) == Z * Z) << "L must be Z x Z";
  LATCO_CHECK(w >= 0) << "action cost must be non-negative";
}

LinearQuadraticModel LinearQuadraticModel::random(int Z, int A, uint64_t seed, float w) {
  Rng rng(seed);
  std::vector<float> F(Z * Z), G(Z * A), L(Z * Z, 0.0f);
  // Identity plus a small random part: eigenvalues near 1, some slightly unstable.
  for (int i = 0; i < Z; ++i)
    for (int j = 0; j < Z; ++j) F[i * Z + j] = (i == j ? 1.0f : 0.0f) + 0.15f * rng.normal() / std::sqrt(float(Z));
  for (auto& g : G) g = 0.5f * rng.normal();
  for (int i = 0; i < Z; ++i) L[i * Z + i] = 1.0f;
  return LinearQuadraticModel(Z, A, F, G, L, w);
}

void LinearQuadraticModel::predict(int N, const float* z, const float* a, float* zn) const {
  for (int n = 0; n < N; ++n)
    for (int i = 0; i < Z_; ++i) {
      double acc = 0;
      for (int j = 0; j < Z_; ++j) acc += double(F_[i * Z_ + j]) * z[n * Z_ + j];
      for (int j = 0; j < A_; ++j) acc += double(G_[i * A_ + j]) * a[n * A_ + j];
      zn[n * Z_ + i] = static_cast<float>(acc);
    }
}

void LinearQuadraticModel::cost_residuals(int N, const float* z, float* c, float* dc_dz) const {
  for (int n = 0; n < N; ++n)
    for (int i = 0; i < Z_; ++i) {
      double acc = 0;
      for (int j = 0; j < Z_; ++j) acc += double(L_[i * Z_ + j]) * z[n * Z_ + j];
      if (c) c[n * Z_ + i] = static_cast<float>(acc);
      if (dc_dz)
        for (int j = 0; j < Z_; ++j) dc_dz[(n * Z_ + i) * Z_ + j] = L_[i * Z_ + j];
    }
}

void LinearQuadraticModel::reward(int N, const float* z, float* r) const {
  std::vector<float> c(Z_);
  for (int n = 0; n < N; ++n) {
    cost_residuals(1, z + n * Z_, c.data(), nullptr);
    double s = 0;
    for (float v : c) s += double(v) * v;
    r[n] = static_cast<float>(-s);
  }
}

void LinearQuadraticModel::predict_jacobians(int N, const float* z, const float* a, float* mu, float* dz,
                                             float* da) const {
  if (mu) predict(N, z, a, mu);
  for (int n = 0; n < N; ++n) {
    if (dz) std::copy(F_.begin(), F_.end(), dz + n * Z_ * Z_);
    if (da) std::copy(G_.begin(), G_.end(), da + n * Z_ * A_);
  }
}

void LinearQuadraticModel::reward_gradient(int N, const float* z, float* r, float* dr) const {
  // r = -|L z|^2  =>  dr/dz = -2 L^T L z
  std::vector<float> c(Z_);
  for (int n = 0; n < N; ++n) {
    cost_residuals(1, z + n * Z_, c.data(), nullptr);
    double s = 0;
    for (float v : c) s += double(v) * v;
    if (r) r[n] = static_cast<float>(-s);
    for (int j = 0; j < Z_; ++j) {
      double g = 0;
      for (int i = 0; i < Z_; ++i) g += double(L_[i * Z_ + j]) * c[i];
      dr[n * Z_ + j] = static_cast<float>(-2.0 * g);
    }
  }
}

// ===== point mass =====
// p' = p + dt v',  v' = (1 - d) v + dt a   (semi-implicit Euler)

void PointMassModel::predict(int N, const float* z, const float* a, float* zn) const {
  const float dt = s_.dt, keep = 1.0f - s_.damping;
  for (int n = 0; n < N; ++n) {
    const float* x = z + 4 * n;
    const float* u = a + 2 * n;
    float* y = zn + 4 * n;
    float vx = keep * x[2] + dt * u[0], vy = keep * x[3] + dt * u[1];
    y[0] = x[0] + dt * vx;
    y[1] = x[1] + dt * vy;
    y[2] = vx;
    y[3] = vy;
  }
}

void PointMassModel::reward(int N, const float* z, float* r) const {
  const float s2 = 2.0f * s_.goal_sigma * s_.goal_sigma;
  for (int n = 0; n < N; ++n) {
    float dx = z[4 * n] - s_.goal_x, dy = z[4 * n + 1] - s_.goal_y;
    r[n] = std::exp(-(dx * dx + dy * dy) / s2);
  }
}

void PointMassModel::predict_jacobians(int N, const float* z, const float* a, float* mu, float* dz,
                                       float* da) const {
  if (mu) predict(N, z, a, mu);
  const float dt = s_.dt, keep = 1.0f - s_.damping;
  const float Fz[16] = {1, 0, dt * keep, 0,  //
                        0, 1, 0, dt * keep,  //
                        0, 0, keep, 0,       //
                        0, 0, 0, keep};
  const float Ga[8] = {dt * dt, 0, 0, dt * dt, dt, 0, 0, dt};
  for (int n = 0; n < N; ++n) {
    if (dz) std::copy(Fz, Fz + 16, dz + 16 * n);
    if (da) std::copy(Ga, Ga + 8, da + 8 * n);
  }
}

void PointMassModel::reward_gradient(int N, const float* z, float* r, float* dr) const {
  const float s2 = s_.goal_sigma * s_.goal_sigma;
  for (int n = 0; n < N; ++n) {
    float dx = z[4 * n] - s_.goal_x, dy = z[4 * n + 1] - s_.goal_y;
    float v = std::exp(-(dx * dx + dy * dy) / (2 * s2));
    if (r) r[n] = v;
    dr[4 * n + 0] = -v * dx / s2;
    dr[4 * n + 1] = -v * dy / s2;
    dr[4 * n + 2] = 0;
    dr[4 * n + 3] = 0;
  }
}

}  // namespace latco
