// Dense Cholesky and the C += alpha A B^T kernel it is built on (double).
// The fast kernel packs B^T once per call and keeps a 12 x 16 tile of sums in
// registers, broadcasting entries of A (read in place) against rows of B^T.
#include "linalg/dense.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/flops.h"

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

// ----- C += alpha A B^T, outer-product form -----
// B^T is packed once per call into panels of NR columns (Bp[k*NR + c] = B[j0+c][k], zero past N);
// a micro-tile keeps MR x NR sums in registers and, for each k, broadcasts MR entries of A (read
// in place, row-major) against one packed row of B^T: 2*MR FMAs per 2 vector loads. Every C
// entry is summed over k in the same order whichever tile or thread computes it.
constexpr int MR = 12;   // micro-tile rows: 24 accumulators + 2 B vectors fit the 32 AVX-512 registers
constexpr int NR = 16;   // micro-tile columns: two 8-double vectors
constexpr int KC = 256;  // depth of one pass: a B panel (KC x NR) stays in L1, all of Bp in L2

// dst[k * ldd + c] = src[c * lds + k] for c, k < 8: three rounds of two-vector shuffles.
inline void transpose8x8(const double* src, long lds, double* dst, long ldd) {
  typedef long long v8i __attribute__((vector_size(64)));
  const v8i lo1 = {0, 8, 2, 10, 4, 12, 6, 14}, hi1 = {1, 9, 3, 11, 5, 13, 7, 15};
  const v8i lo2 = {0, 1, 8, 9, 4, 5, 12, 13}, hi2 = {2, 3, 10, 11, 6, 7, 14, 15};
  const v8i lo4 = {0, 1, 2, 3, 8, 9, 10, 11}, hi4 = {4, 5, 6, 7, 12, 13, 14, 15};
  v8d r[8], s[8], q[8];
  for (int c = 0; c < 8; ++c) r[c] = load8(src + c * lds);
  for (int c = 0; c < 8; c += 2) {  // s[c] = entries k even, s[c+1] = k odd, of rows c, c+1 interleaved
    s[c] = __builtin_shuffle(r[c], r[c + 1], lo1);
    s[c + 1] = __builtin_shuffle(r[c], r[c + 1], hi1);
  }
  for (int c = 0; c < 8; c += 4)  // q[c..c+3]: k = {0,4}, {2,6}, {1,5}, {3,7} of rows c .. c+3
    for (int h = 0; h < 2; ++h) {
      q[c + h] = __builtin_shuffle(s[c], s[c + 2], h ? hi2 : lo2);
      q[c + 2 + h] = __builtin_shuffle(s[c + 1], s[c + 3], h ? hi2 : lo2);
    }
  const int kq[4] = {0, 2, 1, 3};  // the first k held by q[i]
  for (int i = 0; i < 4; ++i) {
    const v8d a = __builtin_shuffle(q[i], q[i + 4], lo4), b = __builtin_shuffle(q[i], q[i + 4], hi4);
    std::memcpy(dst + kq[i] * ldd, &a, sizeof(a));
    std::memcpy(dst + (kq[i] + 4) * ldd, &b, sizeof(b));
  }
}

void pack_bt(int N, int k0, int kc, const double* B, int ldb, double* Bp) {
  for (int j0 = 0; j0 < N; j0 += NR, Bp += size_t(kc) * NR) {
    const int nr = std::min(NR, N - j0);
    if (nr == NR) {  // a full panel: 8 x 8 tiles of B transposed in registers
      int k = 0;
      for (; k + 8 <= kc; k += 8)
        for (int c = 0; c < NR; c += 8) transpose8x8(B + long(j0 + c) * ldb + k0 + k, ldb, Bp + size_t(k) * NR + c, NR);
      for (int c = 0; c < NR; ++c)
        for (int kk = k; kk < kc; ++kk) Bp[size_t(kk) * NR + c] = B[long(j0 + c) * ldb + k0 + kk];
      continue;
    }
    for (int k = 0; k < kc; ++k) {
      double* dst = Bp + size_t(k) * NR;
      for (int c = 0; c < nr; ++c) dst[c] = B[long(j0 + c) * ldb + k0 + k];
      for (int c = nr; c < NR; ++c) dst[c] = 0.0;
    }
  }
}

