// Reductions: sum / mean over everything (-> shape {}) or over one axis (with or
// without keeping it as size 1). Sums accumulate in double in an order fixed by
// the shape alone, so results do not depend on the thread count. On CUDA tensors the
// sums are cuda::sum_all / sum_axis (also in a fixed order).
// Left out: max/min/argmax, products, variance (compose them if needed).
#include <algorithm>

#include "autodiff/ops_util.h"
#include "core/thread_pool.h"
#include "cuda/cuda_api.h"

namespace latco::ad {
using detail::check_defined;
using detail::kElementwiseGrain;
using detail::make_result;

namespace {
// Adds s * g into every element of x's gradient (the backward of a full sum).
void add_constant(float* gx, int64_t n, float v) {
  parallel_for(n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) gx[i] += v;
  }, kElementwiseGrain);
}
}  // namespace

// ----- whole-tensor sum: y = s * sum_i x_i;  dx_i += s g -----
// Partial sums over fixed blocks of kElementwiseGrain elements, added in block order.
static Var sum_all(const char* op, const Var& x, float s) {
  check_defined(op, x);
#ifdef HAVE_CUDA
  if (detail::on_cuda(x.value())) {
    Tensor y({}, Device::CUDA);
    cuda::sum_all(x.value().numel(), x.value().data(), y.data(), s);
    return make_result(y, op, {x.node()}, [s](Node& self) {
      Tensor& gx = self.inputs[0]->grad_buffer();
      cuda::sum_all_backward(gx.numel(), self.grad.data(), gx.data(), s);
    });
  }
#endif
  const float* px = x.value().data();
  const int64_t n = x.value().numel(), nb = (n + kElementwiseGrain - 1) / kElementwiseGrain;
  std::vector<double> part(nb, 0.0);
  parallel_for(nb, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      double acc = 0;
      const int64_t e = std::min(n, (b + 1) * kElementwiseGrain);
      for (int64_t i = b * kElementwiseGrain; i < e; ++i) acc += px[i];
      part[b] = acc;
    }
  });
  double acc = 0;
  for (double v : part) acc += v;
  return make_result(Tensor::scalar(static_cast<float>(s * acc)), op, {x.node()}, [s](Node& self) {
    Tensor& gx = self.inputs[0]->grad_buffer();
    add_constant(gx.data(), gx.numel(), s * self.grad.data()[0]);
  });
}
Var sum(const Var& x) { return sum_all("sum", x, 1.0f); }
Var mean(const Var& x) {
  const int64_t n = x.defined() ? x.value().numel() : 0;
  LATCO_CHECK(n > 0) << "mean: empty tensor";
  return sum_all("mean", x, 1.0f / static_cast<float>(n));
}

// ----- sum over one axis: x viewed as (outer, n, inner) -> y (outer, inner) -----
//   y[o, i] = s * sum_j x[o, j, i];   dx[o, j, i] += s * g[o, i]
// Work is split over outer rows, or over inner columns when there are few rows.
static Var sum_axis(const char* op, const Var& x, int axis, bool keepdim, bool average) {
  check_defined(op, x);
  const Shape& xs = x.shape();
  const int nd = x.dim();
  const int ax = axis < 0 ? axis + nd : axis;
  if (ax < 0 || ax >= nd) LATCO_FAIL(op << ": axis " << axis << " out of range for shape " << shape_str(xs));
  int64_t outer = 1, inner = 1;
  for (int k = 0; k < ax; ++k) outer *= xs[k];
  for (int k = ax + 1; k < nd; ++k) inner *= xs[k];
  const int64_t n = xs[ax];
  if (average) LATCO_CHECK(n > 0) << op << ": axis " << axis << " of shape " << shape_str(xs) << " is empty";
  const float s = average ? 1.0f / static_cast<float>(n) : 1.0f;
  Shape ys = xs;
  if (keepdim) ys[ax] = 1;
  else ys.erase(ys.begin() + ax);
#ifdef HAVE_CUDA
  if (detail::on_cuda(x.value())) {
    Tensor y(ys, Device::CUDA);
    cuda::sum_axis(outer, n, inner, x.value().data(), y.data(), s);
    return make_result(y, op, {x.node()}, [outer, n, inner, s](Node& self) {
      cuda::sum_axis_backward(outer, n, inner, self.grad.data(), self.inputs[0]->grad_buffer().data(), s);
    });
  }
#endif
  Tensor y(ys);
  const float* px = x.value().data();
  float* py = y.data();
  // rows [o0, o1) x columns [i0, i1)
  auto block = [&](int64_t o0, int64_t o1, int64_t i0, int64_t i1) {
    std::vector<double> acc(i1 - i0);
    for (int64_t o = o0; o < o1; ++o) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t j = 0; j < n; ++j) {
        const float* row = px + (o * n + j) * inner;
        for (int64_t i = i0; i < i1; ++i) acc[i - i0] += row[i];
      }
      for (int64_t i = i0; i < i1; ++i) py[o * inner + i] = static_cast<float>(s * acc[i - i0]);
    }
  };
  const int64_t per_row = std::max<int64_t>(1, n * inner), grain = std::max<int64_t>(1, kElementwiseGrain / per_row);
  if (outer >= 2 * num_threads())
    parallel_for(outer, [&](int64_t b, int64_t e) { block(b, e, 0, inner); }, grain);
  else
    for (int64_t o = 0; o < outer; ++o)
      parallel_for(inner, [&](int64_t b, int64_t e) { block(o, o + 1, b, e); },
                   std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, n)));
  return make_result(y, op, {x.node()}, [outer, n, inner, s](Node& self) {
    const float* g = self.grad.data();
    float* gx = self.inputs[0]->grad_buffer().data();
    parallel_for(outer * n, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {  // r = o * n + j
        float* row = gx + r * inner;
        const float* gr = g + (r / n) * inner;
        for (int64_t i = 0; i < inner; ++i) row[i] += s * gr[i];
      }
    }, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, inner)));
  });
}
Var sum(const Var& x, int axis, bool keepdim) { return sum_axis("sum", x, axis, keepdim, false); }
Var mean(const Var& x, int axis, bool keepdim) { return sum_axis("mean", x, axis, keepdim, true); }

}  // namespace latco::ad
