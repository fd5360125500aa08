// Elementwise ops: binary with numpy broadcasting (add, sub, mul, div), scalar
// ops, and the unary functions. Each backward rule sits below its forward; a
// broadcast input's gradient is summed back over the dims it was expanded along.
// On CUDA tensors each op calls its kernel in cuda/elementwise.cu instead of the CPU loop.
// Left out: in-place variants, integer powers (use square/sqrt/mul).
#include <algorithm>
#include <cmath>

#include "autodiff/ops_util.h"
#include "core/thread_pool.h"
#include "cuda/cuda_api.h"

namespace latco::ad {
using detail::Bcast;
using detail::check_defined;
using detail::for_each_bcast;
using detail::make_result;
using detail::wants;

namespace detail {
Bcast make_bcast(const char* op, const Shape& a, const Shape& b) {
  const int na = static_cast<int>(a.size()), nb = static_cast<int>(b.size());
  const int nd = std::max(na, nb);
  Bcast p;
  p.out.assign(nd, 1);
  std::vector<int64_t> sa(nd, 0), sb(nd, 0);
  int64_t stride_a = 1, stride_b = 1;
  for (int k = nd - 1; k >= 0; --k) {
    const int ka = k - (nd - na), kb = k - (nd - nb);
    const int64_t da = ka >= 0 ? a[ka] : 1, db = kb >= 0 ? b[kb] : 1;
    if (da != db && da != 1 && db != 1)
      LATCO_FAIL(op << ": cannot broadcast " << shape_str(a) << " with " << shape_str(b));
    const int64_t d = da == 1 ? db : da;
    p.out[k] = d;
    sa[k] = (da == 1) ? 0 : stride_a;
    sb[k] = (db == 1) ? 0 : stride_b;
    stride_a *= da;
    stride_b *= db;
  }
  p.numel = shape_numel(p.out);
  // Collapse: drop size-1 dims, merge neighbours whose strides chain for both inputs.
  for (int k = 0; k < nd; ++k) {
    if (p.out[k] == 1) continue;
    if (!p.dims.empty()) {
      const size_t j = p.dims.size() - 1;
      if (p.sa[j] == sa[k] * p.out[k] && p.sb[j] == sb[k] * p.out[k]) {
        p.dims[j] *= p.out[k];
        p.sa[j] = sa[k];
        p.sb[j] = sb[k];
        continue;
      }
    }
    p.dims.push_back(p.out[k]);
    p.sa.push_back(sa[k]);
    p.sb.push_back(sb[k]);
  }
  return p;
}
}  // namespace detail

namespace {

// Runs f(o, ia, ib) over every output element; split over threads when each call
// writes only to its own slot (the forward, or a gradient with no broadcast to sum over).
template <class F>
void run_bcast(const Bcast& p, bool parallel, F f) {
  if (parallel && p.numel >= 2 * detail::kElementwiseGrain)
    parallel_for(p.numel, [&](int64_t b, int64_t e) { detail::for_each_bcast_range(p, b, e, f); },
                 detail::kElementwiseGrain);
  else
    for_each_bcast(p, f);
}

// Does input i of this node have the output's size (so its gradient needs no summing)?
inline bool full_size(const Node& self, size_t i) { return self.inputs[i]->value.numel() == self.value.numel(); }

void binary_inputs_check(const char* op, const Var& a, const Var& b) {
  check_defined(op, a);
  check_defined(op, b);
  detail::common_device(op, {a, b});
}

#ifdef HAVE_CUDA
// CUDA branch of add/sub/mul/div: out: broadcast shape, on the device; the backward sums each
// input's gradient over the dims it was broadcast along (cuda::binary_backward).
Var binary_cuda(const char* op, cuda::Binary k, const Var& a, const Var& b, const Shape& out_shape) {
  Tensor out(out_shape, Device::CUDA);
  cuda::binary_forward(k, a.shape(), a.value().data(), b.shape(), b.value().data(), out.data());
  return make_result(out, op, {a.node(), b.node()}, [k](Node& self) {
    const Tensor &va = self.inputs[0]->value, &vb = self.inputs[1]->value;
    float* da = wants(self, 0) ? self.inputs[0]->grad_buffer().data() : nullptr;
    float* db = wants(self, 1) ? self.inputs[1]->grad_buffer().data() : nullptr;
    cuda::binary_backward(k, va.shape(), va.data(), vb.shape(), vb.data(), self.grad.data(), da, db);
  });
}
#endif

}  // namespace

// ----- add / sub: out = a + s b (s = +1 or -1);  da += g,  db += s g -----
static Var add_sub(const char* op, const Var& a, const Var& b, float s) {
  binary_inputs_check(op, a, b);
  Bcast p = detail::make_bcast(op, a.shape(), b.shape());
#ifdef HAVE_CUDA
  if (detail::on_cuda(a.value())) return binary_cuda(op, s > 0 ? cuda::Binary::Add : cuda::Binary::Sub, a, b, p.out);
#endif
  Tensor out(p.out);
  const float *pa = a.value().data(), *pb = b.value().data();
  float* po = out.data();
  run_bcast(p, true, [&](int64_t o, int64_t ia, int64_t ib) { po[o] = pa[ia] + s * pb[ib]; });
  return make_result(out, op, {a.node(), b.node()}, [p, s](Node& self) {
    const float* g = self.grad.data();
    if (wants(self, 0)) {
      float* ga = self.inputs[0]->grad_buffer().data();
      run_bcast(p, full_size(self, 0), [&](int64_t o, int64_t ia, int64_t) { ga[ia] += g[o]; });
    }
    if (wants(self, 1)) {
      float* gb = self.inputs[1]->grad_buffer().data();
      run_bcast(p, full_size(self, 1), [&](int64_t o, int64_t, int64_t ib) { gb[ib] += s * g[o]; });
    }
  });
}
Var add(const Var& a, const Var& b) { return add_sub("add", a, b, 1.0f); }
Var sub(const Var& a, const Var& b) { return add_sub("sub", a, b, -1.0f); }

// ----- mul: out = a b;  da += g b,  db += g a -----
Var mul(const Var& a, const Var& b) {
  binary_inputs_check("mul", a, b);
  Bcast p = detail::make_bcast("mul", a.shape(), b.shape());
#ifdef HAVE_CUDA
  if (detail::on_cuda(a.value())) return binary_cuda("mul", cuda::Binary::Mul, a, b, p.out);
#endif
  Tensor out(p.out);
  const float *pa = a.value().data(), *pb = b.value().data();
  float* po = out.data();
  run_bcast(p, true, [&](int64_t o, int64_t ia, int64_t ib) { po[o] = pa[ia] * pb[ib]; });
  return make_result(out, "mul", {a.node(), b.node()}, [p](Node& self) {
    const float* g = self.grad.data();
    const float* va = self.inputs[0]->value.data();
    const float* vb = self.inputs[1]->value.data();
    if (wants(self, 0)) {
      float* ga = self.inputs[0]->grad_buffer().data();
      run_bcast(p, full_size(self, 0), [&](int64_t o, int64_t ia, int64_t ib) { ga[ia] += g[o] * vb[ib]; });
    }
    if (wants(self, 1)) {
      float* gb = self.inputs[1]->grad_buffer().data();
      run_bcast(p, full_size(self, 1), [&](int64_t o, int64_t ia, int64_t ib) { gb[ib] += g[o] * va[ia]; });
    }
  });
}

// ----- div: out = a / b;  da += g / b,  db += -g a / b^2 = -g out / b -----
Var div(const Var& a, const Var& b) {
  binary_inputs_check("div", a, b);
  Bcast p = detail::make_bcast("div", a.shape(), b.shape());
#ifdef HAVE_CUDA
  if (detail::on_cuda(a.value())) return binary_cuda("div", cuda::Binary::Div, a, b, p.out);
#endif
  Tensor out(p.out);
  const float *pa = a.value().data(), *pb = b.value().data();
  float* po = out.data();
  run_bcast(p, true, [&](int64_t o, int64_t ia, int64_t ib) { po[o] = pa[ia] / pb[ib]; });
  return make_result(out, "div", {a.node(), b.node()}, [p](Node& self) {
    const float* g = self.grad.data();
    const float* y = self.value.data();
    const float* vb = self.inputs[1]->value.data();
    if (wants(self, 0)) {
      float* ga = self.inputs[0]->grad_buffer().data();
      run_bcast(p, full_size(self, 0), [&](int64_t o, int64_t ia, int64_t ib) { ga[ia] += g[o] / vb[ib]; });
    }
    if (wants(self, 1)) {
      float* gb = self.inputs[1]->grad_buffer().data();
      run_bcast(p, full_size(self, 1), [&](int64_t o, int64_t, int64_t ib) { gb[ib] -= g[o] * y[o] / vb[ib]; });
    }
  });
}

// ----- unary: y = f(x), dx += g * f'(x, y) -----
namespace {
constexpr int64_t kGrain = detail::kElementwiseGrain;

// The kernel a unary op runs on a CUDA tensor: cuda::unary_* with function f (and constant c
// for maximum), or for the scalar ops the affine map y = a x + b (backward dx += a dy).
struct GpuUnary {
  cuda::Unary f = cuda::Unary::Exp;
  float c = 0.0f;
  bool affine = false;
  float a = 1.0f, b = 0.0f;
};
GpuUnary gpu_fn(cuda::Unary f, float c = 0.0f) { return {f, c, false, 1.0f, 0.0f}; }
GpuUnary gpu_affine(float a, float b) { return {cuda::Unary::Exp, 0.0f, true, a, b}; }

#ifdef HAVE_CUDA
Var unary_cuda(const char* op, const Var& x, const GpuUnary& g) {
  const int64_t n = x.value().numel();
  Tensor out(x.shape(), Device::CUDA);
  if (g.affine) {
    cuda::affine_scalar(n, g.a, g.b, x.value().data(), out.data());
    return make_result(out, op, {x.node()}, [a = g.a](Node& self) {
      cuda::axpy(self.value.numel(), a, self.grad.data(), self.inputs[0]->grad_buffer().data());
    });
  }
  cuda::unary_forward(g.f, n, x.value().data(), out.data(), g.c);
  return make_result(out, op, {x.node()}, [g](Node& self) {
    cuda::unary_backward(g.f, self.value.numel(), self.inputs[0]->value.data(), self.value.data(), self.grad.data(),
                         self.inputs[0]->grad_buffer().data(), g.c);
  });
}
#endif

template <class Fwd, class Deriv>
Var unary(const char* op, const Var& x, const GpuUnary& gpu, Fwd f, Deriv df) {
  check_defined(op, x);
#ifdef HAVE_CUDA
  if (detail::on_cuda(x.value())) return unary_cuda(op, x, gpu);
#endif
  Tensor out(x.shape());
  const float* px = x.value().data();
  float* py = out.data();
  parallel_for(out.numel(), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) py[i] = f(px[i]);
  }, kGrain);
  return make_result(out, op, {x.node()}, [df](Node& self) {
    const float* g = self.grad.data();
    const float* y = self.value.data();
    const float* xv = self.inputs[0]->value.data();
    float* gx = self.inputs[0]->grad_buffer().data();
    parallel_for(self.value.numel(), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) gx[i] += g[i] * df(xv[i], y[i]);
    }, kGrain);
  });
}

