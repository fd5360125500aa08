// Linear algebra of the LatCo solver: fast double kernels against their plain
// references, the block-tridiagonal solve against a dense Cholesky solve, and
// the Riccati LQR optimum against a dense KKT solve of the same problem.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/rng.h"
#include "core/thread_pool.h"
#include "kernels/flops.h"
#include "linalg/block_tridiag.h"
#include "linalg/dense.h"
#include "linalg/riccati.h"
#include "model/analytic_models.h"

using namespace latco;

namespace {

std::vector<double> random_vec(size_t n, Rng rng) {
  std::vector<double> v(n);
  for (auto& x : v) x = rng.normal();
  return v;
}

// A random SPD matrix (n x n): R R^T / n + I.
std::vector<double> random_spd(int n, Rng rng) {
  auto R = random_vec(size_t(n) * n, rng);
  std::vector<double> M(size_t(n) * n, 0.0);
  dgemm_nt_ref(n, n, n, 1.0 / n, R.data(), n, R.data(), n, M.data(), n);
  for (int i = 0; i < n; ++i) M[i * n + i] += 1.0;
  return M;
}

double rel_err(const std::vector<double>& x, const std::vector<double>& ref) {
  double num = 0, den = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    num += (x[i] - ref[i]) * (x[i] - ref[i]);
    den += ref[i] * ref[i];
  }
  return std::sqrt(num / std::max(den, 1e-300));
}

}  // namespace

TEST(Dense, GemmNtMatchesReference) {
  const int sizes[][3] = {{1, 1, 1}, {3, 5, 7}, {4, 4, 8}, {17, 13, 29}, {64, 48, 100}, {130, 70, 234},
                         {25, 33, 600}};  // the last: K over several packed passes
  int case_id = 0;
  for (auto& s : sizes) {
    const int M = s[0], N = s[1], K = s[2], lda = K + 3, ldb = K + 1, ldc = N + 2;
    Rng rng = Rng(7).derive(case_id++);
    auto A = random_vec(size_t(M) * lda, rng.derive(1)), B = random_vec(size_t(N) * ldb, rng.derive(2));
    auto C = random_vec(size_t(M) * ldc, rng.derive(3)), C2 = C;
    dgemm_nt(M, N, K, -0.7, A.data(), lda, B.data(), ldb, C.data(), ldc);
    dgemm_nt_ref(M, N, K, -0.7, A.data(), lda, B.data(), ldb, C2.data(), ldc);
    for (size_t i = 0; i < C.size(); ++i) ASSERT_NEAR(C[i], C2[i], 1e-12 * (1 + std::fabs(C2[i])) * K) << M << N << K;
  }
}

TEST(Dense, SyrkLowerMatchesReference) {
  for (int N : {1, 5, 23, 97}) {
    const int K = N + 11;
    auto A = random_vec(size_t(N) * K, Rng(3).derive(N));
    auto C = random_vec(size_t(N) * N, Rng(4).derive(N)), C2 = C, C0 = C;
    dsyrk_lower(N, K, 2.0, A.data(), K, C.data(), N);
    dgemm_nt_ref(N, N, K, 2.0, A.data(), K, A.data(), K, C2.data(), N);
    for (int i = 0; i < N; ++i)
      for (int j = 0; j < N; ++j) {
        if (j <= i) ASSERT_NEAR(C[i * N + j], C2[i * N + j], 1e-11 * K) << i << "," << j;
        else ASSERT_EQ(C[i * N + j], C0[i * N + j]) << "upper entry written at " << i << "," << j;
      }
  }
}

