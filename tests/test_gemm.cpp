// SGEMM: the fast kernel against the plain triple loop over odd sizes (direct, skinny and
// blocked paths, several K and N blocks), all transpose combinations, alpha/beta, NaN in C
// with beta == 0, padded row strides, 1 and 2 threads (bitwise equal), and the batched form.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "core/thread_pool.h"
#include "kernels/gemm.h"

using namespace latco;

namespace {

std::vector<float> random_vec(size_t n, uint64_t seed) {
  Rng r(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = r.uniform(-1.0f, 1.0f);
  return v;
}

// A problem with stored matrices padded to row strides larger than their widths.
struct Problem {
  bool ta, tb;
  int M, N, K, lda, ldb, ldc;
  std::vector<float> A, B, C0;
  Problem(bool ta_, bool tb_, int M_, int N_, int K_, int pad, uint64_t seed) : ta(ta_), tb(tb_), M(M_), N(N_), K(K_) {
    int a_rows = ta ? K : M, a_cols = ta ? M : K, b_rows = tb ? N : K, b_cols = tb ? K : N;
    lda = a_cols + pad, ldb = b_cols + 2 * pad, ldc = N + 3 * pad;
    A = random_vec((size_t)a_rows * lda, seed);
    B = random_vec((size_t)b_rows * ldb, seed + 1);
    C0 = random_vec((size_t)M * ldc, seed + 2);
  }
  std::vector<float> run(bool fast, float alpha, float beta, bool nan_c = false) const {
    std::vector<float> C = C0;
    if (nan_c)
      for (int i = 0; i < M; ++i)
        for (int j = 0; j < N; ++j) C[(size_t)i * ldc + j] = NAN;
    (fast ? sgemm : sgemm_ref)(ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
    return C;
  }
};

// |got - want| <= atol + rtol |want| with atol growing with K (float sums vs the double reference);
// padding between rows must be untouched (compared exactly).
void expect_close(const std::vector<float>& got, const std::vector<float>& want, int K, const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  const float atol = 1e-5f + 1e-6f * K, rtol = 1e-5f;
  int bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    bool ok = std::fabs(got[i] - want[i]) <= atol + rtol * std::fabs(want[i]);
    if (!ok && bad++ < 5) ADD_FAILURE() << what << " [" << i << "]: got " << got[i] << ", want " << want[i];
  }
  EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << got.size() << " entries differ";
}

struct ThreadGuard {
  int saved = num_threads();
  ~ThreadGuard() { set_num_threads(saved); }
};

// (M, N, K): skinny M < 4 (direct path), exact micro-tiles, odd edges, B read in place (one
// row block), several KC / MC blocks (K > 256, M > 144), two NC blocks (N > 3072), and few
// tiles over a long K (the K-split path).
const int kSizes[][3] = {{1, 1, 1},     {7, 13, 5},    {33, 65, 17},   {130, 70, 257}, {14, 32, 256},
                         {13, 33, 300}, {3, 1000, 50}, {1, 77, 1000},  {500, 3, 40},   {200, 301, 530},
                         {150, 3100, 20}, {37, 29, 1}, {20, 40, 9000}, {24, 50, 70}};
const float kAlphaBeta[][2] = {{1.0f, 0.0f}, {0.5f, -2.0f}, {-1.5f, 1.0f}};

}  // namespace

TEST(Gemm, MatchesReferenceAllTransposesAlphaBeta) {
  ThreadGuard guard;
  set_num_threads(2);
  int pad = 0;
  for (const auto& sz : kSizes)
    for (int t = 0; t < 4; ++t) {
      Problem p(t & 1, t & 2, sz[0], sz[1], sz[2], pad++ % 3, 100 + t);
      for (const auto& ab : kAlphaBeta) {
        std::string what = "M,N,K=" + std::to_string(p.M) + "," + std::to_string(p.N) + "," + std::to_string(p.K) +
                           " ta=" + std::to_string(p.ta) + " tb=" + std::to_string(p.tb) +
                           " alpha=" + std::to_string(ab[0]) + " beta=" + std::to_string(ab[1]);
        expect_close(p.run(true, ab[0], ab[1]), p.run(false, ab[0], ab[1]), p.K, what);
      }
    }
}

TEST(Gemm, BetaZeroIgnoresNaNInC) {
  for (const auto& sz : kSizes) {
    Problem p(false, true, sz[0], sz[1], sz[2], 1, 7);
    std::vector<float> got = p.run(true, 0.75f, 0.0f, /*nan_c=*/true);
    for (int i = 0; i < p.M; ++i)
      for (int j = 0; j < p.N; ++j) ASSERT_FALSE(std::isnan(got[(size_t)i * p.ldc + j])) << i << "," << j;
    expect_close(got, p.run(false, 0.75f, 0.0f, true), p.K, "NaN C, beta 0");
  }
}

TEST(Gemm, AlphaZeroAndEmptyK) {
  Problem p(false, false, 9, 11, 6, 2, 3);
  std::vector<float> A_nan(p.A.size(), NAN);
  std::vector<float> C = p.C0, want = p.C0;
  sgemm(false, false, p.M, p.N, p.K, 0.0f, A_nan.data(), p.lda, p.B.data(), p.ldb, 2.0f, C.data(), p.ldc);
  sgemm_ref(false, false, p.M, p.N, 0, 1.0f, p.A.data(), p.lda, p.B.data(), p.ldb, 2.0f, want.data(), p.ldc);
  EXPECT_EQ(C, want);  // C = 2 C exactly; A is not read
  C = p.C0;
  sgemm(false, false, p.M, p.N, 0, 1.0f, p.A.data(), p.lda, p.B.data(), p.ldb, 2.0f, C.data(), p.ldc);
  EXPECT_EQ(C, want);
}

TEST(Gemm, BadStridesThrow) {
  std::vector<float> buf(64);
  EXPECT_THROW(sgemm(false, false, 4, 4, 4, 1, buf.data(), 3, buf.data(), 4, 0, buf.data(), 4), Error);
  EXPECT_THROW(sgemm(false, true, 4, 5, 3, 1, buf.data(), 3, buf.data(), 2, 0, buf.data(), 5), Error);
  EXPECT_THROW(sgemm(false, false, 4, 4, 4, 1, buf.data(), 4, buf.data(), 4, 0, buf.data(), 3), Error);
}

TEST(Gemm, BitwiseEqualOnOneAndTwoThreads) {
  ThreadGuard guard;
  for (const auto& sz : kSizes)
    for (int t = 0; t < 4; ++t) {
      Problem p(t & 1, t & 2, sz[0], sz[1], sz[2], 1, 50 + t);
      set_num_threads(1);
      std::vector<float> one = p.run(true, 1.25f, 0.5f);
      set_num_threads(2);
      std::vector<float> two = p.run(true, 1.25f, 0.5f);
      EXPECT_EQ(one, two) << "M,N,K=" << p.M << "," << p.N << "," << p.K << " ta=" << p.ta << " tb=" << p.tb;
    }
}

TEST(Gemm, BatchedMatchesPerMatrixReference) {
  ThreadGuard guard;
  // Small matrices (parallel over the batch) and large ones (parallel inside each product).
  const int cases[][4] = {{6, 5, 7, 3}, {3, 20, 33, 18}, {2, 150, 140, 300}};
  for (const auto& cs : cases)
    for (int t = 0; t < 4; ++t) {
      const int batch = cs[0], M = cs[1], N = cs[2], K = cs[3];
      const bool ta = t & 1, tb = t & 2;
      const int lda = (ta ? M : K) + 1, ldb = (tb ? K : N) + 2, ldc = N + 1;
      const long sa = (long)(ta ? K : M) * lda + 5, sb = (long)(tb ? N : K) * ldb + 3, sc = (long)M * ldc + 7;
      auto A = random_vec(batch * sa, 1), B = random_vec(batch * sb, 2), C0 = random_vec(batch * sc, 3);
      auto want = C0;
      for (int b = 0; b < batch; ++b)
        sgemm_ref(ta, tb, M, N, K, 0.5f, A.data() + b * sa, lda, B.data() + b * sb, ldb, -1.0f, want.data() + b * sc,
                  ldc);
      std::vector<std::vector<float>> got;
      for (int threads = 1; threads <= 2; ++threads) {
        set_num_threads(threads);
        auto C = C0;
        sgemm_batched(batch, ta, tb, M, N, K, 0.5f, A.data(), lda, sa, B.data(), ldb, sb, -1.0f, C.data(), ldc, sc);
        got.push_back(C);
      }
      std::string what = "batched " + std::to_string(batch) + "x(" + std::to_string(M) + "," + std::to_string(N) +
                         "," + std::to_string(K) + ") t=" + std::to_string(t);
      expect_close(got[0], want, K, what);
      EXPECT_EQ(got[0], got[1]) << what << ": 1 and 2 threads differ";
    }
}
