// Module: a named registry of trainable parameters (ad::Vars in registration
// order, children's names prefixed "child."), plus Glorot-uniform init and the
// activation enum the layers share. Copies of a Module share its parameters.
// Left out: buffers/non-trainable state, train/eval modes, hooks.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "autodiff/var.h"
#include "core/rng.h"
#include "core/tensor.h"

namespace latco::nn {

using NamedVars = std::vector<std::pair<std::string, ad::Var>>;

enum class Activation { None, ReLU, ELU, Tanh };
ad::Var activate(const ad::Var& x, Activation a);
Activation parse_activation(const std::string& s);  // "none" | "relu" | "elu" | "tanh"; throws otherwise
const char* activation_name(Activation a);

// Glorot (Xavier) uniform: U(-l, l), l = sqrt(6 / (fan_in + fan_out)); fans include the kernel area for convs.
Tensor glorot_uniform(const Shape& shape, int64_t fan_in, int64_t fan_out, Rng& rng);

class Module {
 public:
  virtual ~Module() = default;
  // Every parameter, in registration order, with nested names ("encoder.conv1.w").
  const NamedVars& parameters() const { return params_; }
  std::vector<ad::Var> parameter_vars() const;
  int64_t num_parameters() const;  // total scalar count
  void zero_grad();                // zeroes the grads that exist
  // The parameter with this full name; throws naming the module's parameter list if absent.
  ad::Var parameter(const std::string& name) const;
  // Moves every parameter (and any grad it holds) to `dev`, in place: the Vars keep their nodes,
  // so layers, copies of this Module and an Adam over its parameters all see the move. Tensors a
  // layer wrapped (e.g. TransitionWeights) no longer share storage with it once it moved.
  void to(Device dev);

 protected:
  // Wraps t as a trainable leaf (shares its storage) named `name`; returns the Var.
  ad::Var register_parameter(const std::string& name, const Tensor& t);
  // Adds the child's current parameters under "name." (the child must be complete).
  void register_module(const std::string& name, const Module& child);

 private:
  NamedVars params_;
};

}  // namespace latco::nn
