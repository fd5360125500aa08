// Fast SGEMM: packed panels, cache blocking, an AVX-512 register-blocked micro-kernel
// (plain-loop fallback without AVX-512), threads over (row block, column chunk) tiles.
// Leaves out: other precisions, AVX2-tuned kernels, runtime CPU dispatch (-march decides).
//
// Loop nest (BLIS order):  for jc (NC cols) / for pc (KC deep) : pack B block (KC x NC), shared
//                            tasks over (ic: MC rows) x (column chunk): pack A block (MC x KC)
//                              for jr (NR cols) / for ir (MR rows): micro-kernel MR x NR
// Each C element is summed in ascending k by the same arithmetic whatever thread computes it,
// so results are bitwise identical for any thread count.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>

#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/gemm.h"

namespace latco {
namespace {

constexpr int MR = 12;    // micro-tile rows (broadcast from packed A)
constexpr int NR = 32;    // micro-tile columns (two 16-float vectors of packed B)
constexpr int KC = 256;   // depth of a packed block: the B micro-panel (KC x NR) stays in L1
constexpr int MC = 144;   // rows of a packed A block (MC x KC, in L2)
constexpr int NC = 3072;  // columns of a packed B block (KC x NC, in L2/L3)
constexpr double kDirectWork = 32768.0;  // M*N*K below this: direct loops, no packing

// A growable 64-byte aligned scratch buffer, one per thread (packing reuses it across calls).
struct Scratch {
  float* p = nullptr;
  size_t n = 0;
  float* get(size_t m) {
    if (m > n) {
      std::free(p);
      n = (m + 15) / 16 * 16;
      p = static_cast<float*>(std::aligned_alloc(64, n * sizeof(float)));
      LATCO_CHECK(p) << "sgemm: cannot allocate " << n * sizeof(float) << " bytes of packing space";
    }
    return p;
  }
  ~Scratch() { std::free(p); }
};
thread_local Scratch t_pack_a, t_pack_b;

// ----- packing -----
// Ap: ceil(mc/MR) panels, each (kc x MR): Ap[k*MR + r] = alpha * op(A)(i0+r, k0+k), zero past M.
void pack_a(bool ta, const float* A, int lda, int i0, int mc, int k0, int kc, float alpha, float* Ap) {
  for (int p = 0; p < mc; p += MR, Ap += (size_t)kc * MR) {
    int mr = std::min(MR, mc - p);
    if (ta) {  // op(A)(i,k) = A[k*lda + i]: rows of the panel are contiguous per k
      for (int k = 0; k < kc; ++k) {
        const float* src = A + (size_t)(k0 + k) * lda + i0 + p;
        float* dst = Ap + (size_t)k * MR;
        for (int r = 0; r < mr; ++r) dst[r] = alpha * src[r];
        for (int r = mr; r < MR; ++r) dst[r] = 0.0f;
      }
    } else {  // op(A)(i,k) = A[i*lda + k]
      for (int r = 0; r < mr; ++r) {
        const float* src = A + (size_t)(i0 + p + r) * lda + k0;
        for (int k = 0; k < kc; ++k) Ap[(size_t)k * MR + r] = alpha * src[k];
      }
      for (int r = mr; r < MR; ++r)
        for (int k = 0; k < kc; ++k) Ap[(size_t)k * MR + r] = 0.0f;
    }
  }
}

// Bp: ceil(nc/NR) panels, each (kc x NR): Bp[k*NR + c] = op(B)(k0+k, j0+c), zero past N.
void pack_b_panel(bool tb, const float* B, int ldb, int k0, int kc, int j0, int nr, float* Bp) {
  if (!tb) {  // op(B)(k,j) = B[k*ldb + j]: contiguous per k
    for (int k = 0; k < kc; ++k) {
      const float* src = B + (size_t)(k0 + k) * ldb + j0;
      float* dst = Bp + (size_t)k * NR;
      for (int c = 0; c < nr; ++c) dst[c] = src[c];
      for (int c = nr; c < NR; ++c) dst[c] = 0.0f;
    }
  } else {  // op(B)(k,j) = B[j*ldb + k]
    for (int c = 0; c < nr; ++c) {
      const float* src = B + (size_t)(j0 + c) * ldb + k0;
      for (int k = 0; k < kc; ++k) Bp[(size_t)k * NR + c] = src[k];
    }
    for (int c = nr; c < NR; ++c)
      for (int k = 0; k < kc; ++k) Bp[(size_t)k * NR + c] = 0.0f;
  }
}

// ----- micro-kernel -----
// C (MR x NR, row stride ldc) = acc + beta * C, acc = sum_k Ap[k,:]^T Bp[k,:]; beta == 0 never reads C.
#ifdef __AVX512F__
void micro_kernel(int kc, const float* __restrict Ap, const float* __restrict Bp, float* C, int ldc, float beta) {
  __m512 acc[MR][2];
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (int k = 0; k < kc; ++k) {
    __m512 b0 = _mm512_load_ps(Bp), b1 = _mm512_load_ps(Bp + 16);
    _mm_prefetch(reinterpret_cast<const char*>(Bp + 8 * NR), _MM_HINT_T0);
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
      __m512 a = _mm512_set1_ps(Ap[r]);
      acc[r][0] = _mm512_fmadd_ps(a, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(a, b1, acc[r][1]);
    }
    Ap += MR;
    Bp += NR;
  }
  if (beta == 0.0f) {
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
      _mm512_storeu_ps(C + (size_t)r * ldc, acc[r][0]);
      _mm512_storeu_ps(C + (size_t)r * ldc + 16, acc[r][1]);
    }
  } else {
    __m512 vb = _mm512_set1_ps(beta);
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
      float* c = C + (size_t)r * ldc;
      _mm512_storeu_ps(c, _mm512_fmadd_ps(vb, _mm512_loadu_ps(c), acc[r][0]));
      _mm512_storeu_ps(c + 16, _mm512_fmadd_ps(vb, _mm512_loadu_ps(c + 16), acc[r][1]));
    }
  }
}
#else
void micro_kernel(int kc, const float* __restrict Ap, const float* __restrict Bp, float* C, int ldc, float beta) {
  float acc[MR][NR] = {};
  for (int k = 0; k < kc; ++k, Ap += MR, Bp += NR)
    for (int r = 0; r < MR; ++r)
      for (int c = 0; c < NR; ++c) acc[r][c] = std::fma(Ap[r], Bp[c], acc[r][c]);
  for (int r = 0; r < MR; ++r)
    for (int c = 0; c < NR; ++c)
      C[(size_t)r * ldc + c] = beta == 0.0f ? acc[r][c] : std::fma(beta, C[(size_t)r * ldc + c], acc[r][c]);
}
#endif

