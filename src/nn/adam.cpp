// Adam with global-norm clipping; its state as named tensors for checkpoints. Parameters on
// the GPU are updated there (cuda::adam_update, the same rule) with m, v beside them.
// Left out: weight decay, learning-rate schedules.
#include "nn/adam.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/thread_pool.h"
#include "cuda/cuda_api.h"

namespace latco::nn {

// Sum of squares over fixed blocks, added in block order: the same for any thread count.
static double sum_squares(const float* p, int64_t n) {
  constexpr int64_t kBlock = 1 << 15;
  const int64_t nb = (n + kBlock - 1) / kBlock;
  std::vector<double> part(nb, 0.0);
  parallel_for(nb, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      double acc = 0;
      const int64_t e = std::min(n, (b + 1) * kBlock);
      for (int64_t i = b * kBlock; i < e; ++i) acc += double(p[i]) * p[i];
      part[b] = acc;
    }
  });
  double ss = 0;
  for (double v : part) ss += v;
  return ss;
}

double global_grad_norm(const NamedVars& params) {
  double ss = 0;
  std::vector<const float*> dev_grads;  // grads on the GPU, reduced there in one call
  std::vector<int64_t> dev_sizes;
  for (const auto& p : params) {
    if (!p.second.has_grad()) continue;
    const Tensor& g = p.second.node()->grad;
    if (g.device() == Device::CUDA) {
      dev_grads.push_back(g.data());
      dev_sizes.push_back(g.numel());
    } else {
      ss += sum_squares(g.data(), g.numel());
    }
  }
#ifdef HAVE_CUDA
  if (!dev_grads.empty()) {
    const double d = cuda::global_grad_norm(int(dev_grads.size()), dev_grads.data(), dev_sizes.data());
    ss += d * d;
  }
#endif
  return std::sqrt(ss);
}

std::string first_nonfinite_grad(const NamedVars& params) {
  for (const auto& p : params) {
    if (!p.second.has_grad()) continue;
    const Tensor& g0 = p.second.node()->grad;
    const Tensor g = g0.device() == Device::CPU ? g0 : g0.to(Device::CPU);
    const float* pg = g.data();
    for (int64_t i = 0; i < g.numel(); ++i)
      if (!std::isfinite(pg[i])) return p.first;
  }
  return "";
}

Adam::Adam(const NamedVars& params, const AdamSettings& s) : params_(params), s_(s) {
  LATCO_CHECK(!params_.empty()) << "Adam: no parameters to optimise (did you register them in the Module?)";
  for (const auto& p : params_) {
    LATCO_CHECK(p.second.defined() && p.second.requires_grad())
        << "Adam: parameter '" << p.first << "' is not a trainable leaf";
    m_.push_back(Tensor::zeros(p.second.shape(), p.second.value().device()));
    v_.push_back(Tensor::zeros(p.second.shape(), p.second.value().device()));
  }
}

void Adam::zero_grad() {
  for (auto& p : params_)
    if (p.second.has_grad()) p.second.grad().zero();
}

// Algorithm 1, model update: phi += alpha grad L_ELBO (Eq. (2)), taken with Adam.
float Adam::step() { return step_impl(nullptr); }
float Adam::step(double norm) { return step_impl(&norm); }

