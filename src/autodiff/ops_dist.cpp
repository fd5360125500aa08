// Diagonal-Normal helpers, elementwise, built from the primitive ops (so their
// gradients come from rules tested one by one); inputs broadcast like add/mul.
// Left out: other distributions, reductions over event dims (sum them yourself).
#include <cmath>

#include "autodiff/ops_util.h"

namespace latco::ad {

// Eq. (2), the KL term of the ELBO per element:
// KL(N(m1, s1^2) || N(m2, s2^2)) = log(s2 / s1) + (s1^2 + (m1 - m2)^2) / (2 s2^2) - 1/2
Var kl_normal(const Var& m1, const Var& s1, const Var& m2, const Var& s2) {
  Var num = square(s1) + square(m1 - m2);
  Var den = mul_scalar(square(s2), 2.0f);
  return add_scalar(log(s2) - log(s1) + num / den, -0.5f);
}

// Eq. (2), the log-likelihood terms ln p(o, r | z) per element:
// log N(x; m, s^2) = -((x - m) / s)^2 / 2 - log s - log(2 pi) / 2
Var normal_log_prob(const Var& x, const Var& m, const Var& s) {
  const float half_log_2pi = 0.5f * std::log(2.0f * static_cast<float>(M_PI));
  Var z = (x - m) / s;
  return add_scalar(mul_scalar(square(z), -0.5f) - log(s), -half_log_2pi);
}

// m + s * eps (reparameterisation; eps is a fixed draw of standard normals)
Var sample_normal(const Var& m, const Var& s, const Tensor& eps) { return m + s * constant(eps); }

}  // namespace latco::ad
