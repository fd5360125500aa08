// The LatCo least-squares problem (Section 4): residuals, their Jacobian, the
// block-tridiagonal normal equations J^T J, J^T rho (Eq. 9), and the dual update
// (Eq. 10). Generic over a "state" y of size Y per step: y = z for deterministic
// LatCo, y = [mean, std] for Gaussian LatCo. Not here: the LM loop (plan/latco.*).
//
// Unknowns of one plan, block t = 0..H-1 of size n = A + Y:  x_t = [a_t, y_{t+1}]
// (y_0 is given and pinned). Residual rows of step t, in this order:
//   dynamics   sqrt(lambda_t) (y_{t+1} - f(y_t, a_t))   (Y)   couples blocks t-1 and t
//   bound      sqrt(nu_t) max(0, |a_t| - a_max)         (A)   Eq. (8)
//   act. cost  sqrt(w) a_t                              (A)   (zero rows when w = 0)
//   cost       c(y_{t+1})                               (C)   e.g. softplus(-r(z_{t+1}))
// so J^T J has diagonal blocks D_t and sub-diagonal blocks B_t = J^T J[t][t-1]
// whose first A columns (the a_{t-1} columns) are zero.
#pragma once
#include <string>

#include "linalg/block_tridiag.h"
#include "plan/rollout.h"  // softplus_neg, bound_violation: the residuals every planner shares

namespace latco {

// The problem as the LM solver sees it. Rows n of a batch are (plan k, step t) with
// n = k * H + t; implementations may use (k, t) to pick fixed sample noise.
class CollocationProblem {
 public:
  virtual ~CollocationProblem() = default;
  virtual int state_dim() const = 0;   // Y
  virtual int action_dim() const = 0;  // A
  virtual int cost_dim() const = 0;    // C
  virtual float action_max() const = 0;
  virtual float action_cost() const = 0;  // w
  // y: (N,Y) y_t, a: (N,A) a_t -> f: (N,Y); Fy: (N,Y,Y) = df/dy_t, Fa: (N,Y,A) when non-null.
  virtual void dynamics(int N, const float* y, const float* a, float* f, float* Fy, float* Fa) const = 0;
  // y: (N,Y) y_{t+1} of row n -> c: (N,C), Jc: (N,C,Y) when non-null, r: (N) reward estimate (diagnostics).
  virtual void costs(int N, const float* y, float* c, float* Jc, float* r) const = 0;
  // Called once per solver iteration after the accept/reject, before the derivatives at the new
  // point; true when the problem changed (e.g. fresh sample noise), so the point is re-evaluated.
  virtual bool next_iteration() { return false; }
  // The dynamics violation Eq. (10) reads, when it is not |y_{t+1} - f_t|^2: y: (N,Y) y_t, a: (N,A),
  // yn: (N,Y) y_{t+1} -> v: (N). Returns false (v untouched) for the default.
  virtual bool dual_violation(int N, const float* y, const float* a, const float* yn, double* v) const {
    return false;
  }
};

// One plan's current point and its derivatives (all pointers into solver buffers).
struct PlanView {
  int H = 0, Y = 0, A = 0, C = 0;
  const float* a = nullptr;       // (H, A)
  const float* y = nullptr;       // (H+1, Y)  y_0 .. y_H
  const float* f = nullptr;       // (H, Y)    f(y_t, a_t)
  const float* Fy = nullptr;      // (H, Y, Y)
  const float* Fa = nullptr;      // (H, Y, A)
  const float* c = nullptr;       // (H, C)    costs at y_{t+1}
  const float* Jc = nullptr;      // (H, C, Y)
  const double* lambda = nullptr; // (H) dynamics multipliers
  const double* nu = nullptr;     // (H) action-bound multipliers
  float amax = 1, w = 0;
  int n() const { return A + Y; }
  int rows_per_step() const { return Y + 2 * A + C; }
};

// sum rho^2. Optional per-step outputs: dyn: (H) |y_{t+1} - f_t|^2, act: (H) |max(0,|a_t|-a_max)|^2.
double plan_cost(const PlanView& v, double* dyn = nullptr, double* act = nullptr);
// rho: (H * rows_per_step), the layout above (for tests and diagnostics).
void plan_residuals(const PlanView& v, double* rho);
// J: (H * rows_per_step, H * n) dense, row-major (for tests).
void plan_jacobian_dense(const PlanView& v, double* J);

// Eq. (9)'s normal equations as the block factor's source (linalg/block_tridiag.h): block t is
// D_t (lower triangle of J^T J's diagonal block t) and B_t (sub-diagonal block); fill also writes
// g_t = (J^T rho)_t into g: (H, n). v must outlive the source.
class NormalEquationBlocks : public BlockSource {
 public:
  NormalEquationBlocks(const PlanView& v, double* g) : v_(v), g_(g) {}
  void fill(int t, double* Dt, double* Bt) const override;

 private:
  PlanView v_;
  double* g_;
};
// The same blocks stored: D: (H, n, n) lower triangles, B: (H, n, n) (B_0 untouched), g: (H, n).
void assemble_normal_equations(const PlanView& v, double* D, double* B, double* g);

// ----- Eq. (10) -----
enum class DualRule { Paper, Released };
DualRule parse_dual_rule(const std::string& s, const std::string& where);
// Multiplicative dual step for one multiplier with squared violation v and threshold eps:
//   Paper:    lambda + alpha * ln(v / eps + eta) * lambda
//   Released: lambda + alpha * log10(v / eps + 0.1) * lambda   (its eta is fixed at 0.1)
double dual_update(double lambda, double v, double eps, double alpha, double eta, DualRule rule);

}  // namespace latco