// C += alpha A^T A from float A in place, whole and by row ranges: the bits of dsyrk_lower on the
// transposed double copy, and the FLOPs of the whole update however the rows are split.
TEST(Dense, SyrkFromFloatTransposeSameBitsAsSyrk) {
  for (int N : {1, 7, 230}) {
    for (int K : {1, 13, 300}) {  // 300: two packed passes
      Rng rng = Rng(5).derive(N * 1000 + K);
      std::vector<float> A(size_t(K) * (N + 3));
      for (auto& x : A) x = rng.normal();
      std::vector<double> At(size_t(N) * K);  // (N, K) = A^T in double
      for (int k = 0; k < K; ++k)
        for (int i = 0; i < N; ++i) At[size_t(i) * K + k] = A[size_t(k) * (N + 3) + i];
      auto C = random_vec(size_t(N) * N, rng.derive(1)), C1 = C, C2 = C;
      dsyrk_lower(N, K, -0.7, At.data(), K, C.data(), N);
      FlopCounter fc;
      dsyrk_lower_tf(N, K, -0.7, A.data(), N + 3, C1.data(), N);
      const double whole = fc.dbl();
      fc.reset();
      const int cut1 = N / 3, cut2 = (2 * N) / 3;  // three row ranges, in a shuffled order
      dsyrk_lower_tf(N, K, -0.7, A.data(), N + 3, C2.data(), N, cut2, -1);
      dsyrk_lower_tf(N, K, -0.7, A.data(), N + 3, C2.data(), N, 0, cut1);
      dsyrk_lower_tf(N, K, -0.7, A.data(), N + 3, C2.data(), N, cut1, cut2);
      EXPECT_EQ(whole, syrk_flops(N, K));
      EXPECT_EQ(fc.dbl(), whole);
      for (size_t i = 0; i < C.size(); ++i) {
        ASSERT_EQ(C1[i], C[i]) << "N " << N << " K " << K << " at " << i;
        ASSERT_EQ(C2[i], C[i]) << "rows split: N " << N << " K " << K << " at " << i;
      }
    }
  }
}

// In-place transpose in 8 x 8 register tiles, with the rows and columns past the last whole tile.
TEST(Dense, TransposeSquareInPlace) {
  for (int n : {1, 7, 8, 17, 234}) {
    const int ld = n + 3;
    auto X = random_vec(size_t(n) * ld, Rng(31).derive(n)), Y = X;
    transpose_square(n, Y.data(), ld);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) ASSERT_EQ(Y[size_t(i) * ld + j], X[size_t(j) * ld + i]) << n << ": " << i << "," << j;
    for (int i = 0; i < n; ++i)
      for (int j = n; j < ld; ++j) ASSERT_EQ(Y[size_t(i) * ld + j], X[size_t(i) * ld + j]) << "padding touched";
  }
}

TEST(Dense, GemmSameBitsOnOneAndTwoThreads) {
  const int M = 234, N = 230, K = 300, ld = K;  // threaded, with edge tiles and two packed passes
  auto A = random_vec(size_t(M) * ld, Rng(21)), B = random_vec(size_t(N) * ld, Rng(22));
  auto run = [&](int threads, bool lower) {
    set_num_threads(threads);
    auto C = random_vec(size_t(M) * M, Rng(23));
    if (lower) dsyrk_lower(M, K, 0.3, A.data(), ld, C.data(), M);
    else dgemm_nt(M, N, K, 0.3, A.data(), ld, B.data(), ld, C.data(), M);
    return C;
  };
  for (bool lower : {false, true}) {
    auto c1 = run(1, lower), c2 = run(2, lower);
    for (size_t i = 0; i < c1.size(); ++i) ASSERT_EQ(c1[i], c2[i]) << "lower " << lower << " at " << i;
  }
  set_num_threads(2);
}

TEST(Dense, BlockedCholeskyAndTrsmMatchReference) {
  for (int n : {1, 2, 31, 32, 33, 100, 234}) {
    auto M = random_spd(n, Rng(11).derive(n));
    auto L1 = M, L2 = M;
    ASSERT_TRUE(cholesky(n, L1.data(), n));
    ASSERT_TRUE(cholesky_ref(n, L2.data(), n));
    for (int i = 0; i < n; ++i)
      for (int j = 0; j <= i; ++j) ASSERT_NEAR(L1[i * n + j], L2[i * n + j], 1e-11) << n;
    // X L^T = B against solving each row with the reference: row x satisfies L x^T = b^T.
    const int m = 9;
    auto X = random_vec(size_t(m) * n, Rng(12).derive(n)), B = X;
    trsm_right_lower_t(m, n, L1.data(), n, X.data(), n);
    for (int r = 0; r < m; ++r) {
      std::vector<double> b(B.begin() + r * n, B.begin() + (r + 1) * n);
      for (int i = 0; i < n; ++i) {  // forward substitution, plain
        double s = b[i];
        for (int k = 0; k < i; ++k) s -= L2[i * n + k] * b[k];
        b[i] = s / L2[i * n + i];
      }
      for (int i = 0; i < n; ++i) ASSERT_NEAR(X[r * n + i], b[i], 1e-9 * (1 + std::fabs(b[i])));
    }
  }
  std::vector<double> bad = {1, 2, 2, 1};  // indefinite
  EXPECT_FALSE(cholesky(2, bad.data(), 2));
}

