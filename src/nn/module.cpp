// Module parameter registry, activations, and Glorot-uniform initialisation.
// Left out: the layers themselves (layers.cpp).
#include "nn/module.h"

#include <cmath>
#include <sstream>

#include "core/error.h"

namespace latco::nn {

ad::Var activate(const ad::Var& x, Activation a) {
  switch (a) {
    case Activation::None: return x;
    case Activation::ReLU: return ad::relu(x);
    case Activation::ELU: return ad::elu(x);
    case Activation::Tanh: return ad::tanh(x);
  }
  LATCO_FAIL("activate: unknown activation " << static_cast<int>(a));
}

Activation parse_activation(const std::string& s) {
  if (s == "none") return Activation::None;
  if (s == "relu") return Activation::ReLU;
  if (s == "elu") return Activation::ELU;
  if (s == "tanh") return Activation::Tanh;
  LATCO_FAIL("unknown activation '" << s << "' (expected none, relu, elu or tanh)");
}

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::None: return "none";
    case Activation::ReLU: return "relu";
    case Activation::ELU: return "elu";
    case Activation::Tanh: return "tanh";
  }
  return "?";
}

Tensor glorot_uniform(const Shape& shape, int64_t fan_in, int64_t fan_out, Rng& rng) {
  LATCO_CHECK(fan_in + fan_out > 0) << "glorot_uniform: zero fans for shape " << shape_str(shape);
  Tensor w(shape);
  const float lim = std::sqrt(6.0f / static_cast<float>(fan_in + fan_out));
  for (int64_t i = 0; i < w.numel(); ++i) w[i] = rng.uniform(-lim, lim);
  return w;
}

std::vector<ad::Var> Module::parameter_vars() const {
  std::vector<ad::Var> v;
  for (const auto& p : params_) v.push_back(p.second);
  return v;
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (const auto& p : params_) n += p.second.value().numel();
  return n;
}

void Module::zero_grad() { ad::zero_grad(parameter_vars()); }

void Module::to(Device dev) {
  for (auto& p : params_) {
    ad::Node& n = *p.second.node();
    n.value = n.value.to(dev);
    if (n.grad.defined()) n.grad = n.grad.to(dev);
  }
}

ad::Var Module::parameter(const std::string& name) const {
  for (const auto& p : params_)
    if (p.first == name) return p.second;
  std::ostringstream os;
  for (size_t i = 0; i < params_.size(); ++i) os << (i ? ", " : "") << params_[i].first;
  LATCO_FAIL("no parameter named '" << name << "'; parameters are: " << (params_.empty() ? "(none)" : os.str()));
}

ad::Var Module::register_parameter(const std::string& name, const Tensor& t) {
  LATCO_CHECK(t.defined()) << "register_parameter '" << name << "': undefined tensor";
  for (const auto& p : params_)
    LATCO_CHECK(p.first != name) << "register_parameter: duplicate name '" << name << "'";
  ad::Var v = ad::leaf(t, true, name);
  params_.push_back({name, v});
  return v;
}

void Module::register_module(const std::string& name, const Module& child) {
  LATCO_CHECK(&child != this) << "register_module '" << name << "': a module cannot contain itself";
  for (const auto& p : child.params_) {
    const std::string full = name + "." + p.first;
    for (const auto& q : params_)
      LATCO_CHECK(q.first != full) << "register_module: duplicate parameter name '" << full << "'";
    params_.push_back({full, p.second});
  }
}

}  // namespace latco::nn