// C[rows, j0 : j0+nr] += alpha * A[rows, kc] B^T. rows = MR_ starting at row i0 of C; with
// `lower`, only entries on or below the diagonal (j <= i) are written; with `beta0`, C's old
// entries are not read: C = alpha A B^T (then C may be A itself, when one tile covers all of A's
// columns: A is read whole before C is written).
// AK: A k-major (A[k * lda + r]: a packed panel of B^T, say) instead of row-major in place.
// B^T's row k: NR entries at Bt + k * ldbt (packed panels: ldbt = NR).
template <int MR_, bool AK = false>
void micro_tile(int kc, double alpha, const double* A, int lda, const double* Bt, long ldbt, double* C, int ldc,
                int nr, int i0, int j0, bool lower, bool beta0 = false) {
  v8d acc[MR_][2] = {};
  for (int k = 0; k < kc; ++k) {
    const v8d b0 = load8(Bt + size_t(k) * ldbt), b1 = load8(Bt + size_t(k) * ldbt + 8);
#pragma GCC unroll 12
    for (int r = 0; r < MR_; ++r) {
      const double a = AK ? A[size_t(k) * lda + r] : A[long(r) * lda + k];
      acc[r][0] += a * b0;
      acc[r][1] += a * b1;
    }
  }
  const bool full = nr == NR && (!lower || j0 + NR - 1 <= i0);
  static const double kZeros[NR] = {};
  for (int r = 0; r < MR_; ++r) {
    double* c = C + long(r) * ldc;
    const double* cin = beta0 ? kZeros : c;  // one code path: the same FMA c + alpha acc either way
    if (full) {
      const v8d c0 = load8(cin) + alpha * acc[r][0], c1 = load8(cin + 8) + alpha * acc[r][1];
      std::memcpy(c, &c0, sizeof(c0));
      std::memcpy(c + 8, &c1, sizeof(c1));
    } else {
      const int cend = lower ? std::min(nr, i0 + r - j0 + 1) : nr;
      for (int q = 0; q < cend; ++q) c[q] = cin[q] + alpha * (q < 8 ? acc[r][0][q] : acc[r][1][q - 8]);
    }
  }
}

struct GemmJob {
  int M, N, kc;
  double alpha;
  const double* A;  // already offset to the pass's first column k0
  int lda;
  const double* Bp;
  double* C;
  int ldc;
  bool lower, beta0;
};

// Row panel p of C (rows p*MR ..), all its column panels (up to the diagonal when lower).
void row_panel(const GemmJob& g, int p) {
  const int i0 = p * MR, mr = std::min(MR, g.M - i0);
  const int jend = g.lower ? std::min(g.N, i0 + mr) : g.N;
  const double* Ai = g.A + long(i0) * g.lda;
  for (int j0 = 0; j0 < jend; j0 += NR) {
    const double* Bp = g.Bp + size_t(j0 / NR) * g.kc * NR;
    double* Cij = g.C + long(i0) * g.ldc + j0;
    const int nr = std::min(NR, g.N - j0);
    switch (mr) {
#define LATCO_TILE(m) \
  case m: micro_tile<m>(g.kc, g.alpha, Ai, g.lda, Bp, NR, Cij, g.ldc, nr, i0, j0, g.lower, g.beta0); break;
      LATCO_TILE(12) LATCO_TILE(11) LATCO_TILE(10) LATCO_TILE(9) LATCO_TILE(8) LATCO_TILE(7)
      LATCO_TILE(6) LATCO_TILE(5) LATCO_TILE(4) LATCO_TILE(3) LATCO_TILE(2) LATCO_TILE(1)
#undef LATCO_TILE
    }
  }
}