// cholesky halves n > 256 recursively (300: 160 + 140; 600: 320 = 160 + 160, 280 = 160 + 120), with the
// off-diagonal solve and update split over the threads: the same bits on 1 and 2 threads. Its
// 16 x 16 diagonal tiles are factored right-looking (row axpys) and inverted row by row, and
// trsm solves in 16-wide panels; against the former dot-product order, 32-wide tiles and panels and
// 128-wide leaves, factor entries moved by at most 4.4e-16 (n = 33, 100, 234, 300; entries up to
// 1.5), and trsm results by at most 1.3e-15 (up to 3.1).
TEST(Dense, RecursiveCholeskySameBitsOnOneAndTwoThreads) {
  for (int n : {129, 234, 300, 600}) {
    const auto M = random_spd(n, Rng(31).derive(n));
    auto run = [&](int threads) {
      set_num_threads(threads);
      auto L = M;
      EXPECT_TRUE(cholesky(n, L.data(), n));
      return L;
    };
    const auto l1 = run(1), l2 = run(2);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j <= i; ++j) ASSERT_EQ(l1[i * n + j], l2[i * n + j]) << n << ": " << i << "," << j;
    auto ref = M;
    ASSERT_TRUE(cholesky_ref(n, ref.data(), n));
    for (int i = 0; i < n; ++i)
      for (int j = 0; j <= i; ++j) ASSERT_NEAR(l1[i * n + j], ref[i * n + j], 1e-11) << n;
  }
  set_num_threads(2);
}

// Random SPD block-tridiagonal system: B_t entries small against a well-conditioned D_t.
struct BlockSystem {
  int H, n;
  std::vector<double> D, B;
  BlockSystem(int H_, int n_, uint64_t seed, int zero_cols = 0) : H(H_), n(n_) {
    D.resize(size_t(H) * n * n);
    B.assign(size_t(H) * n * n, 0.0);
    Rng rng(seed);
    for (int t = 0; t < H; ++t) {
      auto Dt = random_spd(n, rng.derive(2 * t));
      for (int i = 0; i < n * n; ++i) D[size_t(t) * n * n + i] = Dt[i] + ((i % (n + 1)) == 0 ? 2.0 : 0.0);
      if (t > 0) {
        Rng rb = rng.derive(2 * t + 1);
        for (int i = 0; i < n; ++i)
          for (int j = 0; j < n; ++j) B[(size_t(t) * n + i) * n + j] = j < zero_cols ? 0.0 : rb.normal() / n;
      }
    }
  }
};

TEST(BlockTridiag, MatchesDenseCholeskySolve) {
  for (int H : {1, 2, 7, 30})
    for (int n : {1, 3, 17}) {
      BlockSystem S(H, n, 100 * H + n);
      const int N = H * n;
      const double damping = 0.25;
      std::vector<double> M(size_t(N) * N);
      block_tridiag_to_dense(H, n, S.D.data(), S.B.data(), damping, M.data());
      auto b = random_vec(N, Rng(5).derive(N));
      auto x_dense = b;
      ASSERT_TRUE(cholesky_ref(N, M.data(), N));
      cholesky_solve_ref(N, M.data(), N, x_dense.data());
      std::vector<double> Lf(S.D.size()), C(S.D.size()), x = b;
      ASSERT_TRUE(block_tridiag_factor(H, n, S.D.data(), S.B.data(), damping, Lf.data(), C.data()));
      block_tridiag_solve(H, n, Lf.data(), C.data(), x.data());
      EXPECT_LT(rel_err(x, x_dense), 1e-10) << "H=" << H << " n=" << n;
    }
}

