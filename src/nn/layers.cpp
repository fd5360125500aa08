// Layers: Linear, Conv2d, ConvTranspose2d, GRUCell, MLP (see layers.h for the math
// and shapes). Each forward is a few autodiff ops, so gradients need no new rules.
// Left out: fused kernels (a fused GRU step would save memory in long rollouts).
#include "nn/layers.h"

#include "core/error.h"

namespace latco::nn {

namespace {
void check_shape(const char* layer, const char* what, const Tensor& t, const Shape& want) {
  if (t.shape() != want)
    LATCO_FAIL(layer << ": " << what << " has shape " << shape_str(t.shape()) << ", expected " << shape_str(want));
}
}  // namespace

// ----- Linear: y = x W + b -----
Linear::Linear(int in_, int out_, Rng& rng, bool bias) : in(in_), out(out_) {
  LATCO_CHECK(in > 0 && out > 0) << "Linear(" << in << ", " << out << "): sizes must be positive";
  w = register_parameter("w", glorot_uniform({in, out}, in, out, rng));
  if (bias) b = register_parameter("b", Tensor::zeros({out}));
}

Linear::Linear(const Tensor& w_, const Tensor& b_) {
  LATCO_CHECK(w_.defined() && w_.dim() == 2) << "Linear: weight must be (in, out), got "
                                             << (w_.defined() ? shape_str(w_.shape()) : "undefined");
  in = int(w_.size(0)), out = int(w_.size(1));
  w = register_parameter("w", w_);
  if (b_.defined()) {
    check_shape("Linear", "bias", b_, {out});
    b = register_parameter("b", b_);
  }
}

ad::Var Linear::forward(const ad::Var& x) const {
  LATCO_CHECK(w.defined()) << "Linear: used before construction";
  if (x.dim() < 1 || x.size(-1) != in)
    LATCO_FAIL("Linear(" << in << ", " << out << "): input shape " << shape_str(x.shape()) << ", expected (..., "
                         << in << ")");
  ad::Var x2 = x.dim() == 2 ? x : ad::reshape(x, {-1, in});
  ad::Var y = ad::matmul(x2, w);
  if (b.defined()) y = y + b;
  if (x.dim() == 2) return y;
  Shape ys = x.shape();
  ys.back() = out;
  return ad::reshape(y, ys);
}

// ----- Conv2d -----
Conv2d::Conv2d(int in_ch, int out_ch, int kernel, int stride_, int pad_, Rng& rng) : stride(stride_), pad(pad_) {
  LATCO_CHECK(in_ch > 0 && out_ch > 0 && kernel > 0) << "Conv2d: channels and kernel must be positive";
  const int64_t area = int64_t(kernel) * kernel;
  w = register_parameter("w", glorot_uniform({out_ch, in_ch, kernel, kernel}, in_ch * area, out_ch * area, rng));
  b = register_parameter("b", Tensor::zeros({out_ch}));
}

Conv2d::Conv2d(const Tensor& w_, const Tensor& b_, int stride_, int pad_) : stride(stride_), pad(pad_) {
  LATCO_CHECK(w_.defined() && w_.dim() == 4) << "Conv2d: weight must be (O, C, K, K)";
  w = register_parameter("w", w_);
  if (b_.defined()) {
    check_shape("Conv2d", "bias", b_, {w_.size(0)});
    b = register_parameter("b", b_);
  }
}

ad::Var Conv2d::forward(const ad::Var& x) const { return ad::conv2d(x, w, b, stride, pad); }

// ----- ConvTranspose2d -----
ConvTranspose2d::ConvTranspose2d(int in_ch, int out_ch, int kernel, int stride_, int pad_, Rng& rng, int output_pad_)
    : stride(stride_), pad(pad_), output_pad(output_pad_) {
  LATCO_CHECK(in_ch > 0 && out_ch > 0 && kernel > 0) << "ConvTranspose2d: channels and kernel must be positive";
  const int64_t area = int64_t(kernel) * kernel;
  w = register_parameter("w", glorot_uniform({in_ch, out_ch, kernel, kernel}, in_ch * area, out_ch * area, rng));
  b = register_parameter("b", Tensor::zeros({out_ch}));
}

ConvTranspose2d::ConvTranspose2d(const Tensor& w_, const Tensor& b_, int stride_, int pad_, int output_pad_)
    : stride(stride_), pad(pad_), output_pad(output_pad_) {
  LATCO_CHECK(w_.defined() && w_.dim() == 4) << "ConvTranspose2d: weight must be (C_in, C_out, K, K)";
  w = register_parameter("w", w_);
  if (b_.defined()) {
    check_shape("ConvTranspose2d", "bias", b_, {w_.size(1)});
    b = register_parameter("b", b_);
  }
}

ad::Var ConvTranspose2d::forward(const ad::Var& x) const {
  return ad::conv_transpose2d(x, w, b, stride, pad, output_pad);
}

// ----- GRUCell, gates [r, u, n] -----
GRUCell::GRUCell(int in_, int hidden_, Rng& rng) : in(in_), hidden(hidden_) {
  LATCO_CHECK(in > 0 && hidden > 0) << "GRUCell(" << in << ", " << hidden << "): sizes must be positive";
  W_x = register_parameter("W_x", glorot_uniform({in, 3 * hidden}, in, 3 * hidden, rng));
  b_x = register_parameter("b_x", Tensor::zeros({3 * hidden}));
  W_h = register_parameter("W_h", glorot_uniform({hidden, 3 * hidden}, hidden, 3 * hidden, rng));
  b_h = register_parameter("b_h", Tensor::zeros({3 * hidden}));
}

GRUCell::GRUCell(const Tensor& Wx, const Tensor& bx, const Tensor& Wh, const Tensor& bh) {
  LATCO_CHECK(Wx.defined() && Wx.dim() == 2 && Wx.size(1) % 3 == 0)
      << "GRUCell: W_x must be (in, 3D), got " << (Wx.defined() ? shape_str(Wx.shape()) : "undefined");
  in = int(Wx.size(0)), hidden = int(Wx.size(1) / 3);
  check_shape("GRUCell", "b_x", bx, {3 * hidden});
  check_shape("GRUCell", "W_h", Wh, {hidden, 3 * hidden});
  check_shape("GRUCell", "b_h", bh, {3 * hidden});
  W_x = register_parameter("W_x", Wx);
  b_x = register_parameter("b_x", bx);
  W_h = register_parameter("W_h", Wh);
  b_h = register_parameter("b_h", bh);
}

// x: (B, in), h: (B, D) -> h': (B, D)
ad::Var GRUCell::forward(const ad::Var& x, const ad::Var& h) const {
  LATCO_CHECK(W_x.defined()) << "GRUCell: used before construction";
  if (x.dim() != 2 || x.size(1) != in || h.dim() != 2 || h.size(1) != hidden || h.size(0) != x.size(0))
    LATCO_FAIL("GRUCell(" << in << ", " << hidden << "): inputs x " << shape_str(x.shape()) << ", h "
                          << shape_str(h.shape()) << "; expected (B, " << in << ") and (B, " << hidden << ")");
  const int D = hidden;
  ad::Var gx = ad::matmul(x, W_x) + b_x;  // (B, 3D)
  ad::Var gh = ad::matmul(h, W_h) + b_h;  // (B, 3D)
  ad::Var r = ad::sigmoid(ad::slice(gx, 1, 0, D) + ad::slice(gh, 1, 0, D));
  ad::Var u = ad::sigmoid(ad::slice(gx, 1, D, 2 * D) + ad::slice(gh, 1, D, 2 * D));
  ad::Var n = ad::tanh(ad::slice(gx, 1, 2 * D, 3 * D) + r * ad::slice(gh, 1, 2 * D, 3 * D));
  return n + u * (h - n);  // (1 - u) n + u h
}

// ----- MLP -----
MLP::MLP(const std::vector<int>& sizes, Activation act_, Rng& rng, Activation out_act_) : act(act_), out_act(out_act_) {
  LATCO_CHECK(sizes.size() >= 2) << "MLP: need at least {in, out} sizes, got " << sizes.size();
  for (size_t i = 0; i + 1 < sizes.size(); ++i) layers.emplace_back(sizes[i], sizes[i + 1], rng);
  for (size_t i = 0; i < layers.size(); ++i) register_module(std::to_string(i), layers[i]);
}

MLP::MLP(const std::vector<Tensor>& weights, const std::vector<Tensor>& biases, Activation act_, Activation out_act_)
    : act(act_), out_act(out_act_) {
  LATCO_CHECK(!weights.empty() && weights.size() == biases.size())
      << "MLP: " << weights.size() << " weights and " << biases.size() << " biases";
  for (size_t i = 0; i < weights.size(); ++i) {
    layers.emplace_back(weights[i], biases[i]);
    if (i > 0 && layers[i].in != layers[i - 1].out)
      LATCO_FAIL("MLP: layer " << i << " takes " << layers[i].in << " inputs but layer " << i - 1 << " gives "
                               << layers[i - 1].out);
  }
  for (size_t i = 0; i < layers.size(); ++i) register_module(std::to_string(i), layers[i]);
}

ad::Var MLP::forward(const ad::Var& x) const {
  ad::Var y = x;
  for (size_t i = 0; i < layers.size(); ++i) y = activate(layers[i](y), i + 1 < layers.size() ? act : out_act);
  return y;
}

}  // namespace latco::nn