// A partial tile (mr x nr < MR x NR): the full kernel into a scratch tile, then the same
// final fma into C, so an element's value never depends on which tile it fell in.
void edge_kernel(int kc, const float* Ap, const float* Bp, float* C, int ldc, float beta, int mr, int nr) {
  alignas(64) float tile[MR * NR];
  micro_kernel(kc, Ap, Bp, tile, NR, 0.0f);
  for (int r = 0; r < mr; ++r)
    for (int c = 0; c < nr; ++c) {
      float& dst = C[(size_t)r * ldc + c];
      dst = beta == 0.0f ? tile[r * NR + c] : std::fma(beta, dst, tile[r * NR + c]);
    }
}

// ----- blocked path -----
void sgemm_blocked(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
                   int ldb, float beta, float* C, int ldc) {
  // Row blocks of near-equal size (a multiple of MR), so threads get balanced tiles.
  const int mblocks = (M + MC - 1) / MC;
  const int mc_blk = ((M + mblocks - 1) / mblocks + MR - 1) / MR * MR;
  for (int jc = 0; jc < N; jc += NC) {
    const int nc = std::min(NC, N - jc);
    const int npanels = (nc + NR - 1) / NR;
    // Column chunks: enough tasks to balance threads, each chunk at least 4 panels wide.
    int nchunks = std::max(1, std::min(npanels / 4, (8 + mblocks - 1) / mblocks));
    const int chunk_panels = (npanels + nchunks - 1) / nchunks;
    nchunks = (npanels + chunk_panels - 1) / chunk_panels;
    for (int pc = 0; pc < K; pc += KC) {
      const int kc = std::min(KC, K - pc);
      const float beta_blk = pc == 0 ? beta : 1.0f;
      float* Bp = t_pack_b.get((size_t)npanels * kc * NR);
      parallel_for(npanels, [&](int64_t q0, int64_t q1) {
        for (int64_t q = q0; q < q1; ++q)
          pack_b_panel(tb, B, ldb, pc, kc, jc + (int)q * NR, std::min(NR, nc - (int)q * NR), Bp + q * kc * NR);
      }, 4);
      parallel_tasks((int64_t)mblocks * nchunks, [&](int64_t t) {
        const int ic = (int)(t / nchunks) * mc_blk, chunk = (int)(t % nchunks);
        if (ic >= M) return;
        const int mc = std::min(mc_blk, M - ic);
        float* Ap = t_pack_a.get((size_t)(mc + MR - 1) / MR * MR * kc);
        pack_a(ta, A, lda, ic, mc, pc, kc, alpha, Ap);
        const int q_end = std::min(npanels, (chunk + 1) * chunk_panels);
        for (int q = chunk * chunk_panels; q < q_end; ++q) {
          const int j = jc + q * NR, nr = std::min(NR, N - j);
          const float* bp = Bp + (size_t)q * kc * NR;
          for (int ir = 0; ir < mc; ir += MR) {
            const int mr = std::min(MR, mc - ir);
            const float* ap = Ap + (size_t)ir * kc;
            float* c = C + (size_t)(ic + ir) * ldc + j;
            if (mr == MR && nr == NR)
              micro_kernel(kc, ap, bp, c, ldc, beta_blk);
            else
              edge_kernel(kc, ap, bp, c, ldc, beta_blk, mr, nr);
          }
        }
      });
    }
  }
}

