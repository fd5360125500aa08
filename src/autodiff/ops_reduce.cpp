// Reductions: sum / mean over everything (-> shape {}) or over one axis (with or
// without keeping it as size 1). Sums accumulate in double, in a fixed order.
// Left out: max/min/argmax, products, variance (compose them if needed).
#include "autodiff/ops_util.h"

namespace latco::ad {
using detail::check_defined;
using detail::make_result;

// ----- whole-tensor sum: y = s * sum_i x_i;  dx_i += s g -----
static Var sum_all(const char* op, const Var& x, float s) {
  check_defined(op, x);
  const float* px = x.value().data();
  double acc = 0;
  for (int64_t i = 0; i < x.value().numel(); ++i) acc += px[i];
  return make_result(Tensor::scalar(static_cast<float>(s * acc)), op, {x.node()}, [s](Node& self) {
    const float g = s * self.grad.data()[0];
    Tensor& gx = self.inputs[0]->grad_buffer();
    float* p = gx.data();
    for (int64_t i = 0; i < gx.numel(); ++i) p[i] += g;
  });
}
Var sum(const Var& x) { return sum_all("sum", x, 1.0f); }
Var mean(const Var& x) {
  const int64_t n = x.defined() ? x.value().numel() : 0;
  LATCO_CHECK(n > 0) << "mean: empty tensor";
  return sum_all("mean", x, 1.0f / static_cast<float>(n));
}

// ----- sum over one axis: x viewed as (outer, n, inner) -> (outer, inner) -----
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
  Tensor y(ys);
  const float* px = x.value().data();
  float* py = y.data();
  std::vector<double> acc(inner);
  for (int64_t o = 0; o < outer; ++o) {
    std::fill(acc.begin(), acc.end(), 0.0);
    for (int64_t j = 0; j < n; ++j) {
      const float* row = px + (o * n + j) * inner;
      for (int64_t i = 0; i < inner; ++i) acc[i] += row[i];
    }
    for (int64_t i = 0; i < inner; ++i) py[o * inner + i] = static_cast<float>(s * acc[i]);
  }
  return make_result(y, op, {x.node()}, [outer, n, inner, s](Node& self) {
    const float* g = self.grad.data();
    float* gx = self.inputs[0]->grad_buffer().data();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < n; ++j) {
        float* row = gx + (o * n + j) * inner;
        for (int64_t i = 0; i < inner; ++i) row[i] += s * g[o * inner + i];
      }
  });
}
Var sum(const Var& x, int axis, bool keepdim) { return sum_axis("sum", x, axis, keepdim, false); }
Var mean(const Var& x, int axis, bool keepdim) { return sum_axis("mean", x, axis, keepdim, true); }

}  // namespace latco::ad