// C (M x N) += alpha A B^T; `lower`: only C's lower triangle (then B == A, M == N).
// min_work: the multiply-adds from which the row panels are split over the threads.
// beta0: C = alpha A B^T (its old entries not read).
void gemm_nt(int M, int N, int K, double alpha, const double* A, int lda, const double* B, int ldb, double* C,
             int ldc, bool lower, double min_work = 2e6, bool beta0 = false) {
  if (M <= 0 || N <= 0 || K <= 0) return;
  thread_local std::vector<double> packed;  // grows once to the largest B^T, then reused
  const int npanels = (M + MR - 1) / MR;
  const double work = double(M) * N * K * (lower ? 0.5 : 1.0);
  const bool threaded = work >= min_work && num_threads() > 1 && npanels >= 4;
  const int ntasks = std::min(npanels, 4 * num_threads());
  for (int k0 = 0; k0 < K; k0 += KC) {
    const int kc = std::min(KC, K - k0);
    const size_t need = size_t((N + NR - 1) / NR) * NR * kc;
    if (packed.size() < need) packed.resize(need);
    pack_bt(N, k0, kc, B, ldb, packed.data());
    const GemmJob g{M, N, kc, alpha, A + k0, lda, packed.data(), C, ldc, lower, beta0 && k0 == 0};
    if (!threaded) {
      for (int p = 0; p < npanels; ++p) row_panel(g, p);
      continue;
    }
    // Interleaved panels balance the triangular case.
    const GemmJob* gp = &g;
    parallel_tasks(ntasks, [gp, npanels, ntasks](int64_t t) {
      for (int p = int(t); p < npanels; p += ntasks) row_panel(*gp, p);
    });
  }
}

// In-panel triangular solve: X (m x jb) <- X L^{-T}, L: (jb x jb) lower tile, jb <= NR.
// Inverts the tile (jb^3/3, well conditioned: a Cholesky factor's diagonal tile)
// and multiplies in place, so the bulk runs in the register-blocked kernel:
// X <- X (L^{-1})^T, one tile per row panel (jb <= NR) reading its rows of X before writing them.
// Every row gets the same operations however the rows are split into calls, which keeps results
// independent of the thread count.
void trsm_panel(int m, int jb, const double* L, int ldl, double* X, int ldx) {
  thread_local std::vector<double> scratch;  // grows once to the largest tile, then reused
  if (scratch.size() < size_t(jb) * jb) scratch.resize(size_t(jb) * jb);
  double* Linv = scratch.data();  // (jb, jb) lower
  std::fill(Linv, Linv + size_t(jb) * jb, 0.0);
  for (int i = 0; i < jb; ++i) {  // row i of L^{-1}: (e_i - sum_{k<i} L[i][k] Linv[k][:]) / L[i][i]
    double* row = Linv + size_t(i) * jb;
    row[i] = 1.0;
    for (int k = 0; k < i; ++k) {  // row k of L^{-1} is zero past column k
      const double lik = L[i * ldl + k];
      const double* rk = Linv + size_t(k) * jb;
      for (int c = 0; c <= k; ++c) row[c] -= lik * rk[c];
    }
    const double d = L[i * ldl + i];
    for (int c = 0; c <= i; ++c) row[c] /= d;
  }
  gemm_nt(m, jb, jb, 1.0, X, ldx, Linv, jb, X, ldx, false, 2e6, /*beta0=*/true);
}

}  // namespace

void dgemm_nt(int M, int N, int K, double alpha, const double* A, int lda, const double* B, int ldb, double* C,
              int ldc) {
  count_flops(gemm_flops(M, N, K), true);
  gemm_nt(M, N, K, alpha, A, lda, B, ldb, C, ldc, false);
}

void dsyrk_lower(int N, int K, double alpha, const double* A, int lda, double* C, int ldc) {
  count_flops(syrk_flops(N, K), true);
  gemm_nt(N, N, K, alpha, A, lda, A, lda, C, ldc, true);
}

