// Shape ops: concat, slice, reshape (a view: shares storage), transpose of two
// dims (a copy), stack along a new leading dim. Backward rules scatter the
// gradient back into the source layout. On the GPU concat and slice are window copies
// (cuda::copy_window) and transpose is cuda::swap_dims, forward and backward alike.
// Left out: general permutes, gathers, padding.
#include <algorithm>
#include <cstring>

#include "autodiff/ops_util.h"
#include "cuda/cuda_api.h"

namespace latco::ad {
using detail::check_defined;
using detail::make_result;
using detail::wants;

static int norm_axis(const char* op, int axis, int nd, const Shape& s) {
  const int ax = axis < 0 ? axis + nd : axis;
  if (ax < 0 || ax >= nd) LATCO_FAIL(op << ": axis " << axis << " out of range for shape " << shape_str(s));
  return ax;
}

// ----- concat: inputs viewed as (outer, n_i * inner), pieces laid side by side -----
Var concat(const std::vector<Var>& xs, int axis) {
  LATCO_CHECK(!xs.empty()) << "concat: no inputs";
  for (const Var& x : xs) check_defined("concat", x);
  [[maybe_unused]] const Device dev = detail::common_device("concat", xs);
  const Shape& s0 = xs[0].shape();
  const int nd = xs[0].dim();
  const int ax = norm_axis("concat", axis, nd, s0);
  Shape ys = s0;
  ys[ax] = 0;
  for (const Var& x : xs) {
    bool ok = x.dim() == nd;
    for (int k = 0; k < nd && ok; ++k) ok = (k == ax) || x.shape()[k] == s0[k];
    if (!ok)
      LATCO_FAIL("concat: shape mismatch along axis " << axis << ": " << shape_str(s0) << " vs "
                                                      << shape_str(x.shape()));
    ys[ax] += x.shape()[ax];
  }
  int64_t outer = 1, inner = 1;
  for (int k = 0; k < ax; ++k) outer *= s0[k];
  for (int k = ax + 1; k < nd; ++k) inner *= s0[k];
  const int64_t row = ys[ax] * inner;  // output row length
  std::vector<int64_t> width, offset;  // per input, in floats within a row
  int64_t off = 0;
  for (const Var& x : xs) {
    width.push_back(x.shape()[ax] * inner);
    offset.push_back(off);
    off += width.back();
  }
  std::vector<std::shared_ptr<Node>> ins;
  for (const Var& x : xs) ins.push_back(x.node());
#ifdef HAVE_CUDA
  // input i is the window [offset_i, offset_i + width_i) of each output row (outer, row)
  if (dev == Device::CUDA) {
    Tensor y(ys, dev);
    for (size_t i = 0; i < xs.size(); ++i)
      cuda::copy_window(outer, width[i], 1, xs[i].value().data(), width[i], 0, y.data(), row, offset[i]);
    return make_result(y, "concat", ins, [outer, row, width, offset](Node& self) {
      for (size_t i = 0; i < self.inputs.size(); ++i)
        if (wants(self, i))
          cuda::copy_window(outer, width[i], 1, self.grad.data(), row, offset[i],
                            self.inputs[i]->grad_buffer().data(), width[i], 0, /*accumulate=*/true);
    });
  }
#endif
  Tensor y(ys);
  for (size_t i = 0; i < xs.size(); ++i) {
    const float* px = xs[i].value().data();
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(y.data() + o * row + offset[i], px + o * width[i], width[i] * sizeof(float));
  }
  return make_result(y, "concat", ins, [outer, row, width, offset](Node& self) {
    const float* g = self.grad.data();
    for (size_t i = 0; i < self.inputs.size(); ++i) {
      if (!wants(self, i)) continue;
      float* gx = self.inputs[i]->grad_buffer().data();
      for (int64_t o = 0; o < outer; ++o) {
        const float* src = g + o * row + offset[i];
        float* dst = gx + o * width[i];
        for (int64_t j = 0; j < width[i]; ++j) dst[j] += src[j];
      }
    }
  });
}

Var stack0(const std::vector<Var>& xs) {
  LATCO_CHECK(!xs.empty()) << "stack0: no inputs";
  std::vector<Var> rs;
  for (const Var& x : xs) {
    check_defined("stack0", x);
    if (x.shape() != xs[0].shape())
      LATCO_FAIL("stack0: shape mismatch " << shape_str(xs[0].shape()) << " vs " << shape_str(x.shape()));
    Shape s = x.shape();
    s.insert(s.begin(), 1);
    rs.push_back(reshape(x, s));
  }
  return concat(rs, 0);
}

// ----- slice [begin, end) along one axis -----
Var slice(const Var& x, int axis, int64_t begin, int64_t end) {
  check_defined("slice", x);
  const Shape& xs = x.shape();
  const int nd = x.dim();
  const int ax = norm_axis("slice", axis, nd, xs);
  if (begin < 0 || begin > end || end > xs[ax])
    LATCO_FAIL("slice: range [" << begin << "," << end << ") out of bounds for axis " << axis << " of shape "
                                << shape_str(xs));
  int64_t outer = 1, inner = 1;
  for (int k = 0; k < ax; ++k) outer *= xs[k];
  for (int k = ax + 1; k < nd; ++k) inner *= xs[k];
  const int64_t in_row = xs[ax] * inner, w = (end - begin) * inner, off = begin * inner;
  Shape ys = xs;
  ys[ax] = end - begin;
#ifdef HAVE_CUDA
  // y (outer, w) is the window [off, off + w) of each row of x (outer, in_row)
  if (detail::on_cuda(x.value())) {
    Tensor y(ys, Device::CUDA);
    cuda::copy_window(outer, w, 1, x.value().data(), in_row, off, y.data(), w, 0);
    return make_result(y, "slice", {x.node()}, [outer, in_row, w, off](Node& self) {
      cuda::copy_window(outer, w, 1, self.grad.data(), w, 0, self.inputs[0]->grad_buffer().data(), in_row, off,
                        /*accumulate=*/true);
    });
  }
#endif
  Tensor y(ys);
  const float* px = x.value().data();
  for (int64_t o = 0; o < outer; ++o) std::memcpy(y.data() + o * w, px + o * in_row + off, w * sizeof(float));
  return make_result(y, "slice", {x.node()}, [outer, in_row, w, off](Node& self) {
    const float* g = self.grad.data();
    float* gx = self.inputs[0]->grad_buffer().data();
    for (int64_t o = 0; o < outer; ++o) {
      float* dst = gx + o * in_row + off;
      const float* src = g + o * w;
      for (int64_t j = 0; j < w; ++j) dst[j] += src[j];
    }
  });
}

// ----- reshape: a view of the same storage; the gradient is reshaped back -----
Var reshape(const Var& x, const Shape& shape) {
  check_defined("reshape", x);
  Tensor y = x.value().reshape(shape);
#ifdef HAVE_CUDA
  if (detail::on_cuda(x.value()))
    return make_result(y, "reshape", {x.node()}, [](Node& self) {
      Tensor& gx = self.inputs[0]->grad_buffer();
      cuda::axpy(gx.numel(), 1.0f, self.grad.data(), gx.data());
    });
#endif
  return make_result(y, "reshape", {x.node()}, [](Node& self) {
    Tensor& gx = self.inputs[0]->grad_buffer();
    const float* g = self.grad.data();
    float* p = gx.data();
    for (int64_t i = 0; i < gx.numel(); ++i) p[i] += g[i];
  });
}

// ----- transpose two dims: x viewed as (A, d0, B, d1, C) -> (A, d1, B, d0, C) -----
namespace {
struct Swap {
  int64_t A, n0, B, n1, C;
};
// dst[a, j, b, i, c] (+)= src[a, i, b, j, c]; the same map is its own adjoint's transpose.
void swap_copy(const Swap& s, const float* src, float* dst, bool accumulate) {
  for (int64_t a = 0; a < s.A; ++a)
    for (int64_t i = 0; i < s.n0; ++i)
      for (int64_t b = 0; b < s.B; ++b)
        for (int64_t j = 0; j < s.n1; ++j) {
          const float* p = src + (((a * s.n0 + i) * s.B + b) * s.n1 + j) * s.C;
          float* q = dst + (((a * s.n1 + j) * s.B + b) * s.n0 + i) * s.C;
          if (accumulate) for (int64_t c = 0; c < s.C; ++c) q[c] += p[c];
          else std::memcpy(q, p, s.C * sizeof(float));
        }
}
}  // namespace

Var transpose(const Var& x, int d0, int d1) {
  check_defined("transpose", x);
  const Shape& xs = x.shape();
  const int nd = x.dim();
  int a0 = norm_axis("transpose", d0, nd, xs), a1 = norm_axis("transpose", d1, nd, xs);
  if (a0 == a1) return reshape(x, xs);  // nothing to swap: an identity view
  if (a0 > a1) std::swap(a0, a1);
  Swap s{1, xs[a0], 1, xs[a1], 1};
  for (int k = 0; k < a0; ++k) s.A *= xs[k];
  for (int k = a0 + 1; k < a1; ++k) s.B *= xs[k];
  for (int k = a1 + 1; k < nd; ++k) s.C *= xs[k];
  Shape ys = xs;
  std::swap(ys[a0], ys[a1]);
  Swap back{s.A, s.n1, s.B, s.n0, s.C};
#ifdef HAVE_CUDA
  if (detail::on_cuda(x.value())) {
    Tensor y(ys, Device::CUDA);
    cuda::swap_dims(s.A, s.n0, s.B, s.n1, s.C, x.value().data(), y.data());
    return make_result(y, "transpose", {x.node()}, [back](Node& self) {
      cuda::swap_dims(back.A, back.n0, back.B, back.n1, back.C, self.grad.data(), self.inputs[0]->grad_buffer().data(),
                      /*accumulate=*/true);
    });
  }
#endif
  Tensor y(ys);
  swap_copy(s, x.value().data(), y.data(), false);
  return make_result(y, "transpose", {x.node()}, [back](Node& self) {
    swap_copy(back, self.grad.data(), self.inputs[0]->grad_buffer().data(), true);
  });
}

}  // namespace latco::ad