// The twisted elimination (top and bottom chains meeting at block (H-1)/2) sums in another order than
// a top-down one: the solution stays within rounding of the dense Cholesky solve. Measured at
// n = 100, H = 7 and 8: relative distance about 1e-15, as for the top-down elimination it replaced
// (1.1e-15 to 1.6e-15 at n = 234); the LM's plans, whose float points and accept/reject decisions
// amplify such differences, moved in the 7th digit after 25 iterations at H = 30.
TEST(BlockTridiag, TwistedOrderWithinRoundingOfDense) {
  for (int H : {7, 8}) {
    const int n = 100, N = H * n;
    BlockSystem S(H, n, 500 + H, 4);
    std::vector<double> M(size_t(N) * N);
    block_tridiag_to_dense(H, n, S.D.data(), S.B.data(), 0.25, M.data());
    auto b = random_vec(N, Rng(6).derive(H)), x_dense = b, x = b;
    ASSERT_TRUE(cholesky_ref(N, M.data(), N));
    cholesky_solve_ref(N, M.data(), N, x_dense.data());
    std::vector<double> Lf(S.D.size()), C(S.D.size());
    ASSERT_TRUE(block_tridiag_factor(H, n, S.D.data(), S.B.data(), 0.25, Lf.data(), C.data(), 4));
    block_tridiag_solve(H, n, Lf.data(), C.data(), x.data());
    EXPECT_LT(rel_err(x, x_dense), 1e-14) << "H=" << H;
  }
}

// The solve's FLOPs by hand (H = 3, n = 7; 2 x the multiply-adds, triangular solves as trsm's
// n (n - 1) per row): forward C_t y_{t-1} 2 * 2*49 = 196 and L_t^{-1} 3 * 42 = 126, backward
// C_{t+1}^T x 196 and L_t^{-T} 126: 644.
TEST(BlockTridiag, SolveFlopsByHand) {
  const int H = 3, n = 7;
  std::vector<double> L(size_t(H) * n * n, 0.0), C(L.size(), 0.1), b(H * n, 1.0);
  for (int t = 0; t < H; ++t)
    for (int i = 0; i < n; ++i) L[size_t(t) * n * n + i * n + i] = 2.0;
  FlopCounter fc;
  block_tridiag_solve(H, n, L.data(), C.data(), b.data());
  EXPECT_EQ(fc.dbl(), 644.0);
}

TEST(BlockTridiag, ZeroLeadingColumnsShortcut) {
  const int H = 6, n = 17, zc = 4;
  BlockSystem S(H, n, 77, zc);
  std::vector<double> L1(S.D.size()), C1(S.D.size()), L2(S.D.size()), C2(S.D.size());
  auto b = random_vec(H * n, Rng(8)), x1 = b, x2 = b;
  ASSERT_TRUE(block_tridiag_factor(H, n, S.D.data(), S.B.data(), 0.0, L1.data(), C1.data(), 0));
  ASSERT_TRUE(block_tridiag_factor(H, n, S.D.data(), S.B.data(), 0.0, L2.data(), C2.data(), zc));
  block_tridiag_solve(H, n, L1.data(), C1.data(), x1.data());
  block_tridiag_solve(H, n, L2.data(), C2.data(), x2.data());
  EXPECT_LT(rel_err(x2, x1), 1e-12);
}

TEST(BlockTridiag, SameBitsOnOneAndTwoThreads) {
  const int H = 3, n = 200;  // large enough that the kernels and the row-split solves use both threads
  BlockSystem S(H, n, 9);
  auto solve = [&](int threads) {
    set_num_threads(threads);
    std::vector<double> Lf(S.D.size()), C(S.D.size()), x = random_vec(H * n, Rng(10));
    EXPECT_TRUE(block_tridiag_factor(H, n, S.D.data(), S.B.data(), 1e-3, Lf.data(), C.data()));
    block_tridiag_solve(H, n, Lf.data(), C.data(), x.data());
    return x;
  };
  auto x1 = solve(1), x2 = solve(2);
  set_num_threads(2);
  for (size_t i = 0; i < x1.size(); ++i) ASSERT_EQ(x1[i], x2[i]);
}

