// Convolution ops on the graph, NCHW: conv2d and conv_transpose2d. The math and
// its adjoints live in kernels/conv.h (cuda/conv.cu on the GPU, same ConvShape); here are
// shape checks, device dispatch and graph wiring.
// The bias Var may be undefined (no bias). Left out: dilation, groups, non-square kernels.
#include "autodiff/ops_util.h"
#include "cuda/cuda_api.h"
#include "kernels/conv.h"

namespace latco::ad {
using detail::check_defined;
using detail::make_result;
using detail::wants;

namespace {

ConvShape conv_shape(const char* op, const Var& x, const Var& w, const Var& b, int stride, int pad, int out_pad,
                     bool transposed) {
  check_defined(op, x);
  check_defined(op, w);
  if (b.defined()) check_defined(op, b);
  detail::common_device(op, {x, w, b});
  if (x.dim() != 4) LATCO_FAIL(op << ": input must be (N,C,H,W), got " << shape_str(x.shape()));
  if (w.dim() != 4 || w.size(2) != w.size(3))
    LATCO_FAIL(op << ": weight must be (" << (transposed ? "C_in,C_out" : "O,C") << ",K,K), got "
                  << shape_str(w.shape()));
  // conv2d: w (O, C, K, K); conv_transpose2d: w (C, O, K, K).
  const int64_t wc = transposed ? w.size(0) : w.size(1), wo = transposed ? w.size(1) : w.size(0);
  if (wc != x.size(1))
    LATCO_FAIL(op << ": input channels " << x.size(1) << " do not match weight " << shape_str(w.shape())
                  << " (input " << shape_str(x.shape()) << ")");
  if (b.defined() && (b.dim() != 1 || b.size(0) != wo))
    LATCO_FAIL(op << ": bias must be (" << wo << "), got " << shape_str(b.shape()));
  ConvShape s;
  s.N = int(x.size(0)), s.C = int(x.size(1)), s.H = int(x.size(2)), s.W = int(x.size(3));
  s.O = int(wo), s.K = int(w.size(2));
  s.stride = stride, s.pad = pad, s.out_pad = out_pad, s.transposed = transposed;
  if (stride < 1 || pad < 0 || out_pad < 0 || (out_pad > 0 && out_pad >= stride) || s.Ho() < 1 || s.Wo() < 1)
    LATCO_FAIL(op << ": bad geometry for input " << shape_str(x.shape()) << ", weight " << shape_str(w.shape())
                  << ": stride " << stride << ", pad " << pad << ", output_pad " << out_pad);
  return s;
}

std::vector<std::shared_ptr<Node>> conv_inputs(const Var& x, const Var& w, const Var& b) {
  std::vector<std::shared_ptr<Node>> ins{x.node(), w.node()};
  if (b.defined()) ins.push_back(b.node());
  return ins;
}

}  // namespace

// y = conv(x, w) + b;  dx, dw, db from conv2d_backward (the adjoint).
Var conv2d(const Var& x, const Var& w, const Var& b, int stride, int pad) {
  ConvShape s = conv_shape("conv2d", x, w, b, stride, pad, 0, false);
#ifdef HAVE_CUDA
  if (detail::on_cuda(x.value())) {
    Tensor y({s.N, s.O, s.Ho(), s.Wo()}, Device::CUDA);
    cuda::conv2d_forward(s, x.value().data(), w.value().data(), b.defined() ? b.value().data() : nullptr, y.data());
    return make_result(y, "conv2d", conv_inputs(x, w, b), [s](Node& self) {
      float* dx = wants(self, 0) ? self.inputs[0]->grad_buffer().data() : nullptr;
      float* dw = wants(self, 1) ? self.inputs[1]->grad_buffer().data() : nullptr;
      float* db = self.inputs.size() > 2 && wants(self, 2) ? self.inputs[2]->grad_buffer().data() : nullptr;
      cuda::conv2d_backward(s, self.inputs[0]->value.data(), self.inputs[1]->value.data(), self.grad.data(), dx, dw,
                            db);
    });
  }
#endif
  Tensor y({s.N, s.O, s.Ho(), s.Wo()});
  conv2d_forward(s, x.value().data(), w.value().data(), b.defined() ? b.value().data() : nullptr, y.data());
  return make_result(y, "conv2d", conv_inputs(x, w, b), [s](Node& self) {
    float* dx = wants(self, 0) ? self.inputs[0]->grad_buffer().data() : nullptr;
    float* dw = wants(self, 1) ? self.inputs[1]->grad_buffer().data() : nullptr;
    float* db = self.inputs.size() > 2 && wants(self, 2) ? self.inputs[2]->grad_buffer().data() : nullptr;
    conv2d_backward(s, self.inputs[0]->value.data(), self.inputs[1]->value.data(), self.grad.data(), dx, dw, db);
  });
}

// y = conv_transpose(x, w) + b: the adjoint of conv2d in x, plus a bias.
Var conv_transpose2d(const Var& x, const Var& w, const Var& b, int stride, int pad, int output_pad) {
  ConvShape s = conv_shape("conv_transpose2d", x, w, b, stride, pad, output_pad, true);
#ifdef HAVE_CUDA
  if (detail::on_cuda(x.value())) {
    Tensor y({s.N, s.O, s.Ho(), s.Wo()}, Device::CUDA);
    cuda::conv_transpose2d_forward(s, x.value().data(), w.value().data(), b.defined() ? b.value().data() : nullptr,
                                   y.data());
    return make_result(y, "conv_transpose2d", conv_inputs(x, w, b), [s](Node& self) {
      float* dx = wants(self, 0) ? self.inputs[0]->grad_buffer().data() : nullptr;
      float* dw = wants(self, 1) ? self.inputs[1]->grad_buffer().data() : nullptr;
      float* db = self.inputs.size() > 2 && wants(self, 2) ? self.inputs[2]->grad_buffer().data() : nullptr;
      cuda::conv_transpose2d_backward(s, self.inputs[0]->value.data(), self.inputs[1]->value.data(),
                                      self.grad.data(), dx, dw, db);
    });
  }
#endif
  Tensor y({s.N, s.O, s.Ho(), s.Wo()});
  conv_transpose2d_forward(s, x.value().data(), w.value().data(), b.defined() ? b.value().data() : nullptr,
                           y.data());
  return make_result(y, "conv_transpose2d", conv_inputs(x, w, b), [s](Node& self) {
    float* dx = wants(self, 0) ? self.inputs[0]->grad_buffer().data() : nullptr;
    float* dw = wants(self, 1) ? self.inputs[1]->grad_buffer().data() : nullptr;
    float* db = self.inputs.size() > 2 && wants(self, 2) ? self.inputs[2]->grad_buffer().data() : nullptr;
    conv_transpose2d_backward(s, self.inputs[0]->value.data(), self.inputs[1]->value.data(), self.grad.data(), dx,
                              dw, db);
  });
}

}  // namespace latco::ad