void dsyrk_lower_tf(int N, int K, double alpha, const float* A, int lda, double* C, int ldc, int r0, int r1) {
  if (r1 < 0) r1 = N;
  r0 = std::max(r0, 0), r1 = std::min(r1, N);
  if (r1 <= r0 || K <= 0) return;
  count_flops(double(K) * (double(r1) * (r1 + 1) - double(r0) * (r0 + 1)), true);  // rows i: 2 (i+1) K
  // The B^T of A^T A is A: its rows, widened to double, packed once per pass into NR-wide k-major
  // panels, which also serve as the A^T operand: rows i0 .. i0+8 of C read 8 columns of the panel
  // holding them (8 x 16 tiles: no second packed copy).
  thread_local std::vector<double> packed;
  const int npan = (r1 + NR - 1) / NR;  // the columns j < r1
  for (int k0 = 0; k0 < K; k0 += KC) {
    const int kc = std::min(KC, K - k0);
    const size_t need = size_t(npan) * NR * kc;
    if (packed.size() < need) packed.resize(need);
    double* Bp = packed.data();
    for (int p = 0; p < npan; ++p) {  // Bp[p][k*NR + c] = A[k0+k][p*NR+c]
      const int j0 = p * NR, nr = std::min(NR, r1 - j0);
      double* dst = Bp + size_t(p) * kc * NR;
      for (int k = 0; k < kc; ++k) {
        const float* src = A + long(k0 + k) * lda + j0;
        if (nr == NR) {
          for (int c = 0; c < NR; ++c) dst[size_t(k) * NR + c] = src[c];
          continue;
        }
        for (int c = 0; c < nr; ++c) dst[size_t(k) * NR + c] = src[c];
        for (int c = nr; c < NR; ++c) dst[size_t(k) * NR + c] = 0.0;
      }
    }
    for (int i0 = r0; i0 < r1;) {
      const int i1 = std::min(r1, (i0 / 8 + 1) * 8), mr = i1 - i0;  // within one 8-aligned group
      const double* Ai = Bp + size_t(i0 / NR) * kc * NR + i0 % NR;
      for (int j0 = 0; j0 < i1; j0 += NR) {
        const double* B = Bp + size_t(j0 / NR) * kc * NR;
        double* Cij = C + long(i0) * ldc + j0;
        const int nr = std::min(NR, r1 - j0);
        switch (mr) {
#define LATCO_TILE(m) case m: micro_tile<m, true>(kc, alpha, Ai, NR, B, NR, Cij, ldc, nr, i0, j0, true); break;
          LATCO_TILE(8) LATCO_TILE(7) LATCO_TILE(6) LATCO_TILE(5) LATCO_TILE(4) LATCO_TILE(3) LATCO_TILE(2)
          LATCO_TILE(1)
#undef LATCO_TILE
        }
      }
      i0 = i1;
    }
  }
}

namespace {
// Blocked left-looking Cholesky, serial: the leaves of cholesky's recursion. 16-wide panels: each
// panel's solve multiplies by its inverted tile, 2 m NB^2 FLOPs, half of what 32-wide panels spend
// (the factor of a 234 block takes about 18% less CPU time).
bool cholesky_blocked(int n, double* a, int lda) {
  constexpr int NB = 16;
  for (int j0 = 0; j0 < n; j0 += NB) {
    const int jb = std::min(NB, n - j0);
    // Left-looking update of the panel (rows j0..n, columns j0..j0+jb) by the factored columns.
    if (j0 > 0)
      gemm_nt(n - j0, jb, j0, -1.0, a + j0 * lda, lda, a + j0 * lda, lda, a + j0 * lda + j0, lda, false, 1e30);
    // Unblocked factor of the diagonal tile, right-looking on its transpose U = T^T (upper,
    // rows contiguous) so that every update is a vector axpy along a row.
    double* T = a + j0 * lda + j0;
    double U[NB * NB];
    for (int i = 0; i < jb; ++i)
      for (int j = 0; j <= i; ++j) U[j * NB + i] = T[i * lda + j];
    for (int j = 0; j < jb; ++j) {
      double* uj = U + j * NB;
      double d = uj[j];
      if (!(d > 0) || !std::isfinite(d)) return false;
      d = std::sqrt(d);
      uj[j] = d;
      for (int i = j + 1; i < jb; ++i) uj[i] /= d;
      for (int k = j + 1; k < jb; ++k) {  // U[k][k:] -= U[j][k] U[j][k:]
        const double ujk = uj[k];
        double* uk = U + k * NB;
        for (int i = k; i < jb; ++i) uk[i] -= ujk * uj[i];
      }
    }
    for (int i = 0; i < jb; ++i)
      for (int j = 0; j <= i; ++j) T[i * lda + j] = U[j * NB + i];
    // Rows below the tile: X T^T = A_panel.
    if (j0 + jb < n) trsm_panel(n - j0 - jb, jb, T, lda, T + jb * lda, lda);
  }
  return true;
}
void trsm_split(int m, int n, const double* L, int ldl, double* X, int ldx, double min_work);

// Recursive halving down to serial leaves of at most kCholLeaf: factor A11, then A21 <- A21 L11^{-T}
// and A22 -= A21 A21^T with their rows split over the threads, then factor A22. The leaf takes the
// paper's 234 x 234 blocks whole: at that size the threaded halves cost more in hand-offs than they
// gain (block factor of Z = 230, H = 30: 9.3 ms halved, 5.5 ms serial, 2 threads, wall). The cut
// depends on n only, and the threaded kernels give every entry the same operations whatever the
// thread count, so the factor does not depend on it.
constexpr int kCholLeaf = 256;
bool cholesky_rec(int n, double* a, int lda) {
  if (n <= kCholLeaf) return cholesky_blocked(n, a, lda);
  const int n1 = (n / 2 + 31) / 32 * 32, n2 = n - n1;  // A11: (n1 x n1), a multiple of the leaves' tiles
  if (!cholesky_rec(n1, a, lda)) return false;
  double* A21 = a + long(n1) * lda;
  trsm_split(n2, n1, a, lda, A21, lda, 2e5);
  gemm_nt(n2, n2, n1, -1.0, A21, lda, A21, lda, A21 + n1, lda, true, 2e5);
  return cholesky_rec(n2, A21 + n1, lda);
}
}  // namespace