// ----- direct path (small or skinny products) -----
// C[i0:i1, j0:j1] = alpha * op(A) op(B) + beta * C. Every element follows the same arithmetic
// wherever the range starts, so splitting ranges over threads never changes a bit.
float dot_direct(const float* a, const float* b, int K) {  // sum_k a[k] b[k], fixed order
#ifdef __AVX512F__
  __m512 acc = _mm512_setzero_ps();
  int k = 0;
  for (; k + 16 <= K; k += 16) acc = _mm512_fmadd_ps(_mm512_loadu_ps(a + k), _mm512_loadu_ps(b + k), acc);
  if (k < K) {
    __mmask16 m = (__mmask16)((1u << (K - k)) - 1);
    acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + k), _mm512_maskz_loadu_ps(m, b + k), acc);
  }
  alignas(64) float t[16];
  _mm512_store_ps(t, acc);
  for (int w = 8; w >= 1; w /= 2)  // pairwise, fixed order
    for (int l = 0; l < w; ++l) t[l] += t[l + w];
  return t[0];
#else
  float acc = 0.0f;
  for (int k = 0; k < K; ++k) acc = std::fma(a[k], b[k], acc);
  return acc;
#endif
}

void sgemm_direct(bool ta, bool tb, int i0, int i1, int j0, int j1, int K, float alpha, const float* A, int lda,
                  const float* B, int ldb, float beta, float* C, int ldc, float* arow) {
  for (int i = i0; i < i1; ++i) {
    float* c = C + (size_t)i * ldc;
    for (int k = 0; k < K; ++k) arow[k] = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];  // a(i, :)
    if (!tb) {  // row i of C = sum_k a(i,k) * B[k, :], vectorised across j, ascending k
      int j = j0;
#ifdef __AVX512F__
      for (; j + 16 <= j1; j += 16) {
        __m512 acc = _mm512_setzero_ps();
        for (int k = 0; k < K; ++k)
          acc = _mm512_fmadd_ps(_mm512_set1_ps(arow[k]), _mm512_loadu_ps(B + (size_t)k * ldb + j), acc);
        acc = _mm512_mul_ps(_mm512_set1_ps(alpha), acc);
        if (beta != 0.0f) acc = _mm512_fmadd_ps(_mm512_set1_ps(beta), _mm512_loadu_ps(c + j), acc);
        _mm512_storeu_ps(c + j, acc);
      }
#endif
      for (; j < j1; ++j) {
        float acc = 0.0f;
        for (int k = 0; k < K; ++k) acc = std::fma(arow[k], B[(size_t)k * ldb + j], acc);
        c[j] = beta == 0.0f ? alpha * acc : std::fma(beta, c[j], alpha * acc);
      }
    } else {  // C(i,j) = a(i,:) . B[j, :]
      for (int j = j0; j < j1; ++j) {
        float acc = dot_direct(arow, B + (size_t)j * ldb, K);
        c[j] = beta == 0.0f ? alpha * acc : std::fma(beta, c[j], alpha * acc);
      }
    }
  }
}

