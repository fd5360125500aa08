// Dense Cholesky and the C += alpha A B^T kernel it is built on (double).
// The fast kernel keeps a 4x4 tile of 8-wide accumulators in registers and
// walks K contiguously in both operands (A and B are both row-major, K inner).
#include "linalg/dense.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/thread_pool.h"

#pragma GCC optimize("fp-contract=fast")  // let a*b+c become one FMA in the vector kernels

namespace latco {

// ===== references =====

bool cholesky_ref(int n, double* a, int lda) {
  for (int j = 0; j < n; ++j) {
    double d = a[j * lda + j];
    for (int k = 0; k < j; ++k) d -= a[j * lda + k] * a[j * lda + k];
    if (!(d > 0) || !std::isfinite(d)) return false;
    d = std::sqrt(d);
    a[j * lda + j] = d;
    for (int i = j + 1; i < n; ++i) {
      double s = a[i * lda + j];
      for (int k = 0; k < j; ++k) s -= a[i * lda + k] * a[j * lda + k];
      a[i * lda + j] = s / d;
    }
  }
  return true;
}

void cholesky_solve_ref(int n, const double* L, int lda, double* b) {
  for (int i = 0; i < n; ++i) {  // L y = b
    double s = b[i];
    for (int k = 0; k < i; ++k) s -= L[i * lda + k] * b[k];
    b[i] = s / L[i * lda + i];
  }
  for (int i = n - 1; i >= 0; --i) {  // L^T x = y
    double s = b[i];
    for (int k = i + 1; k < n; ++k) s -= L[k * lda + i] * b[k];
    b[i] = s / L[i * lda + i];
  }
}

void dgemm_nt_ref(int M, int N, int K, double alpha, const double* A, int lda, const double* B, int ldb,
                  double* C, int ldc) {
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      double s = 0;
      for (int k = 0; k < K; ++k) s += A[i * lda + k] * B[j * ldb + k];
      C[i * ldc + j] += alpha * s;
    }
}

// ===== fast kernels =====
namespace {

typedef double v8d __attribute__((vector_size(64)));

inline v8d load8(const double* p) {
  v8d v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline double hsum(v8d v) {  // fixed order: deterministic
  return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]));
}

// x . y over n contiguous doubles.
inline double dot(const double* x, const double* y, int n) {
  v8d acc0 = {}, acc1 = {};
  int k = 0;
  for (; k + 16 <= n; k += 16) {
    acc0 += load8(x + k) * load8(y + k);
    acc1 += load8(x + k + 8) * load8(y + k + 8);
  }
  for (; k + 8 <= n; k += 8) acc0 += load8(x + k) * load8(y + k);
  double s = hsum(acc0 + acc1);
  for (; k < n; ++k) s += x[k] * y[k];
  return s;
}

// C[MR x NR] += alpha * A[MR x K] B[NR x K]^T
template <int MR, int NR>
inline void tile_nt(int K, double alpha, const double* A, int lda, const double* B, int ldb, double* C, int ldc) {
  v8d acc[MR][NR] = {};
  int k = 0;
  for (; k + 8 <= K; k += 8) {
    v8d a[MR], b[NR];
    for (int i = 0; i < MR; ++i) a[i] = load8(A + i * lda + k);
    for (int j = 0; j < NR; ++j) b[j] = load8(B + j * ldb + k);
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) acc[i][j] += a[i] * b[j];
  }
  if (k < K) {  // the K % 8 tail as one zero-padded vector step
    const size_t tail = sizeof(double) * (K - k);
    v8d a[MR], b[NR];
    for (int i = 0; i < MR; ++i) a[i] = v8d{}, std::memcpy(&a[i], A + i * lda + k, tail);
    for (int j = 0; j < NR; ++j) b[j] = v8d{}, std::memcpy(&b[j], B + j * ldb + k, tail);
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) acc[i][j] += a[i] * b[j];
  }
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) C[i * ldc + j] += alpha * hsum(acc[i][j]);
}

template <int MR>
inline void row_stripe(int N, int K, double alpha, const double* A, int lda, const double* B, int ldb, double* C,
                       int ldc, int j0, int j1) {
  int j = j0;
  for (; j + 4 <= j1; j += 4) tile_nt<MR, 4>(K, alpha, A, lda, B + j * ldb, ldb, C + j, ldc);
  for (; j < j1; ++j) tile_nt<MR, 1>(K, alpha, A, lda, B + j * ldb, ldb, C + j, ldc);
}