inline float sigmoid_f(float x) {
  if (x >= 0) return 1.0f / (1.0f + std::exp(-x));
  const float e = std::exp(x);
  return e / (1.0f + e);
}
}  // namespace

Var add_scalar(const Var& a, float s) {
  return unary("add_scalar", a, gpu_affine(1.0f, s), [s](float x) { return x + s; },
               [](float, float) { return 1.0f; });
}
Var mul_scalar(const Var& a, float s) {
  return unary("mul_scalar", a, gpu_affine(s, 0.0f), [s](float x) { return x * s; },
               [s](float, float) { return s; });
}
Var exp(const Var& x) {
  return unary("exp", x, gpu_fn(cuda::Unary::Exp), [](float v) { return std::exp(v); },
               [](float, float y) { return y; });
}
Var log(const Var& x) {
  return unary("log", x, gpu_fn(cuda::Unary::Log), [](float v) { return std::log(v); },
               [](float v, float) { return 1.0f / v; });
}
Var tanh(const Var& x) {
  return unary("tanh", x, gpu_fn(cuda::Unary::Tanh), [](float v) { return std::tanh(v); },
               [](float, float y) { return 1.0f - y * y; });
}
Var sigmoid(const Var& x) {
  return unary("sigmoid", x, gpu_fn(cuda::Unary::Sigmoid), sigmoid_f, [](float, float y) { return y * (1.0f - y); });
}
Var relu(const Var& x) {
  return unary("relu", x, gpu_fn(cuda::Unary::Relu), [](float v) { return v > 0 ? v : 0.0f; },
               [](float v, float) { return v > 0 ? 1.0f : 0.0f; });
}
Var elu(const Var& x) {
  return unary("elu", x, gpu_fn(cuda::Unary::Elu), [](float v) { return v > 0 ? v : std::expm1(v); },
               [](float v, float y) { return v > 0 ? 1.0f : y + 1.0f; });
}
Var softplus(const Var& x) {
  return unary("softplus", x, gpu_fn(cuda::Unary::Softplus),
               [](float v) { return std::max(v, 0.0f) + std::log1p(std::exp(-std::fabs(v))); },
               [](float v, float) { return sigmoid_f(v); });
}
Var sqrt(const Var& x) {
  return unary("sqrt", x, gpu_fn(cuda::Unary::Sqrt), [](float v) { return std::sqrt(v); },
               [](float, float y) { return 0.5f / y; });
}
Var square(const Var& x) {
  return unary("square", x, gpu_fn(cuda::Unary::Square), [](float v) { return v * v; },
               [](float v, float) { return 2.0f * v; });
}
Var abs(const Var& x) {
  return unary("abs", x, gpu_fn(cuda::Unary::Abs), [](float v) { return std::fabs(v); },
               [](float v, float) { return v > 0 ? 1.0f : (v < 0 ? -1.0f : 0.0f); });
}
Var maximum(const Var& x, float c) {
  return unary("maximum", x, gpu_fn(cuda::Unary::Maximum, c), [c](float v) { return v < c ? c : v; },
               [c](float v, float) { return v < c ? 0.0f : 1.0f; });
}

}  // namespace latco::ad
