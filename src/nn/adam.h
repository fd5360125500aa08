// Adam with global-norm gradient clipping (Kingma & Ba 2015; Dreamer's settings).
// step(): g <- g * min(1, clip / ||g||) over all parameters together, then
//   m <- b1 m + (1-b1) g,  v <- b2 v + (1-b2) g^2,  p <- p - lr * m_hat / (sqrt(v_hat) + eps),
// with bias-corrected m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t).
// Left out: weight decay, AMSGrad, per-group learning rates. FlatAdam: the same rule on one flat
// float vector without clipping, for the planners that optimise plans with Adam. Both take the step
// through adam_coeffs and adam_update below, the one definition of the rule (cuda/adam.cu is its
// device twin).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "nn/module.h"

namespace latco::nn {

// The coefficients of Adam's step t (1-based), computed once per step: the bias corrections
// c1 = 1 - beta1^t, c2 = 1 - beta2^t in double, then step = lr / c1 and rc2 = 1 / sqrt(c2) as floats;
// grad_scale multiplies every gradient (the clip factor; 1 without clipping).
struct AdamCoeffs {
  float b1, b2, eps, step, rc2, grad_scale;
};
AdamCoeffs adam_coeffs(float lr, float beta1, float beta2, float eps, int64_t t, double grad_scale = 1.0);

// The Adam update of elements [begin, end), in float:
//   g <- grad_scale g,  m <- b1 m + (1-b1) g,  v <- b2 v + (1-b2) g^2,
//   x <- x - step m / (sqrt(v) rc2 + eps)   ( = x - lr m_hat / (sqrt(v_hat) + eps) ).
// x, g, m, v: (n) each.
inline void adam_update(const AdamCoeffs& c, int64_t begin, int64_t end, float* x, const float* g, float* m, float* v) {
  const float b1 = c.b1, b2 = c.b2, gs = c.grad_scale, eps = c.eps, step = c.step, rc2 = c.rc2;
  for (int64_t i = begin; i < end; ++i) {
    const float gi = g[i] * gs;
    m[i] = b1 * m[i] + (1.0f - b1) * gi;
    v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
    x[i] -= step * m[i] / (std::sqrt(v[i]) * rc2 + eps);
  }
}

struct AdamSettings {
  float lr = 6e-4f;      // learning rate
  float beta1 = 0.9f;    // first-moment decay
  float beta2 = 0.999f;  // second-moment decay
  float eps = 1e-8f;     // denominator floor (Dreamer's model uses 1e-4)
  float clip = 100.0f;   // global gradient-norm clip; 0 disables
};

class Adam {
 public:
  Adam(const NamedVars& params, const AdamSettings& s = {});
  // Clips and updates every parameter that has a grad (others are left alone but
  // count as zero in the norm). Returns the global gradient norm before clipping.
  // A non-finite norm (NaN/Inf grad) skips the update entirely, leaving parameters
  // and state untouched: check the result and name the culprit with first_nonfinite_grad.
  // Does not zero the grads: call zero_grad() before the next backward.
  float step();
  // The same step with the global norm already computed (on the device, with the loss, so that
  // the step makes no copy to the host); it must be global_grad_norm of the current grads.
  float step(double norm);
  void zero_grad();
  int64_t step_count() const { return t_; }
  const AdamSettings& settings() const { return s_; }
  const NamedVars& params() const { return params_; }

  // State as named tensors: "<param>.adam_m", "<param>.adam_v" for each parameter and
  // "adam.step" (2 floats: step mod 2^24, step / 2^24). Tensors are copies.
  std::vector<std::pair<std::string, Tensor>> state() const;
  // Restores state(); every name must be present with the parameter's shape, else throws
  // naming `source` (e.g. the file) and the tensor.
  void load_state(const std::vector<std::pair<std::string, Tensor>>& st, const std::string& source = "adam state");

 private:
  float step_impl(const double* known_norm);  // null: computes the norm

  NamedVars params_;
  AdamSettings s_;
  std::vector<Tensor> m_, v_;
  int64_t t_ = 0;
};

// Adam on a flat float vector (plans of shooting GD, the first-order LatCo ablation, image
// collocation), minimising: x -= lr * m_hat / (sqrt(v_hat) + eps) by adam_update. No clipping.
struct FlatAdam {
  float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
  std::vector<float> m, v;  // (n) moment estimates
  int t = 0;
  void resize(int n) { m.assign(n, 0.0f); v.assign(n, 0.0f); t = 0; }
  void reset() { std::fill(m.begin(), m.end(), 0.0f); std::fill(v.begin(), v.end(), 0.0f); t = 0; }
  // x: (n), g: (n) gradient of the loss.
  void step(float* x, const float* g);
};

// Global L2 norm of all existing grads (double accumulation).
double global_grad_norm(const NamedVars& params);
// Name of the first parameter whose grad holds a NaN or Inf; "" if all finite (or absent).
std::string first_nonfinite_grad(const NamedVars& params);

}  // namespace latco::nn
