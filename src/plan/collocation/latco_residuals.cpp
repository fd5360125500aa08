// Residuals, dense Jacobian (reference) and block assembly of the normal
// equations for the LatCo least-squares problem; see latco_residuals.h for the
// layout. The expensive products (Fy^T Fy per step) run on the double kernels.
#include "plan/collocation/latco_residuals.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/flops.h"
#include "linalg/dense.h"

namespace latco {

DualRule parse_dual_rule(const std::string& s, const std::string& where) {
  if (s == "paper") return DualRule::Paper;
  if (s == "released") return DualRule::Released;
  LATCO_FAIL(where << ": expected 'paper' or 'released', got '" << s << "'");
}

// Eq. (10): multiplicative, log-scaled dual step.
double dual_update(double lambda, double v, double eps, double alpha, double eta, DualRule rule) {
  const double step = rule == DualRule::Paper ? std::log(v / eps + eta) : std::log10(v / eps + 0.1);
  return lambda + alpha * step * lambda;
}

double plan_cost(const PlanView& v, double* dyn, double* act) {
  const int H = v.H, Y = v.Y, A = v.A, C = v.C;
  double total = 0;
  for (int t = 0; t < H; ++t) {
    const float* yn = v.y + size_t(t + 1) * Y;
    const float* ft = v.f + size_t(t) * Y;
    double d = 0;
    for (int i = 0; i < Y; ++i) {
      const double e = double(yn[i]) - ft[i];
      d += e * e;
    }
    double b = 0, q = 0;
    for (int i = 0; i < A; ++i) {
      const float ai = v.a[size_t(t) * A + i];
      const double viol = bound_violation(ai, v.amax);
      b += viol * viol;
      q += double(ai) * ai;
    }
    double cc = 0;
    for (int i = 0; i < C; ++i) cc += double(v.c[size_t(t) * C + i]) * v.c[size_t(t) * C + i];
    if (dyn) dyn[t] = d;
    if (act) act[t] = b;
    total += v.lambda[t] * d + v.nu[t] * b + double(v.w) * q + cc;
  }
  return total;
}

void plan_residuals(const PlanView& v, double* rho) {
  const int H = v.H, Y = v.Y, A = v.A, C = v.C, R = v.rows_per_step();
  for (int t = 0; t < H; ++t) {
    double* r = rho + size_t(t) * R;
    const double sl = std::sqrt(v.lambda[t]), sn = std::sqrt(v.nu[t]), sw = std::sqrt(double(v.w));
    for (int i = 0; i < Y; ++i) r[i] = sl * (double(v.y[size_t(t + 1) * Y + i]) - v.f[size_t(t) * Y + i]);
    for (int i = 0; i < A; ++i) {
      const float ai = v.a[size_t(t) * A + i];
      r[Y + i] = sn * bound_violation(ai, v.amax);
      r[Y + A + i] = sw * ai;
    }
    for (int i = 0; i < C; ++i) r[Y + 2 * A + i] = v.c[size_t(t) * C + i];
  }
}

void plan_jacobian_dense(const PlanView& v, double* J) {
  const int H = v.H, Y = v.Y, A = v.A, C = v.C, R = v.rows_per_step(), n = v.n();
  const long cols = long(H) * n;
  std::fill(J, J + size_t(H) * R * cols, 0.0);
  for (int t = 0; t < H; ++t) {
    const double sl = std::sqrt(v.lambda[t]), sn = std::sqrt(v.nu[t]), sw = std::sqrt(double(v.w));
    const float* Fy = v.Fy + size_t(t) * Y * Y;
    const float* Fa = v.Fa + size_t(t) * Y * A;
    for (int i = 0; i < Y; ++i) {
      double* row = J + (size_t(t) * R + i) * cols;
      for (int j = 0; j < A; ++j) row[t * n + j] = -sl * Fa[i * A + j];  // d/da_t
      row[t * n + A + i] = sl;                                          // d/dy_{t+1}
      if (t > 0)
        for (int j = 0; j < Y; ++j) row[(t - 1) * n + A + j] = -sl * Fy[i * Y + j];  // d/dy_t
    }
    for (int i = 0; i < A; ++i) {
      const float ai = v.a[size_t(t) * A + i];
      double* rb = J + (size_t(t) * R + Y + i) * cols;
      if (std::fabs(ai) > v.amax) rb[t * n + i] = sn * (ai > 0 ? 1.0 : -1.0);
      J[(size_t(t) * R + Y + A + i) * cols + t * n + i] = sw;
    }
    for (int i = 0; i < C; ++i) {
      double* row = J + (size_t(t) * R + Y + 2 * A + i) * cols;
      for (int j = 0; j < Y; ++j) row[t * n + A + j] = v.Jc[(size_t(t) * C + i) * Y + j];
    }
  }
}

// Rows [r0, r1) of block row t of the normal equations: D_t's lower triangle and B_t, from step t's
// residual rows (dynamics, action, cost) and step t+1's dynamics rows (which involve y_{t+1}).
// Row ranges are independent (the block's fill takes them all; dsyrk_lower_tf's row ranges below).
static void assemble_rows(const PlanView& v, int t, int r0, int r1, double* Dt, double* Bt) {
  const int H = v.H, Y = v.Y, A = v.A, C = v.C, n = v.n();
  for (int i = r0; i < r1; ++i) std::memset(Dt + size_t(i) * n, 0, sizeof(double) * (i + 1));  // lower triangle only
  const double lam = v.lambda[t], nu = v.nu[t], w = v.w;
  const float* Fa = v.Fa + size_t(t) * Y * A;  // (Y, A)
  const float* Fy = v.Fy + size_t(t) * Y * Y;  // (Y, Y)
  const float* at = v.a + size_t(t) * A;
  const int a1 = std::min(r1, A);                        // action rows r0 .. a1
  const int y0 = std::max(r0, A) - A, y1 = r1 - A;       // state rows A+y0 .. A+y1
  // FLOPs of the products below done here (the Gram matrices count in dsyrk_lower_tf): Fa^T Fa's
  // rows i (i+1 entries of Y multiply-adds), and for t >= 1 Fa^T Fy's rows (Y x Y each).
  if (r0 < a1)
    count_flops(double(Y) * (double(a1) * (a1 + 1) - double(r0) * (r0 + 1)) + (t > 0 ? 2.0 * (a1 - r0) * Y * Y : 0.0),
                true);

  // ----- step t's dynamics rows: J = sqrt(lam) [.. -Fy | -Fa  I ..] -----
  // aa: lam Fa^T Fa; ya: -lam Fa; yy: lam I
  for (int i = r0; i < a1; ++i)
    for (int j = 0; j <= i; ++j) {
      double acc = 0;
      for (int k = 0; k < Y; ++k) acc += double(Fa[k * A + i]) * Fa[k * A + j];
      Dt[i * n + j] += lam * acc;
    }
  for (int i = y0; i < y1; ++i) {
    for (int j = 0; j < A; ++j) Dt[(A + i) * n + j] += -lam * Fa[i * A + j];
    Dt[(A + i) * n + A + i] += lam;
  }
  if (t > 0) {
    // Coupling block B_t = lam [[0, Fa^T Fy], [0, -Fy]]  (rows: block t, cols: block t-1)
    for (int i = r0; i < r1; ++i) std::fill(Bt + i * n, Bt + i * n + A, 0.0);
    for (int i = r0; i < a1; ++i) std::fill(Bt + i * n + A, Bt + (i + 1) * n, 0.0);
    for (int k = 0; k < Y && r0 < a1; ++k) {
      const float* Fk = Fy + size_t(k) * Y;
      for (int i = r0; i < a1; ++i) {
        const double c = lam * Fa[k * A + i];
        double* row = Bt + i * n + A;
        for (int j = 0; j < Y; ++j) row[j] += c * Fk[j];
      }
    }
    for (int i = y0; i < y1; ++i) {
      double* row = Bt + (A + i) * n + A;
      const float* Fi = Fy + size_t(i) * Y;
      for (int j = 0; j < Y; ++j) row[j] = -lam * Fi[j];
    }
  }
  // ----- step t+1's dynamics rows on y_{t+1}: yy += lam' Fy'^T Fy' -----
  if (t + 1 < H && y0 < y1)
    dsyrk_lower_tf(Y, Y, v.lambda[t + 1], v.Fy + size_t(t + 1) * Y * Y, Y, Dt + A * n + A, n, y0, y1);
  // ----- action rows: bound sqrt(nu) max(0, |a|-am), cost sqrt(w) a -----
  for (int i = r0; i < a1; ++i) Dt[i * n + i] += std::fabs(at[i]) > v.amax ? w + nu : w;
  // ----- cost rows c(y_{t+1}): yy += Jc^T Jc -----
  if (C > 0 && y0 < y1) dsyrk_lower_tf(Y, C, 1.0, v.Jc + size_t(t) * C * Y, Y, Dt + A * n + A, n, y0, y1);
}

// g_t = (J^T rho)_t, from the same residual rows.
static void assemble_gradient(const PlanView& v, int t, double* gt) {
  const int H = v.H, Y = v.Y, A = v.A, C = v.C;
  std::memset(gt, 0, sizeof(double) * v.n());
  const double lam = v.lambda[t], nu = v.nu[t], w = v.w;
  const float* Fa = v.Fa + size_t(t) * Y * A;  // (Y, A)
  const float* yn = v.y + size_t(t + 1) * Y;
  const float* ft = v.f + size_t(t) * Y;
  const float* at = v.a + size_t(t) * A;
  count_flops(gemm_flops(A, 1, Y) + (t + 1 < H ? gemm_flops(Y, 1, Y) : 0.0) + gemm_flops(Y, 1, C), true);  // the products below
  // step t's dynamics rows: g_a -= lam Fa^T e; g_y += lam e
  for (int i = 0; i < Y; ++i) {
    const double e = double(yn[i]) - ft[i];
    gt[A + i] += lam * e;
    for (int j = 0; j < A; ++j) gt[j] -= lam * Fa[i * A + j] * e;
  }
  // step t+1's dynamics rows: g_y -= lam' Fy'^T e'
  if (t + 1 < H) {
    const double lam1 = v.lambda[t + 1];
    const float* Fy1 = v.Fy + size_t(t + 1) * Y * Y;
    const float* yn1 = v.y + size_t(t + 2) * Y;
    const float* f1 = v.f + size_t(t + 1) * Y;
    for (int k = 0; k < Y; ++k) {
      const float* Fk = Fy1 + size_t(k) * Y;
      const double e = lam1 * (double(yn1[k]) - f1[k]);
      for (int j = 0; j < Y; ++j) gt[A + j] -= Fk[j] * e;
    }
  }
  // action rows
  for (int i = 0; i < A; ++i) {
    const double ai = at[i];
    gt[i] += w * ai;
    if (std::fabs(ai) > v.amax) {
      const double sg = ai > 0 ? 1.0 : -1.0;
      gt[i] += nu * sg * (std::fabs(ai) - v.amax);
    }
  }
  // cost rows: g_y += Jc^T c
  for (int k = 0; k < C; ++k) {
    const double ck = v.c[size_t(t) * C + k];
    for (int j = 0; j < Y; ++j) gt[A + j] += double(v.Jc[(size_t(t) * C + k) * Y + j]) * ck;
  }
}

void NormalEquationBlocks::fill(int t, double* Dt, double* Bt) const {
  assemble_rows(v_, t, 0, v_.n(), Dt, Bt);
  assemble_gradient(v_, t, g_ + size_t(t) * v_.n());
}

void assemble_normal_equations(const PlanView& v, double* D, double* B, double* g) {
  const NormalEquationBlocks blocks(v, g);
  const size_t nn = size_t(v.n()) * v.n();
  struct Job {
    const NormalEquationBlocks* b;
    double *D, *B;
    size_t nn;
  } job{&blocks, D, B, nn};
  const Job* jp = &job;  // one-pointer capture: no allocation inside std::function
  parallel_tasks(v.H, [jp](int64_t t) { jp->b->fill(int(t), jp->D + t * jp->nn, jp->B + t * jp->nn); });
}

}  // namespace latco
