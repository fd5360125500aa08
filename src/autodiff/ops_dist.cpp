// Diagonal-Normal helpers, elementwise, built from the primitive ops (so their
// gradients come from rules tested one by one); inputs broadcast like add/mul.
// On the GPU, inputs of one shape take the fused kernels of cuda/rssm_ops.cu instead
// (one launch forward, one backward); other cases run the composite on the device.
// Left out: other distributions, reductions over event dims (sum them yourself).
#include <cmath>

#include "autodiff/ops_util.h"
#include "cuda/cuda_api.h"

namespace latco::ad {
using detail::make_result;
using detail::wants;

#ifdef HAVE_CUDA
namespace {
// Can the fused kernel take these inputs: all on the GPU, one shape, distinct nodes (the
// kernels' gradient pointers are __restrict__, so one node must not appear twice)?
bool fused_ok(const char* op, const std::vector<Var>& xs) {
  for (const Var& x : xs)
    if (!x.defined()) return false;  // the composite reports it
  if (detail::common_device(op, xs) != Device::CUDA) return false;
  for (size_t i = 0; i < xs.size(); ++i)
    for (size_t j = 0; j < xs.size(); ++j)
      if (xs[i].shape() != xs[0].shape() || (i != j && xs[i].node() == xs[j].node())) return false;
  return true;
}
// Gradient buffer of input i, or null when it wants none.
float* grad_or_null(Node& self, size_t i) { return wants(self, i) ? self.inputs[i]->grad_buffer().data() : nullptr; }
}  // namespace
#endif

// Eq. (2), the KL term of the ELBO per element:
// KL(N(m1, s1^2) || N(m2, s2^2)) = log(s2 / s1) + (s1^2 + (m1 - m2)^2) / (2 s2^2) - 1/2
Var kl_normal(const Var& m1, const Var& s1, const Var& m2, const Var& s2) {
#ifdef HAVE_CUDA
  if (fused_ok("kl_normal", {m1, s1, m2, s2})) {
    Tensor kl(m1.shape(), Device::CUDA);
    cuda::kl_normal_forward(kl.numel(), m1.value().data(), s1.value().data(), m2.value().data(), s2.value().data(),
                            kl.data());
    return make_result(kl, "kl_normal", {m1.node(), s1.node(), m2.node(), s2.node()}, [](Node& self) {
      cuda::kl_normal_backward(self.value.numel(), self.inputs[0]->value.data(), self.inputs[1]->value.data(),
                               self.inputs[2]->value.data(), self.inputs[3]->value.data(), self.grad.data(),
                               grad_or_null(self, 0), grad_or_null(self, 1), grad_or_null(self, 2),
                               grad_or_null(self, 3));
    });
  }
#endif
  Var num = square(s1) + square(m1 - m2);
  Var den = mul_scalar(square(s2), 2.0f);
  return add_scalar(log(s2) - log(s1) + num / den, -0.5f);
}

// Eq. (2), the log-likelihood terms ln p(o, r | z) per element:
// log N(x; m, s^2) = -((x - m) / s)^2 / 2 - log s - log(2 pi) / 2
Var normal_log_prob(const Var& x, const Var& m, const Var& s) {
#ifdef HAVE_CUDA
  if (fused_ok("normal_log_prob", {x, m, s})) {
    Tensor lp(x.shape(), Device::CUDA);
    cuda::normal_log_prob_forward(lp.numel(), x.value().data(), m.value().data(), s.value().data(), lp.data());
    return make_result(lp, "normal_log_prob", {x.node(), m.node(), s.node()}, [](Node& self) {
      cuda::normal_log_prob_backward(self.value.numel(), self.inputs[0]->value.data(), self.inputs[1]->value.data(),
                                     self.inputs[2]->value.data(), self.grad.data(), grad_or_null(self, 0),
                                     grad_or_null(self, 1), grad_or_null(self, 2));
    });
  }
#endif
  const float half_log_2pi = 0.5f * std::log(2.0f * static_cast<float>(M_PI));
  Var z = (x - m) / s;
  return add_scalar(mul_scalar(square(z), -0.5f) - log(s), -half_log_2pi);
}

// m + s * eps (reparameterisation; eps is a fixed draw of standard normals)
Var sample_normal(const Var& m, const Var& s, const Tensor& eps) { return m + s * constant(eps); }

}  // namespace latco::ad