// Dense KKT solve of the LQ problem: unknowns [a_0..a_{H-1}, z_1..z_H, multipliers],
// solved by Gaussian elimination with partial pivoting.
static std::vector<double> lq_kkt_actions(const LinearQuadraticModel& m, int H, const float* z0) {
  const int Z = m.latent_dim(), A = m.action_dim(), nx = H * (A + Z), nc = H * Z, N = nx + nc;
  const auto &F = m.F(), &G = m.G(), &L = m.L();
  const double w = m.action_cost();
  std::vector<double> K(size_t(N) * N, 0.0), rhs(N, 0.0);
  auto aidx = [&](int t, int i) { return t * A + i; };
  auto zidx = [&](int t, int i) { return H * A + (t - 1) * Z + i; };  // t = 1..H
  auto at = [&](int r, int c) -> double& { return K[size_t(r) * N + c]; };
  for (int t = 0; t < H; ++t)
    for (int i = 0; i < A; ++i) at(aidx(t, i), aidx(t, i)) = 2 * w;
  for (int t = 1; t <= H; ++t)  // 2 L^T L
    for (int i = 0; i < Z; ++i)
      for (int j = 0; j < Z; ++j) {
        double s = 0;
        for (int k = 0; k < Z; ++k) s += double(L[k * Z + i]) * L[k * Z + j];
        at(zidx(t, i), zidx(t, j)) = 2 * s;
      }
  // Constraint rows c_t: z_{t+1} - F z_t - G a_t = 0 (z_0 term moves to the right side).
  for (int t = 0; t < H; ++t)
    for (int i = 0; i < Z; ++i) {
      const int r = nx + t * Z + i;
      auto put = [&](int c, double v) { at(r, c) += v; at(c, r) += v; };
      put(zidx(t + 1, i), 1.0);
      for (int j = 0; j < A; ++j) put(aidx(t, j), -G[i * A + j]);
      if (t > 0)
        for (int j = 0; j < Z; ++j) put(zidx(t, j), -F[i * Z + j]);
      else
        for (int j = 0; j < Z; ++j) rhs[r] += F[i * Z + j] * double(z0[j]);
    }
  for (int c = 0; c < N; ++c) {  // elimination with partial pivoting
    int p = c;
    for (int r = c + 1; r < N; ++r)
      if (std::fabs(at(r, c)) > std::fabs(at(p, c))) p = r;
    if (p != c) {
      for (int k = 0; k < N; ++k) std::swap(at(c, k), at(p, k));
      std::swap(rhs[c], rhs[p]);
    }
    for (int r = c + 1; r < N; ++r) {
      const double f = at(r, c) / at(c, c);
      if (f == 0) continue;
      for (int k = c; k < N; ++k) at(r, k) -= f * at(c, k);
      rhs[r] -= f * rhs[c];
    }
  }
  std::vector<double> x(N);
  for (int r = N - 1; r >= 0; --r) {
    double s = rhs[r];
    for (int k = r + 1; k < N; ++k) s -= at(r, k) * x[k];
    x[r] = s / at(r, r);
  }
  return std::vector<double>(x.begin(), x.begin() + H * A);
}

TEST(Riccati, MatchesDenseKktSolve) {
  for (int H : {1, 4, 12}) {
    auto m = LinearQuadraticModel::random(5, 2, 40 + H, 0.1f);
    std::vector<float> z0 = {1.0f, -0.5f, 0.3f, 0.8f, -1.2f};
    auto sol = lqr_riccati(5, 2, H, m.F().data(), m.G().data(), m.L().data(), m.action_cost(), z0.data());
    auto a_kkt = lq_kkt_actions(m, H, z0.data());
    EXPECT_LT(rel_err(sol.actions, a_kkt), 1e-9) << "H=" << H;
    const double c_kkt = lqr_cost(5, 2, H, m.F().data(), m.G().data(), m.L().data(), m.action_cost(), z0.data(),
                                  a_kkt.data());
    EXPECT_NEAR(sol.cost, c_kkt, 1e-9 * c_kkt);
    const double c_roll = lqr_cost(5, 2, H, m.F().data(), m.G().data(), m.L().data(), m.action_cost(), z0.data(),
                                   sol.actions.data());
    EXPECT_NEAR(sol.cost, c_roll, 1e-9 * c_roll);
    // Any perturbation of the optimum costs more.
    auto a = sol.actions;
    a[0] += 1e-3;
    EXPECT_GT(lqr_cost(5, 2, H, m.F().data(), m.G().data(), m.L().data(), m.action_cost(), z0.data(), a.data()),
              c_roll);
  }
}