void check_args(bool ta, bool tb, int M, int N, int K, int lda, int ldb, int ldc, const char* op) {
  LATCO_CHECK(M >= 0 && N >= 0 && K >= 0) << op << ": negative size M=" << M << " N=" << N << " K=" << K;
  LATCO_CHECK(lda >= std::max(1, ta ? M : K)) << op << ": lda " << lda << " < " << (ta ? "M" : "K") << " = "
                                              << (ta ? M : K);
  LATCO_CHECK(ldb >= std::max(1, tb ? K : N)) << op << ": ldb " << ldb << " < " << (tb ? "K" : "N") << " = "
                                              << (tb ? K : N);
  LATCO_CHECK(ldc >= std::max(1, N)) << op << ": ldc " << ldc << " < N = " << N;
}

}  // namespace

void sgemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
           float beta, float* C, int ldc) {
  check_args(ta, tb, M, N, K, lda, ldb, ldc, "sgemm");
  if (M == 0 || N == 0) return;
  if (K == 0 || alpha == 0.0f) {  // C = beta * C; A and B are not read
    for (int i = 0; i < M; ++i)
      for (int j = 0; j < N; ++j) C[(size_t)i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[(size_t)i * ldc + j];
    return;
  }
  const double work = (double)M * N * K;
  if (work < kDirectWork || M < 4) {
    // Small: one pass. Few rows (packing would cost as much as the product): column blocks over threads.
    const int64_t jblocks = work < kDirectWork ? 1 : (N + 63) / 64;
    parallel_for(jblocks, [&](int64_t b0, int64_t b1) {
      float* arow = t_pack_a.get(K);
      const int j0 = (int)(b0 * 64), j1 = b1 == jblocks ? N : (int)(b1 * 64);
      sgemm_direct(ta, tb, 0, M, j0, j1, K, alpha, A, lda, B, ldb, beta, C, ldc, arow);
    });
  } else {
    sgemm_blocked(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  }
}

void sgemm_batched(int batch, bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda,
                   long sa, const float* B, int ldb, long sb, float beta, float* C, int ldc, long sc) {
  LATCO_CHECK(batch >= 0) << "sgemm_batched: negative batch " << batch;
  check_args(ta, tb, M, N, K, lda, ldb, ldc, "sgemm_batched");
  // Small products: one matrix per task (each sgemm then runs serially inside its task).
  if ((double)M * N * K < (1 << 21) && batch > 1) {
    parallel_tasks(batch, [&](int64_t b) {
      sgemm(ta, tb, M, N, K, alpha, A + b * sa, lda, B + b * sb, ldb, beta, C + b * sc, ldc);
    });
  } else {
    for (int b = 0; b < batch; ++b)
      sgemm(ta, tb, M, N, K, alpha, A + (size_t)b * sa, lda, B + (size_t)b * sb, ldb, beta, C + (size_t)b * sc,
            ldc);
  }
}

}  // namespace latco
