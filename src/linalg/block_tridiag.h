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
// Factor M + damping I = P P^T, twisted ("burn at both ends"): with the middle block
// m = block_tridiag_middle(H) = (H-1)/2, the blocks above it are eliminated from the top,
//   L_0 L_0^T = D_0 + damping I,   C_t = B_t L_{t-1}^{-T},   L_t L_t^T = D_t + damping I - C_t C_t^T,
// those below it from the bottom (the same recursion on the reversed block order, whose coupling
// blocks are the B^T),
//   L_{H-1} L_{H-1}^T = D_{H-1} + damping I,   C'_{t-1} = B_t^T L_t^{-T},
//   L_t L_t^T = D_t + damping I - C'_t C'_t^T,
// the two chains concurrently, and the middle one gets both updates:
//   L_m L_m^T = D_m + damping I - C_m C_m^T - C'_m C'_m^T.
// Writes Lf: (H, n, n) (lower triangles) and C: (H, n, n): C[t] = C_t for 1 <= t <= m,
// C[t] = C'_{t-1} for m < t < H (both couple blocks t-1 and t). D and B are not modified.
// zero_cols: the leading columns of every B_t known to be zero (they stay zero in C_t, and the
// leading rows of C'_{t-1}), which skips their work. Returns false if a block is not numerically
// positive definite.
int block_tridiag_middle(int H);
bool block_tridiag_factor(int H, int n, const double* D, const double* B, double damping, double* Lf, double* C,
                          int zero_cols = 0);

// The blocks produced while the factor runs, instead of stored beforehand: each chain fills its
// next block just before factoring it, so each block is factored while it is still in cache.
// fill(t, Dt, Bt) writes D_t's lower triangle into Dt and, for t >= 1, B_t into Bt (both n x n),
// with the same values on any thread.
class BlockSource {
 public:
  virtual ~BlockSource() = default;
  virtual void fill(int t, double* Dt, double* Bt) const = 0;
};
// The forward half of the solve below, done as the factor runs (each block still in cache):
// y: (H, n) receives P^{-1} (sign * rhs), rhs: (H, n) whose block t is complete once block t is
// filled (e.g. written by the source). block_tridiag_solve_backward(y) then gives x.
struct ForwardSolve {
  const double* rhs;
  double sign;
  double* y;
};
// The factor above of the blocks `src` fills into Lf (D_t) and C (B_t): every entry gets the same
// operations as from stored blocks, whatever the thread count (one thread runs the top chain, then
// the bottom one). Returns false as above.
bool block_tridiag_factor(int H, int n, const BlockSource& src, double damping, double* Lf, double* C,
                          int zero_cols = 0, const ForwardSolve* forward = nullptr);

// Solves (M + damping I) x = b in place with the factor: forward P y = b (from both ends, then
// the middle block), then P^T x = y (the middle block, then out to both ends, one end per thread).
void block_tridiag_solve(int H, int n, const double* Lf, const double* C, double* b);
// The two halves.  b: (H, n)
void block_tridiag_solve_forward(int H, int n, const double* Lf, const double* C, double* b);
void block_tridiag_solve_backward(int H, int n, const double* Lf, const double* C, double* b);

// The full symmetric (H n x H n) matrix M + damping I, row-major (for reference solves and tests).
void block_tridiag_to_dense(int H, int n, const double* D, const double* B, double damping, double* M);

}  // namespace latco
