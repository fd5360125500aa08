// Finite-difference checks for tests: autodiff gradients of a scalar function of
// Vars against central differences, and any Jacobian against a numerical one.
// Error per element: |analytic - numeric| / (atol + rtol * max(|analytic|, |numeric|)); pass if <= 1.
// Header-only, no GoogleTest dependency: check `.ok` and print `.report`.
#pragma once
#include <cmath>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "autodiff/var.h"
#include "core/rng.h"
#include "core/tensor.h"

namespace latco::test {

struct GradCheckOptions {
  double eps = 1e-3;   // central-difference step (in the input's units)
  double rtol = 1e-2;  // relative tolerance
  double atol = 1e-3;  // absolute floor
  std::vector<bool> check;  // which inputs to differentiate (default: all)
};

struct GradCheckResult {
  bool ok = true;
  double worst = 0;        // worst normalised error (<= 1 passes)
  int worst_input = -1;
  int64_t worst_index = -1;
  double worst_analytic = 0, worst_numeric = 0;
  std::string report;      // one line naming the worst element
};

// Compares two flat arrays; `what` prefixes the report.
inline GradCheckResult compare_arrays(const std::vector<double>& analytic, const std::vector<double>& numeric,
                                      double rtol, double atol, const std::string& what, int input = 0,
                                      GradCheckResult r = {}) {
  for (size_t i = 0; i < analytic.size(); ++i) {
    const double a = analytic[i], n = numeric[i];
    double err = std::fabs(a - n) / (atol + rtol * std::fmax(std::fabs(a), std::fabs(n)));
    if (!std::isfinite(a) || !std::isfinite(n)) err = INFINITY;
    if (err > r.worst || r.worst_index < 0) {
      r.worst = err;
      r.worst_input = input;
      r.worst_index = static_cast<int64_t>(i);
      r.worst_analytic = a;
      r.worst_numeric = n;
    }
  }
  r.ok = r.worst <= 1.0;
  std::ostringstream os;
  os << what << ": worst element input " << r.worst_input << " [" << r.worst_index << "]: analytic "
     << r.worst_analytic << " vs numeric " << r.worst_numeric << " (normalised error " << r.worst << ")";
  r.report = os.str();
  return r;
}

// f maps leaves (one per input, requires_grad) to a scalar Var.
inline GradCheckResult gradcheck(const std::function<ad::Var(const std::vector<ad::Var>&)>& f,
                                 const std::vector<Tensor>& inputs, const GradCheckOptions& opt = {},
                                 const std::string& what = "gradcheck") {
  std::vector<Tensor> xs;
  for (const Tensor& t : inputs) xs.push_back(t.clone());
  auto want = [&](size_t i) { return opt.check.empty() || opt.check[i]; };

  // ----- analytic -----
  std::vector<ad::Var> leaves;
  for (size_t i = 0; i < xs.size(); ++i) leaves.push_back(ad::leaf(xs[i], want(i)));
  ad::Var y = f(leaves);
  ad::backward(y);
  GradCheckResult r;
  r.worst_index = -1;
  for (size_t i = 0; i < xs.size(); ++i) {
    if (!want(i)) continue;
    std::vector<double> an(xs[i].numel(), 0.0), nu(xs[i].numel(), 0.0);
    if (leaves[i].has_grad())
      for (int64_t k = 0; k < xs[i].numel(); ++k) an[k] = leaves[i].grad()[k];
    // ----- numeric: central differences, divided by the step actually taken in float -----
    for (int64_t k = 0; k < xs[i].numel(); ++k) {
      const float x0 = xs[i][k];
      const float xp = static_cast<float>(x0 + opt.eps), xm = static_cast<float>(x0 - opt.eps);
      double fp, fm;
      {
        ad::NoGradGuard ng;
        xs[i][k] = xp;
        std::vector<ad::Var> c;
        for (const Tensor& t : xs) c.push_back(ad::constant(t));
        fp = f(c).item();
        xs[i][k] = xm;
        c.clear();
        for (const Tensor& t : xs) c.push_back(ad::constant(t));
        fm = f(c).item();
      }
      xs[i][k] = x0;
      nu[k] = (fp - fm) / (static_cast<double>(xp) - static_cast<double>(xm));
    }
    GradCheckResult ri = compare_arrays(an, nu, opt.rtol, opt.atol, what, static_cast<int>(i));
    if (r.worst_index < 0 || ri.worst > r.worst) r = ri;
  }
  if (r.worst_index < 0) { r.ok = true; r.report = what + ": nothing to check"; }
  return r;
}

// Like gradcheck, for existing leaves (e.g. a Module's parameters) that f() uses:
// their values are perturbed in place and restored.
inline GradCheckResult gradcheck_vars(const std::function<ad::Var()>& f, std::vector<ad::Var> vars,
                                      const GradCheckOptions& opt = {}, const std::string& what = "gradcheck") {
  ad::zero_grad(vars);
  ad::backward(f());
  GradCheckResult r;
  r.worst_index = -1;
  for (size_t i = 0; i < vars.size(); ++i) {
    Tensor& x = vars[i].mutable_value();
    std::vector<double> an(x.numel(), 0.0), nu(x.numel(), 0.0);
    if (vars[i].has_grad())
      for (int64_t k = 0; k < x.numel(); ++k) an[k] = vars[i].grad()[k];
    for (int64_t k = 0; k < x.numel(); ++k) {
      const float x0 = x[k];
      const float xp = static_cast<float>(x0 + opt.eps), xm = static_cast<float>(x0 - opt.eps);
      ad::NoGradGuard ng;
      x[k] = xp;
      const double fp = f().item();
      x[k] = xm;
      const double fm = f().item();
      x[k] = x0;
      nu[k] = (fp - fm) / (static_cast<double>(xp) - static_cast<double>(xm));
    }
    GradCheckResult ri = compare_arrays(an, nu, opt.rtol, opt.atol, what, static_cast<int>(i));
    if (r.worst_index < 0 || ri.worst > r.worst) r = ri;
  }
  if (r.worst_index < 0) { r.ok = true; r.report = what + ": nothing to check"; }
  return r;
}

// Numerical Jacobian of g: R^n -> R^m at x by central differences in double:
// returns (m, n) row-major.
inline std::vector<double> fd_jacobian(const std::function<Tensor(const Tensor&)>& g, const Tensor& x,
                                       double eps = 1e-3) {
  Tensor xc = x.clone();
  const int64_t n = xc.numel();
  std::vector<double> J;
  int64_t m = -1;
  for (int64_t k = 0; k < n; ++k) {
    const float x0 = xc[k];
    const float xp = static_cast<float>(x0 + eps), xm = static_cast<float>(x0 - eps);
    xc[k] = xp;
    Tensor yp = g(xc).clone();
    xc[k] = xm;
    Tensor ym = g(xc).clone();
    xc[k] = x0;
    if (m < 0) { m = yp.numel(); J.assign(m * n, 0.0); }
    for (int64_t i = 0; i < m; ++i)
      J[i * n + k] = (double(yp[i]) - double(ym[i])) / (double(xp) - double(xm));
  }
  return J;
}

// Checks an analytic (m, n) Jacobian against fd_jacobian of g at x.
inline GradCheckResult jacobian_check(const std::function<Tensor(const Tensor&)>& g, const Tensor& x,
                                      const Tensor& analytic, double eps = 1e-3, double rtol = 1e-2,
                                      double atol = 1e-3, const std::string& what = "jacobian") {
  std::vector<double> num = fd_jacobian(g, x, eps);
  std::vector<double> an(analytic.numel());
  for (int64_t i = 0; i < analytic.numel(); ++i) an[i] = analytic[i];
  if (an.size() != num.size()) {
    GradCheckResult r;
    r.ok = false;
    r.report = what + ": analytic Jacobian has " + std::to_string(an.size()) + " entries, numeric " +
               std::to_string(num.size());
    return r;
  }
  return compare_arrays(an, num, rtol, atol, what);
}

// A tensor of uniform values in [lo, hi) from a seeded stream.
inline Tensor random_tensor(const Shape& s, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  Tensor t(s);
  Rng rng(seed);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = rng.uniform(lo, hi);
  return t;
}

// sum(y * R) for a fixed random R: a scalar whose gradient seeds every output element differently.
inline ad::Var weighted_sum(const ad::Var& y, uint64_t seed = 12345) {
  return ad::sum(ad::mul(y, ad::constant(random_tensor(y.shape(), seed, -1.0f, 1.0f))));
}

}  // namespace latco::test
