// Helpers shared by the ops_*.cpp files (not part of the autodiff API): building
// a result node, device checks and dispatch, and numpy-style broadcasting plans.
// Left out: anything a caller of var.h needs.
#pragma once
#include <algorithm>
#include <memory>
#include <vector>

#include "autodiff/var.h"
#include "core/error.h"

namespace latco::ad::detail {

// A node holding `value`. If grad is enabled and some input requires grad, the
// node records `inputs` and `bw` (which reads self.grad and accumulates into the
// inputs' grads); otherwise it is a constant and `bw` is dropped.
Var make_result(Tensor value, const char* op, std::vector<std::shared_ptr<Node>> inputs,
                std::function<void(Node&)> bw);

// True when input i of a node under backward wants a gradient.
inline bool wants(const Node& self, size_t i) { return self.inputs[i]->requires_grad; }

// For code paths that have no CUDA branch: a CUDA tensor gets a clear error.
inline void check_cpu(const char* op, const Tensor& t) {
  if (t.device() != Device::CPU)
    LATCO_FAIL(op << ": no CUDA kernel for this op; got a " << device_name(t.device()) << " tensor of shape "
                  << shape_str(t.shape()) << " (move it to the CPU first)");
}
// Every op has a CUDA branch in CUDA builds; without CUDA no tensor can live on the GPU.
inline void check_defined(const char* op, const Var& v) {
  if (!v.defined()) LATCO_FAIL(op << ": undefined Var as input");
#ifndef HAVE_CUDA
  check_cpu(op, v.value());
#endif
}

// Device dispatch: an op runs its CUDA branch (under #ifdef HAVE_CUDA, calling cuda/cuda_api.h)
// when its inputs live on the GPU; the output and every gradient stay on that device.
inline bool on_cuda(const Tensor& t) { return t.device() == Device::CUDA; }

// The one device all of an op's (defined) inputs live on. There are no implicit copies:
// inputs on different devices throw "add: inputs on different devices: input 0 is a cpu tensor (2,3),
// input 1 a cuda tensor (3)".
inline Device common_device(const char* op, const std::vector<Var>& xs) {
  int first = -1;
  for (size_t i = 0; i < xs.size(); ++i) {
    if (!xs[i].defined()) continue;
    if (first < 0) { first = static_cast<int>(i); continue; }
    const Tensor &a = xs[first].value(), &b = xs[i].value();
    if (a.device() != b.device())
      LATCO_FAIL(op << ": inputs on different devices: input " << first << " is a " << device_name(a.device())
                    << " tensor " << shape_str(a.shape()) << ", input " << i << " a " << device_name(b.device())
                    << " tensor " << shape_str(b.shape())
                    << " (no implicit copies: move tensors with Tensor::to, modules with nn::Module::to)");
  }
  return first < 0 ? Device::CPU : xs[first].value().device();
}

// Broadcast of two shapes, collapsed to at most a few dims for fast iteration.
// For output index o = (i_0, ..., i_{n-1}) in row-major order over `dims`,
// the input offsets are sum_k i_k * sa[k] (and sb[k]); stride 0 where broadcast.
struct Bcast {
  Shape out;                     // full output shape
  std::vector<int64_t> dims;     // collapsed dims (row-major)
  std::vector<int64_t> sa, sb;   // collapsed strides of a and b (0 = broadcast)
  int64_t numel = 0;
};
// Throws "<op>: cannot broadcast (2,3) with (4,3)".
Bcast make_bcast(const char* op, const Shape& a, const Shape& b);

// Calls f(o, ia, ib) for the output elements o in [begin, end), in row-major order.
// Disjoint ranges may run on different threads when f writes only to index o.
template <class F>
inline void for_each_bcast_range(const Bcast& p, int64_t begin, int64_t end, F f) {
  const int nd = static_cast<int>(p.dims.size());
  if (begin >= end) return;
  if (nd == 0) { f(0, 0, 0); return; }
  std::vector<int64_t> idx(nd, 0);
  int64_t ia = 0, ib = 0, rem = begin;
  for (int k = nd - 1; k >= 0; --k) {  // the multi-index of `begin`
    idx[k] = rem % p.dims[k];
    rem /= p.dims[k];
    ia += idx[k] * p.sa[k];
    ib += idx[k] * p.sb[k];
  }
  const int64_t inner = p.dims[nd - 1], ia_s = p.sa[nd - 1], ib_s = p.sb[nd - 1];
  int64_t o = begin;
  while (o < end) {
    const int64_t j0 = idx[nd - 1], n = std::min(inner - j0, end - o);
    for (int64_t j = 0; j < n; ++j) f(o + j, ia + j * ia_s, ib + j * ib_s);
    o += n;
    ia -= j0 * ia_s;  // back to the start of this row, then odometer over the outer dims
    ib -= j0 * ib_s;
    idx[nd - 1] = 0;
    int k = nd - 2;
    for (; k >= 0; --k) {
      ++idx[k];
      ia += p.sa[k];
      ib += p.sb[k];
      if (idx[k] < p.dims[k]) break;
      ia -= p.sa[k] * p.dims[k];
      ib -= p.sb[k] * p.dims[k];
      idx[k] = 0;
    }
    if (k < 0) return;
  }
}

template <class F>
inline void for_each_bcast(const Bcast& p, F f) {
  for_each_bcast_range(p, 0, p.numel, f);
}

// Elementwise loops split over threads in chunks of at least this many elements.
constexpr int64_t kElementwiseGrain = 1 << 15;

}  // namespace latco::ad::detail
