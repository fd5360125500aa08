// Block-tridiagonal Cholesky factor and solve (the linear algebra of Eq. 9):
// the LM normal matrix J^T J + mu I of a collocation problem couples only
// neighbouring time steps, so it factors in O(H n^3) instead of O((H n)^3).
// Not here: assembling the blocks (plan/latco_residuals.*), pivoting.
#pragma once

namespace latco {

// The symmetric matrix
//     | D_0  B_1^T               |
//     | B_1  D_1   B_2^T         |
// M = |      B_2   D_2   ...     |      D_t: (n x n), lower triangle read;
//     |            ...   B_{H-1}^T |   B_t: (n x n) = M[block t][block t-1], t >= 1
//     |          B_{H-1} D_{H-1} |
// stored as D: (H, n, n), B: (H, n, n) (B_0 unused).
//
// Factor M + damping I = L L^T with L block-bidiagonal:
//   L_0 L_0^T = D_0 + damping I
//   C_t = B_t L_{t-1}^{-T},   L_t L_t^T = D_t + damping I - C_t C_t^T     (t >= 1)
// Writes Lf: (H, n, n) (lower triangles) and C: (H, n, n). D and B are not modified.
// zero_cols: the leading columns of every B_t known to be zero (they stay zero in C_t),
// which skips their work. Returns false if a block is not numerically positive definite.
bool block_tridiag_factor(int H, int n, const double* D, const double* B, double damping, double* Lf, double* C,
                          int zero_cols = 0);

// The blocks produced while the factor runs, instead of stored beforehand: block t+1 is filled
// (on the other thread) while block t's diagonal tile is factored, and each block is factored
// while it is still in cache. fill(t, part, Dt, Bt) writes part `part` (0 <= part < parts()) of
// D_t's lower triangle into Dt and, for t >= 1, of B_t into Bt (both n x n); parts write
// disjoint entries, may run on any thread in any order, and give the same values wherever run.
class BlockSource {
 public:
  virtual ~BlockSource() = default;
  virtual int parts() const { return 1; }
  virtual void fill(int t, int part, double* Dt, double* Bt) const = 0;
};
// The forward half of the solve below, done as the factor runs (each block still in cache):
// y: (H, n) receives L^{-1} (sign * rhs), rhs: (H, n) whose block t is complete once block t is
// filled (e.g. written by the source). block_tridiag_solve_backward(y) then gives x.
struct ForwardSolve {
  const double* rhs;
  double sign;
  double* y;
};
// The factor above of the blocks `src` fills into Lf (D_t) and C (B_t): every entry gets the same
// operations as from stored blocks, whatever the thread count. Returns false as above.
bool block_tridiag_factor(int H, int n, const BlockSource& src, double damping, double* Lf, double* C,
                          int zero_cols = 0, const ForwardSolve* forward = nullptr);

// Solves (M + damping I) x = b in place with the factor: forward L y = b, then L^T x = y.  b: (H, n)
void block_tridiag_solve(int H, int n, const double* Lf, const double* C, double* b);
// The two halves: y_t = L_t^{-1} (b_t - C_t y_{t-1}) for block t (y_{t-1} = b_{t-1} already solved),
// and the backward substitution L^T x = y of all blocks, in place.
void block_tridiag_forward_step(int t, int n, const double* Lf, const double* C, double* b);
void block_tridiag_solve_backward(int H, int n, const double* Lf, const double* C, double* b);

// The full symmetric (H n x H n) matrix M + damping I, row-major (for reference solves and tests).
void block_tridiag_to_dense(int H, int n, const double* D, const double* B, double damping, double* M);

}  // namespace latco