// Rows [s0*4, s1*4) of C (clipped to M), columns [0, N) or, for the lower variant, up to the diagonal tile.
void stripes(int s0, int s1, int M, int N, int K, double alpha, const double* A, int lda, const double* B, int ldb,
             double* C, int ldc, bool lower) {
  constexpr int NB = 16;  // B rows kept hot in L1 while the A stripes pass
  const int ncols = lower ? std::min(N, s1 * 4) : N;
  for (int jb = 0; jb < ncols; jb += NB) {
    for (int s = s0; s < s1; ++s) {
      const int i = s * 4, mr = std::min(4, M - i);
      int jend = std::min(jb + NB, ncols);
      if (lower) jend = std::min(jend, i + mr);
      if (jend <= jb) continue;
      const double* Ai = A + i * lda;
      double* Ci = C + i * ldc;
      switch (mr) {
        case 4: row_stripe<4>(N, K, alpha, Ai, lda, B, ldb, Ci, ldc, jb, jend); break;
        case 3: row_stripe<3>(N, K, alpha, Ai, lda, B, ldb, Ci, ldc, jb, jend); break;
        case 2: row_stripe<2>(N, K, alpha, Ai, lda, B, ldb, Ci, ldc, jb, jend); break;
        default: row_stripe<1>(N, K, alpha, Ai, lda, B, ldb, Ci, ldc, jb, jend); break;
      }
    }
  }
}

struct GemmJob {
  int M, N, K;
  double alpha;
  const double *A, *B;
  int lda, ldb, ldc;
  double* C;
  bool lower;
  int nstripes, ntasks;
};

void run_gemm(const GemmJob& g) {
  const double work = double(g.M) * g.N * g.K;
  if (work < 2e6 || num_threads() == 1 || g.nstripes < 4) {  // small: thread wake-ups cost more
    stripes(0, g.nstripes, g.M, g.N, g.K, g.alpha, g.A, g.lda, g.B, g.ldb, g.C, g.ldc, g.lower);
    return;
  }
  // Interleaved stripe groups balance the triangular case; each C entry is computed
  // by the same instructions whichever thread runs it.
  const GemmJob* gp = &g;
  parallel_tasks(g.ntasks, [gp](int64_t t) {
    const GemmJob& j = *gp;
    for (int s = int(t); s < j.nstripes; s += j.ntasks)
      stripes(s, s + 1, j.M, j.N, j.K, j.alpha, j.A, j.lda, j.B, j.ldb, j.C, j.ldc, j.lower);
  });
}

// In-panel triangular solve: X (m x jb) <- X L^{-T}, L: (jb x jb) lower tile.
// Inverts the tile (jb^3/3, well conditioned: a Cholesky factor's diagonal tile)
// and multiplies, so the bulk runs in the register-blocked kernel:
// X <- X_copy (L^{-1})^T. Every row gets the same operations however the rows
// are split into calls, which keeps results independent of the thread count.
void trsm_panel(int m, int jb, const double* L, int ldl, double* X, int ldx) {
  thread_local std::vector<double> scratch;  // grows once to the largest panel, then reused
  const size_t need = size_t(jb) * jb + size_t(m) * jb;
  if (scratch.size() < need) scratch.resize(need);
  double* Linv = scratch.data();      // (jb, jb) lower
  double* Xc = Linv + size_t(jb) * jb;  // (m, jb) copy of the panel
  std::fill(Linv, Linv + size_t(jb) * jb, 0.0);
  for (int c = 0; c < jb; ++c) {  // column c of L^{-1}: forward substitution on e_c
    Linv[c * jb + c] = 1.0 / L[c * ldl + c];
    for (int i = c + 1; i < jb; ++i) {
      double s = 0;
      for (int k = c; k < i; ++k) s += L[i * ldl + k] * Linv[k * jb + c];
      Linv[i * jb + c] = -s / L[i * ldl + i];
    }
  }
  for (int r = 0; r < m; ++r) {
    std::memcpy(Xc + size_t(r) * jb, X + long(r) * ldx, sizeof(double) * jb);
    std::fill(X + long(r) * ldx, X + long(r) * ldx + jb, 0.0);
  }
  dgemm_nt(m, jb, jb, 1.0, Xc, jb, Linv, jb, X, ldx);
}

}  // namespace

