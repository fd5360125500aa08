// Layers on the autodiff graph: Linear, Conv2d, ConvTranspose2d, GRUCell, MLP.
// Each can be built fresh (Glorot-uniform weights, zero biases, from an Rng) or
// wrap existing tensors as its parameters (sharing their storage, e.g. with
// TransitionWeights). Left out: normalisation layers, dropout, weight decay.
#pragma once
#include <vector>

#include "nn/module.h"

namespace latco::nn {

// y = x W + b.  x: (..., in) -> (..., out);  W stored (in, out), b (out).
class Linear : public Module {
 public:
  Linear() = default;
  Linear(int in, int out, Rng& rng, bool bias = true);
  Linear(const Tensor& w, const Tensor& b);  // wraps; b may be undefined (no bias)
  ad::Var forward(const ad::Var& x) const;
  ad::Var operator()(const ad::Var& x) const { return forward(x); }
  int in = 0, out = 0;
  ad::Var w, b;
};

// NCHW convolution.  x: (N, C, H, W) -> (N, O, Ho, Wo), Ho = (H + 2 pad - K) / stride + 1;  w (O, C, K, K), b (O).
class Conv2d : public Module {
 public:
  Conv2d() = default;
  Conv2d(int in_ch, int out_ch, int kernel, int stride, int pad, Rng& rng);
  Conv2d(const Tensor& w, const Tensor& b, int stride, int pad);  // wraps
  ad::Var forward(const ad::Var& x) const;
  ad::Var operator()(const ad::Var& x) const { return forward(x); }
  int stride = 1, pad = 0;
  ad::Var w, b;
};

// Transposed convolution.  x: (N, C, H, W) -> (N, O, Ho, Wo), Ho = (H - 1) stride - 2 pad + K + output_pad;
// w (C, O, K, K), b (O).
class ConvTranspose2d : public Module {
 public:
  ConvTranspose2d() = default;
  ConvTranspose2d(int in_ch, int out_ch, int kernel, int stride, int pad, Rng& rng, int output_pad = 0);
  ConvTranspose2d(const Tensor& w, const Tensor& b, int stride, int pad, int output_pad = 0);  // wraps
  ad::Var forward(const ad::Var& x) const;
  ad::Var operator()(const ad::Var& x) const { return forward(x); }
  int stride = 1, pad = 0, output_pad = 0;
  ad::Var w, b;
};

// GRU cell, gates in order [r, u, n] (the math of model/transition_weights.h):
//   g_x = x W_x + b_x,  g_h = h W_h + b_h                  (B, 3D) each
//   r = sigmoid(g_x[r] + g_h[r]),  u = sigmoid(g_x[u] + g_h[u])
//   n = tanh(g_x[n] + r * g_h[n]),  h' = (1 - u) * n + u * h
// x: (B, in), h: (B, D) -> h': (B, D).  W_x (in, 3D), b_x (3D), W_h (D, 3D), b_h (3D).
class GRUCell : public Module {
 public:
  GRUCell() = default;
  GRUCell(int in, int hidden, Rng& rng);
  GRUCell(const Tensor& W_x, const Tensor& b_x, const Tensor& W_h, const Tensor& b_h);  // wraps
  ad::Var forward(const ad::Var& x, const ad::Var& h) const;
  ad::Var operator()(const ad::Var& x, const ad::Var& h) const { return forward(x, h); }
  int in = 0, hidden = 0;
  ad::Var W_x, b_x, W_h, b_h;
};

// Stack of Linear layers: sizes {in, h1, ..., out}; `act` after every hidden
// layer, `out_act` after the last (None by default). Parameters "0.w", "0.b", "1.w", ...
class MLP : public Module {
 public:
  MLP() = default;
  MLP(const std::vector<int>& sizes, Activation act, Rng& rng, Activation out_act = Activation::None);
  // Wraps (W, b) pairs; weights[i] (in_i, out_i), biases[i] (out_i).
  MLP(const std::vector<Tensor>& weights, const std::vector<Tensor>& biases, Activation act,
      Activation out_act = Activation::None);
  ad::Var forward(const ad::Var& x) const;  // x: (..., in) -> (..., out)
  ad::Var operator()(const ad::Var& x) const { return forward(x); }
  std::vector<Linear> layers;
  Activation act = Activation::ELU, out_act = Activation::None;
};

}  // namespace latco::nn
