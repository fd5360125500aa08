// Rollouts, linearisation and backprop through time for the shooting planners.
// Models parallelise their batched calls internally; nothing here is threaded.
#include "plan/rollout.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <utility>

#include "autodiff/var.h"
#include "core/error.h"

namespace latco {

// The objective of Eq. (3) with the mean dynamics, for N sequences at once.
void rollout_batch(const LatentModel& m, int N, int H, const float* z0, const float* actions, float* z_a,
                   float* z_b, float* r, double* returns) {
  const int Z = m.latent_dim(), A = m.action_dim();
  const float w = m.action_cost();
  for (int n = 0; n < N; ++n) {
    std::copy(z0, z0 + Z, z_a + static_cast<long>(n) * Z);
    returns[n] = 0;
  }
  for (int t = 0; t < H; ++t) {
    const float* a_t = actions + static_cast<long>(t) * N * A;  // (N, A)
    m.predict(N, z_a, a_t, z_b);
    m.reward(N, z_b, r);
    for (int n = 0; n < N; ++n) {
      double a2 = 0;
      for (int i = 0; i < A; ++i) a2 += double(a_t[n * A + i]) * a_t[n * A + i];
      returns[n] += r[n] - w * a2;
    }
    std::swap(z_a, z_b);
  }
}

void Linearization::resize(int H_, int Z_, int A_) {
  H = H_, Z = Z_, A = A_;
  a.assign(static_cast<size_t>(H) * A, 0.0f);
  z.assign(static_cast<size_t>(H + 1) * Z, 0.0f);
  r.assign(H + 1, 0.0f);
  fz.assign(static_cast<size_t>(H) * Z * Z, 0.0f);
  fa.assign(static_cast<size_t>(H) * Z * A, 0.0f);
  dr.assign(static_cast<size_t>(H + 1) * Z, 0.0f);
  adj.assign(2 * static_cast<size_t>(Z), 0.0);
}

double rollout_forward(const LatentModel& m, const float* z0, const float* a, Linearization* lin) {
  const int H = lin->H, Z = lin->Z, A = lin->A;
  LATCO_CHECK(Z == m.latent_dim() && A == m.action_dim()) << "Linearization sized for another model";
  const float w = m.action_cost();
  if (a != lin->a.data()) std::copy(a, a + H * A, lin->a.begin());
  std::copy(z0, z0 + Z, lin->z.begin());
  lin->r[0] = 0;
  double J = 0;
  for (int t = 0; t < H; ++t) {
    float* zn = lin->z.data() + (t + 1) * Z;
    m.predict(1, lin->z.data() + t * Z, lin->a.data() + t * A, zn);
    m.reward(1, zn, &lin->r[t + 1]);
    double a2 = 0;
    for (int i = 0; i < A; ++i) a2 += double(lin->a[t * A + i]) * lin->a[t * A + i];
    J += lin->r[t + 1] - w * a2;
  }
  return J;
}

void rollout_jacobians(const LatentModel& m, Linearization* lin) {
  const int H = lin->H, Z = lin->Z;
  m.predict_jacobians(H, lin->z.data(), lin->a.data(), nullptr, lin->fz.data(), lin->fa.data());
  std::fill(lin->dr.begin(), lin->dr.begin() + Z, 0.0f);
  m.reward_gradient(H, lin->z.data() + Z, nullptr, lin->dr.data() + Z);
}

void backprop_return(Linearization* lin, float w, float* g) {
  const int H = lin->H, Z = lin->Z, A = lin->A;
  double* p = lin->adj.data();       // p_{t+1}: dJ/dz_{t+1}  (Z)
  double* q = lin->adj.data() + Z;   // p_t
  for (int i = 0; i < Z; ++i) p[i] = lin->dr[H * Z + i];
  for (int t = H - 1; t >= 0; --t) {
    const float* fz = lin->fz.data() + static_cast<long>(t) * Z * Z;  // (Z, Z)
    const float* fa = lin->fa.data() + static_cast<long>(t) * Z * A;  // (Z, A)
    for (int j = 0; j < A; ++j) {
      double s = 0;
      for (int i = 0; i < Z; ++i) s += fa[i * A + j] * p[i];
      g[t * A + j] = static_cast<float>(s - 2.0 * w * lin->a[t * A + j]);
    }
    if (t == 0) break;
    for (int j = 0; j < Z; ++j) q[j] = lin->dr[t * Z + j];
    for (int i = 0; i < Z; ++i) {
      const double pi = p[i];
      const float* row = fz + i * Z;
      for (int j = 0; j < Z; ++j) q[j] += row[j] * pi;
    }
    std::swap(p, q);
  }
}

double softplus_neg(double r) { return r > 0 ? std::log1p(std::exp(-r)) : -r + std::log1p(std::exp(r)); }
double softplus_neg_grad(double r) {  // d/dr ln(1 + e^{-r}) = -1 / (1 + e^{r})
  return r > 0 ? -std::exp(-r) / (1.0 + std::exp(-r)) : -1.0 / (1.0 + std::exp(r));
}

ad::Var softplus_neg(const ad::Var& r) {
  const std::vector<float> rv = r.value().to_vector();  // a few rewards: the host computes them
  std::vector<float> rho(rv.size());
  for (size_t i = 0; i < rv.size(); ++i) rho[i] = static_cast<float>(softplus_neg(rv[i]));
  auto n = std::make_shared<ad::Node>();
  n->value = Tensor::from(r.shape(), rho).to(r.value().device());
  n->op = "softplus_neg";
  if (ad::grad_enabled() && r.requires_grad()) {
    n->requires_grad = true;
    n->inputs = {r.node()};
    n->backward = [rv](ad::Node& self) {  // d r += d rho * softplus_neg_grad(r)
      const std::vector<float> g = self.grad.to_vector();
      Tensor& gr = self.inputs[0]->grad_buffer();
      std::vector<float> acc = gr.to_vector();
      for (size_t i = 0; i < acc.size(); ++i) acc[i] += static_cast<float>(g[i] * softplus_neg_grad(rv[i]));
      gr.copy_from(Tensor::from(gr.shape(), acc));
    };
  }
  return ad::Var(n);
}

int state_residual_dim(const LatentModel& m) {
  return m.cost_residual_dim() > 0 ? m.cost_residual_dim() : 1;
}

void state_residuals(const LatentModel& m, int N, const float* z, float* c, float* dc, float* r_scratch,
                     float* dr_scratch) {
  if (m.cost_residual_dim() > 0) {
    m.cost_residuals(N, z, c, dc);
    return;
  }
  // Section 4: rho = softplus(-r),  d rho / dz = d rho / dr  dr/dz.
  const int Z = m.latent_dim();
  if (!dc) {
    m.reward(N, z, r_scratch);
    for (int n = 0; n < N; ++n) c[n] = static_cast<float>(softplus_neg(r_scratch[n]));
    return;
  }
  m.reward_gradient(N, z, r_scratch, dr_scratch);
  for (int n = 0; n < N; ++n) {
    const double r = r_scratch[n];
    c[n] = static_cast<float>(softplus_neg(r));
    const double s = softplus_neg_grad(r);
    for (int j = 0; j < Z; ++j) dc[n * Z + j] = static_cast<float>(s * dr_scratch[n * Z + j]);
  }
}

void clip_actions(int n, float am, float* x) {
  for (int i = 0; i < n; ++i) x[i] = std::clamp(x[i], -am, am);
}

double action_violation(int n, float am, const float* a) {
  double s = 0;
  for (int i = 0; i < n; ++i) {
    double v = bound_violation(a[i], am);
    s += v * v;
  }
  return s;
}

double action_violation_released(int n, float am, const float* a) {
  double v = 0;
  for (int i = 0; i < n; ++i) v += std::max(0.0, double(a[i]) * a[i] - double(am) * am);
  return v;
}

double rollout_return(const LatentModel& model, const float* z0, const float* actions, int H, float* latents) {
  const int Z = model.latent_dim(), A = model.action_dim();
  const float am = model.action_max(), w = model.action_cost();
  std::vector<float> a(A);
  std::copy(z0, z0 + Z, latents);
  double J = 0;
  for (int t = 0; t < H; ++t) {
    double a2 = 0;
    for (int i = 0; i < A; ++i) {
      a[i] = std::clamp(actions[t * A + i], -am, am);
      a2 += double(a[i]) * a[i];
    }
    model.predict(1, latents + t * Z, a.data(), latents + (t + 1) * Z);
    float r = 0;
    model.reward(1, latents + (t + 1) * Z, &r);
    J += r - w * a2;
  }
  return J;
}

}  // namespace latco