void dgemm_nt(int M, int N, int K, double alpha, const double* A, int lda, const double* B, int ldb, double* C,
              int ldc) {
  if (M <= 0 || N <= 0) return;
  const int ns = (M + 3) / 4;
  GemmJob g{M, N, K, alpha, A, B, lda, ldb, ldc, C, false, ns, std::min(ns, 4 * num_threads())};
  run_gemm(g);
}

void dsyrk_lower(int N, int K, double alpha, const double* A, int lda, double* C, int ldc) {
  if (N <= 0) return;
  const int ns = (N + 3) / 4;
  GemmJob g{N, N, K, alpha, A, A, lda, lda, ldc, C, true, ns, std::min(ns, 4 * num_threads())};
  run_gemm(g);
}

bool cholesky(int n, double* a, int lda) {
  constexpr int NB = 32;
  for (int j0 = 0; j0 < n; j0 += NB) {
    const int jb = std::min(NB, n - j0);
    // Left-looking update of the panel (rows j0..n, columns j0..j0+jb) by the factored columns.
    if (j0 > 0) dgemm_nt(n - j0, jb, j0, -1.0, a + j0 * lda, lda, a + j0 * lda, lda, a + j0 * lda + j0, lda);
    // Unblocked factor of the diagonal tile.
    double* T = a + j0 * lda + j0;
    for (int j = 0; j < jb; ++j) {
      double* rj = T + j * lda;
      double d = rj[j] - dot(rj, rj, j);
      if (!(d > 0) || !std::isfinite(d)) return false;
      d = std::sqrt(d);
      rj[j] = d;
      for (int i = j + 1; i < jb; ++i) {
        double* ri = T + i * lda;
        ri[j] = (ri[j] - dot(ri, rj, j)) / d;
      }
    }
    // Rows below the tile: X T^T = A_panel.
    if (j0 + jb < n) trsm_panel(n - j0 - jb, jb, T, lda, T + jb * lda, lda);
  }
  return true;
}

namespace {
void trsm_rows(int m, int n, const double* L, int ldl, double* X, int ldx) {
  constexpr int NB = 32;
  for (int j0 = 0; j0 < n; j0 += NB) {
    const int jb = std::min(NB, n - j0);
    if (j0 > 0) dgemm_nt(m, jb, j0, -1.0, X, ldx, L + j0 * ldl, ldl, X + j0, ldx);
    trsm_panel(m, jb, L + j0 * ldl + j0, ldl, X + j0, ldx);
  }
}
}  // namespace

void trsm_right_lower_t(int m, int n, const double* L, int ldl, double* X, int ldx) {
  if (double(m) * n * n < 4e6 || num_threads() == 1 || m < 32) {
    trsm_rows(m, n, L, ldl, X, ldx);
    return;
  }
  // Rows of X are independent: one parallel split of whole rows, serial kernels inside.
  struct Job {
    int n, ldl, ldx;
    const double* L;
    double* X;
  } job{n, ldl, ldx, L, X};
  const Job* jp = &job;  // one-pointer capture: no allocation inside std::function
  parallel_for(m, [jp](int64_t r0, int64_t r1) {
    trsm_rows(int(r1 - r0), jp->n, jp->L, jp->ldl, jp->X + r0 * jp->ldx, jp->ldx);
  }, 16);
}

void dgemv_n(int M, int N, double alpha, const double* A, int lda, const double* x, double* y) {
  for (int i = 0; i < M; ++i) y[i] += alpha * dot(A + long(i) * lda, x, N);
}

void trsv_lower(int n, const double* L, int ldl, double* b) {
  for (int i = 0; i < n; ++i) b[i] = (b[i] - dot(L + i * ldl, b, i)) / L[i * ldl + i];
}

void trsv_lower_t(int n, const double* L, int ldl, double* b) {
  // Column-oriented: once x_i is known, remove its contribution from all earlier rows.
  for (int i = n - 1; i >= 0; --i) {
    const double xi = b[i] / L[i * ldl + i];
    b[i] = xi;
    const double* row = L + i * ldl;
    for (int k = 0; k < i; ++k) b[k] -= row[k] * xi;
  }
}

}  // namespace latco