bool cholesky(int n, double* a, int lda) {
  count_flops(cholesky_flops(n), true);
  return cholesky_rec(n, a, lda);
}

namespace {
// 16-wide panels, as the Cholesky leaves: half the inverted-tile work of 32 (5% less CPU time
// at the 234 x 230 solves of the LM blocks).
void trsm_rows(int m, int n, const double* L, int ldl, double* X, int ldx) {
  constexpr int NB = 16;
  for (int j0 = 0; j0 < n; j0 += NB) {
    const int jb = std::min(NB, n - j0);
    if (j0 > 0) gemm_nt(m, jb, j0, -1.0, X, ldx, L + j0 * ldl, ldl, X + j0, ldx, false);
    trsm_panel(m, jb, L + j0 * ldl + j0, ldl, X + j0, ldx);
  }
}
}  // namespace

namespace {
// trsm_rows with whole rows split over the threads when the work (m n^2) reaches min_work.
void trsm_split(int m, int n, const double* L, int ldl, double* X, int ldx, double min_work) {
  if (double(m) * n * n < min_work || num_threads() == 1 || m < 32) {
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
}  // namespace

void trsm_right_lower_t(int m, int n, const double* L, int ldl, double* X, int ldx) {
  count_flops(trsm_flops(m, n), true);
  trsm_split(m, n, L, ldl, X, ldx, 4e6);
}

void transpose_square(int n, double* X, int ldx) {
  const int n8 = n / 8 * 8;
  double t1[64], t2[64];
  for (int i0 = 0; i0 < n8; i0 += 8)
    for (int j0 = i0; j0 < n8; j0 += 8) {  // tiles (i0, j0) and (j0, i0) swap, each transposed
      double* a = X + long(i0) * ldx + j0;
      double* b = X + long(j0) * ldx + i0;
      transpose8x8(a, ldx, t1, 8);
      transpose8x8(b, ldx, t2, 8);
      for (int r = 0; r < 8; ++r) {
        std::memcpy(b + long(r) * ldx, t1 + r * 8, sizeof(double) * 8);
        if (j0 != i0) std::memcpy(a + long(r) * ldx, t2 + r * 8, sizeof(double) * 8);
      }
    }
  for (int i = n8; i < n; ++i)  // the last rows against every column before them
    for (int j = 0; j < i; ++j) std::swap(X[long(i) * ldx + j], X[long(j) * ldx + i]);
}

void dgemv_n(int M, int N, double alpha, const double* A, int lda, const double* x, double* y) {
  count_flops(gemm_flops(M, 1, N), true);
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