float Adam::step_impl(const double* known_norm) {
  // ----- device: all parameters on one; m, v follow them (Module::to may have moved them) -----
  const Device dev = params_[0].second.value().device();
  for (size_t k = 0; k < params_.size(); ++k) {
    const ad::Var& p = params_[k].second;
    if (p.value().device() != dev)
      LATCO_FAIL("Adam: parameter '" << params_[k].first << "' is on the " << device_name(p.value().device())
                                     << " but '" << params_[0].first << "' on the " << device_name(dev)
                                     << "; move the whole module with nn::Module::to");
    if (p.has_grad() && p.node()->grad.device() != dev)
      LATCO_FAIL("Adam: the grad of parameter '" << params_[k].first << "' is on the "
                                                 << device_name(p.node()->grad.device()) << ", the parameter on the "
                                                 << device_name(dev));
    if (m_[k].device() != dev) m_[k] = m_[k].to(dev);
    if (v_[k].device() != dev) v_[k] = v_[k].to(dev);
  }
#ifdef HAVE_CUDA
  if (dev == Device::CUDA) {  // the same rule in cuda/adam.cu; nothing changes on a non-finite norm
    std::vector<float*> x, m, v;
    std::vector<const float*> g;
    std::vector<int64_t> n;
    for (size_t k = 0; k < params_.size(); ++k) {
      ad::Var& p = params_[k].second;
      x.push_back(p.mutable_value().data());
      g.push_back(p.has_grad() ? p.node()->grad.data() : nullptr);  // no grad: left alone
      m.push_back(m_[k].data());
      v.push_back(v_[k].data());
      n.push_back(m_[k].numel());
    }
    const cuda::AdamStep st{s_.lr, s_.beta1, s_.beta2, s_.eps, s_.clip, t_ + 1};
    float norm;
    if (known_norm) {  // computed on the device beside the loss: no copy back here
      cuda::adam_apply(int(x.size()), x.data(), g.data(), m.data(), v.data(), n.data(), st, *known_norm);
      norm = float(*known_norm);
    } else {
      norm = cuda::adam_update(int(x.size()), x.data(), g.data(), m.data(), v.data(), n.data(), st);
    }
    if (std::isfinite(norm)) ++t_;
    return norm;
  }
#endif
  // ----- global-norm clipping -----
  const double norm = known_norm ? *known_norm : global_grad_norm(params_);
  if (!std::isfinite(norm)) return static_cast<float>(norm);
  const double scale = (s_.clip > 0 && norm > s_.clip) ? s_.clip / norm : 1.0;
  // ----- moments and bias-corrected update (adam_update) -----
  ++t_;
  const AdamCoeffs c = adam_coeffs(s_.lr, s_.beta1, s_.beta2, s_.eps, t_, scale);
  for (size_t k = 0; k < params_.size(); ++k) {
    ad::Var& p = params_[k].second;
    if (!p.has_grad()) continue;
    const float* g = p.node()->grad.data();
    float* x = p.mutable_value().data();
    float* m = m_[k].data();
    float* v = v_[k].data();
    parallel_for(m_[k].numel(), [&](int64_t b, int64_t e) { adam_update(c, b, e, x, g, m, v); }, 1 << 15);
  }
  return static_cast<float>(norm);
}

std::vector<std::pair<std::string, Tensor>> Adam::state() const {
  std::vector<std::pair<std::string, Tensor>> st;
  for (size_t k = 0; k < params_.size(); ++k) {
    // host copies (checkpoints are written from the host)
    st.push_back({params_[k].first + ".adam_m", m_[k].device() == Device::CPU ? m_[k].clone() : m_[k].to(Device::CPU)});
    st.push_back({params_[k].first + ".adam_v", v_[k].device() == Device::CPU ? v_[k].clone() : v_[k].to(Device::CPU)});
  }
  const int64_t lo = t_ % (int64_t(1) << 24), hi = t_ >> 24;
  st.push_back({"adam.step", Tensor::from({2}, {float(lo), float(hi)})});
  return st;
}

void Adam::load_state(const std::vector<std::pair<std::string, Tensor>>& st, const std::string& source) {
  auto find = [&](const std::string& name, const Shape& shape) -> const Tensor& {
    for (const auto& e : st)
      if (e.first == name) {
        if (e.second.shape() != shape)
          LATCO_FAIL(source << ": tensor '" << name << "' has shape " << shape_str(e.second.shape()) << ", expected "
                            << shape_str(shape));
        return e.second;
      }
    LATCO_FAIL(source << ": missing tensor '" << name << "'");
  };
  // Validate everything before touching any state.
  std::vector<const Tensor*> ms, vs;
  for (const auto& p : params_) {
    ms.push_back(&find(p.first + ".adam_m", p.second.shape()));
    vs.push_back(&find(p.first + ".adam_v", p.second.shape()));
  }
  const Tensor& step = find("adam.step", {2});
  const float lo = step[0], hi = step[1];
  // hi counts units of 2^24 steps: below 2^24 keeps the step count below 2^48 (no shift overflow).
  if (!(lo >= 0 && hi >= 0 && lo < 16777216.0f && hi < 16777216.0f && lo == std::floor(lo) && hi == std::floor(hi)))
    LATCO_FAIL(source << ": tensor 'adam.step' holds (" << lo << ", " << hi << "), not a step count");
  for (size_t k = 0; k < params_.size(); ++k) {
    m_[k].copy_from(*ms[k]);
    v_[k].copy_from(*vs[k]);
  }
  t_ = int64_t(lo) + (int64_t(hi) << 24);
}

AdamCoeffs adam_coeffs(float lr, float beta1, float beta2, float eps, int64_t t, double grad_scale) {
  const double c1 = 1.0 - std::pow(double(beta1), double(t));
  const double c2 = 1.0 - std::pow(double(beta2), double(t));
  // x -= lr * (m / c1) / (sqrt(v / c2) + eps)  ==  x -= step * m / (sqrt(v) * rc2 + eps)
  return {beta1, beta2, eps, static_cast<float>(lr / c1), static_cast<float>(1.0 / std::sqrt(c2)),
          static_cast<float>(grad_scale)};
}

void FlatAdam::step(float* x, const float* g) {
  ++t;
  adam_update(adam_coeffs(lr, beta1, beta2, eps, t), 0, int64_t(m.size()), x, g, m.data(), v.data());
}

}  // namespace latco::nn
