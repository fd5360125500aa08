// Fast SGEMM: packed panels, cache blocking, an AVX-512 register-blocked micro-kernel
// (plain-loop fallback without AVX-512), threads over (row block, column chunk) tiles.
// Leaves out: other precisions, AVX2-tuned kernels, runtime CPU dispatch (-march decides).
//
// Loop nest (BLIS order):  for jc (NC cols) / for pc (KC deep) : pack B block (KC x NC), shared
//                            tasks over (ic: MC rows) x (column chunk): pack A block (MC x KC)
//                              for jr (NR cols) / for ir (MR rows): micro-kernel MR x NR
// MR is 14, or 10..13 when that pads a small M to fewer rows.
// With a single row block, B is read in place instead of packed. Fewer than 4 rows take a
// direct (gemv-like) path; few tiles over a long K split K into a fixed number of slices.
// Each C element is summed by the same arithmetic whatever thread computes it, so results
// are bitwise identical for any thread count.
#ifdef __AVX512F__
#include <immintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>

#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/flops.h"
#include "kernels/gemm.h"
#include "kernels/scratch.h"

namespace latco {
namespace {

constexpr int kMaxMR = 14;  // micro-tile rows (broadcast from packed A); small M may use 10..13
constexpr int NR = 32;      // micro-tile columns (two 16-float vectors of packed B)
constexpr int KC = 256;     // depth of a packed block: the B micro-panel (KC x NR) stays in L1
constexpr int MC = 144;     // rows of a packed A block (MC x KC, in L2)
constexpr int NC = 3072;    // columns of a packed B block (KC x NC, in L2/L3)
constexpr int kDirectRows = 4;           // M below this: direct loops, no packing (packing would cost
                                         // as much as the product); the blocked path wins from 4x8x8 up
constexpr double kSerialWork = 32768.0;  // M*N*K below this: direct loops on one thread

thread_local Scratch t_pack_a("sgemm"), t_pack_b("sgemm");

#ifdef __AVX512F__
inline __mmask16 lanes(int n) {  // the first n of 16 lanes
  return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

// Full-mask "maskz" forms of the shuffles: the same instructions, but GCC 12's plain forms
// warn about their undefined pass-through operand.
constexpr __mmask16 kAll16 = 0xFFFF;
constexpr __mmask8 kAll8 = 0xFF;
inline __m512 unpacklo_ps(__m512 a, __m512 b) { return _mm512_maskz_unpacklo_ps(kAll16, a, b); }
inline __m512 unpackhi_ps(__m512 a, __m512 b) { return _mm512_maskz_unpackhi_ps(kAll16, a, b); }
inline __m512d unpacklo_pd(__m512d a, __m512d b) { return _mm512_maskz_unpacklo_pd(kAll8, a, b); }
inline __m512d unpackhi_pd(__m512d a, __m512d b) { return _mm512_maskz_unpackhi_pd(kAll8, a, b); }
template <int kImm>
inline __m512 shuffle_f32x4(__m512 a, __m512 b) { return _mm512_maskz_shuffle_f32x4(kAll16, a, b, kImm); }

// In-register transpose: r[i] lane j  <-  r[j] lane i.
inline void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {  // r[4i+q], 128-bit lane L: column 4L+q of rows 4i..4i+3
    __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
    __m512d c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
    r[4 * i] = _mm512_castpd_ps(unpacklo_pd(a, c));
    r[4 * i + 1] = _mm512_castpd_ps(unpackhi_pd(a, c));
    r[4 * i + 2] = _mm512_castpd_ps(unpacklo_pd(b, d));
    r[4 * i + 3] = _mm512_castpd_ps(unpackhi_pd(b, d));
  }
  for (int q = 0; q < 4; ++q) {
    t[q] = shuffle_f32x4<0x88>(r[q], r[4 + q]);
    t[4 + q] = shuffle_f32x4<0xdd>(r[q], r[4 + q]);
    t[8 + q] = shuffle_f32x4<0x88>(r[8 + q], r[12 + q]);
    t[12 + q] = shuffle_f32x4<0xdd>(r[8 + q], r[12 + q]);
  }
  for (int q = 0; q < 4; ++q) {
    r[q] = shuffle_f32x4<0x88>(t[q], t[8 + q]);
    r[8 + q] = shuffle_f32x4<0xdd>(t[q], t[8 + q]);
    r[4 + q] = shuffle_f32x4<0x88>(t[4 + q], t[12 + q]);
    r[12 + q] = shuffle_f32x4<0xdd>(t[4 + q], t[12 + q]);
  }
}

// dst[k*ld_dst + r] = scale * src[r*ld_src + k] for r < rows (<= 16), k < kc; lanes r >= rows
// of each dst row are written as zero up to `width` (<= 16).
inline void pack_transposed(const float* src, int64_t ld_src, int rows, int kc, float scale, float* dst,
                            int ld_dst, int width) {
  const __m512 vs = _mm512_set1_ps(scale);
  const __mmask16 wmask = lanes(width);
  for (int k0 = 0; k0 < kc; k0 += 16) {
    const int kn = std::min(16, kc - k0);
    const __mmask16 kmask = lanes(kn);
    __m512 r[16];
    for (int i = 0; i < 16; ++i)
      r[i] = i < rows ? _mm512_mul_ps(vs, _mm512_maskz_loadu_ps(kmask, src + i * ld_src + k0)) : _mm512_setzero_ps();
    transpose16(r);
    for (int k = 0; k < kn; ++k) _mm512_mask_storeu_ps(dst + (int64_t)(k0 + k) * ld_dst, wmask, r[k]);
  }
}
#endif

// ----- packing -----
// Ap: ceil(mc/MR) panels, each (kc x MR): Ap[k*MR + r] = alpha * op(A)(i0+r, k0+k), zero past M.
template <int MR>
void pack_a(bool ta, const float* A, int lda, int i0, int mc, int k0, int kc, float alpha, float* Ap) {
  for (int p = 0; p < mc; p += MR, Ap += (size_t)kc * MR) {
    const int mr = std::min(MR, mc - p);
#ifdef __AVX512F__
    if (ta) {  // op(A)(i,k) = A[k*lda + i]: the panel's rows are contiguous per k
      const __m512 va = _mm512_set1_ps(alpha);
      const __mmask16 m = lanes(mr);
      const float* src = A + (size_t)k0 * lda + i0 + p;
      for (int k = 0; k < kc; ++k, src += lda)
        _mm512_mask_storeu_ps(Ap + (size_t)k * MR, lanes(MR), _mm512_mul_ps(va, _mm512_maskz_loadu_ps(m, src)));
    } else {  // op(A)(i,k) = A[i*lda + k]: transpose 16-deep slices of the panel's rows
      pack_transposed(A + (size_t)(i0 + p) * lda + k0, lda, mr, kc, alpha, Ap, MR, MR);
    }
#else
    for (int k = 0; k < kc; ++k)
      for (int r = 0; r < MR; ++r)
        Ap[(size_t)k * MR + r] =
            r < mr ? alpha * (ta ? A[(size_t)(k0 + k) * lda + i0 + p + r] : A[(size_t)(i0 + p + r) * lda + k0 + k])
                   : 0.0f;
#endif
  }
}

// Bp (kc x NR): Bp[k*NR + c] = op(B)(k0+k, j0+c) for c < nr, zero past it.
void pack_b_panel(bool tb, const float* B, int ldb, int k0, int kc, int j0, int nr, float* Bp) {
#ifdef __AVX512F__
  if (!tb) {  // op(B)(k,j) = B[k*ldb + j]: contiguous per k
    const __mmask16 m0 = lanes(nr), m1 = lanes(nr - 16);
    const float* src = B + (size_t)k0 * ldb + j0;
    for (int k = 0; k < kc; ++k, src += ldb) {
      _mm512_store_ps(Bp + (size_t)k * NR, _mm512_maskz_loadu_ps(m0, src));
      _mm512_store_ps(Bp + (size_t)k * NR + 16, _mm512_maskz_loadu_ps(m1, src + 16));
    }
  } else {  // op(B)(k,j) = B[j*ldb + k]: transpose 16 columns at a time
    for (int h = 0; h < NR; h += 16)
      pack_transposed(B + (size_t)(j0 + h) * ldb + k0, ldb, std::max(0, std::min(16, nr - h)), kc, 1.0f, Bp + h,
                      NR, 16);
  }
#else
  for (int k = 0; k < kc; ++k)
    for (int c = 0; c < NR; ++c)
      Bp[(size_t)k * NR + c] =
          c < nr ? (tb ? B[(size_t)(j0 + c) * ldb + k0 + k] : B[(size_t)(k0 + k) * ldb + j0 + c]) : 0.0f;
#endif
}

// ----- micro-kernel -----
// C[0:mr, 0:nr] = acc + beta * C (beta == 0 never reads C), acc (MR x NR) = sum_k Ap[k,:]^T Bp[k,:],
// Ap: packed (kc x MR); Bp: (kc x NR) with row stride ldbp, either a packed panel (zero-padded)
// or op(B) itself; kMaskB reads only its first nr columns. Edge tiles run the same FMAs as full
// ones, so an element's value never depends on the tile it fell in.
#ifdef __AVX512F__
template <int MR, bool kMaskB, bool kPrefetch>
void micro_kernel(int kc, const float* __restrict Ap, const float* __restrict Bp, int64_t ldbp, float* C, int ldc,
                  float beta, int mr, int nr, const float* pf) {
  const __mmask16 m0 = lanes(nr), m1 = lanes(nr - 16);
  __m512 acc[MR][2];
#pragma GCC unroll 14
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (int k = 0; k < kc; ++k) {
    __m512 b0 = kMaskB ? _mm512_maskz_loadu_ps(m0, Bp) : _mm512_loadu_ps(Bp);
    __m512 b1 = kMaskB ? _mm512_maskz_loadu_ps(m1, Bp + 16) : _mm512_loadu_ps(Bp + 16);
    if (kPrefetch) {  // row k of the next unpacked panel, 64 floats ahead in memory order
      _mm_prefetch(reinterpret_cast<const char*>(pf), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(pf + 16), _MM_HINT_T0);
      pf += ldbp;
    }
#pragma GCC unroll 14
    for (int r = 0; r < MR; ++r) {
      __m512 a = _mm512_set1_ps(Ap[r]);
      acc[r][0] = _mm512_fmadd_ps(a, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(a, b1, acc[r][1]);
    }
    Ap += MR;
    Bp += ldbp;
  }
  const __m512 vb = _mm512_set1_ps(beta);
#pragma GCC unroll 14
  for (int r = 0; r < MR; ++r) {
    if (r >= mr) break;
    float* c = C + (size_t)r * ldc;
    if (beta == 0.0f) {
      _mm512_mask_storeu_ps(c, m0, acc[r][0]);
      _mm512_mask_storeu_ps(c + 16, m1, acc[r][1]);
    } else {
      _mm512_mask_storeu_ps(c, m0, _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, c), acc[r][0]));
      _mm512_mask_storeu_ps(c + 16, m1, _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, c + 16), acc[r][1]));
    }
  }
}
#else
template <int MR, bool kMaskB, bool kPrefetch>
void micro_kernel(int kc, const float* __restrict Ap, const float* __restrict Bp, int64_t ldbp, float* C, int ldc,
                  float beta, int mr, int nr, const float* pf) {
  float acc[MR][NR] = {};
  for (int k = 0; k < kc; ++k, Ap += MR, Bp += ldbp)
    for (int r = 0; r < MR; ++r)
      for (int c = 0; c < (kMaskB ? nr : NR); ++c) acc[r][c] = std::fma(Ap[r], Bp[c], acc[r][c]);
  for (int r = 0; r < mr; ++r)
    for (int c = 0; c < nr; ++c) {
      float& dst = C[(size_t)r * ldc + c];
      dst = beta == 0.0f ? acc[r][c] : std::fma(beta, dst, acc[r][c]);
    }
}
#endif

// ----- blocked path -----
template <int MR>
void sgemm_blocked_mr(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
                      int ldb, float beta, float* C, int ldc) {
  // Row blocks of near-equal size in whole micro-panels, so threads get balanced tiles.
  const int mblocks = (M + MC - 1) / MC, mpanels = (M + MR - 1) / MR;
  // With one row block each B panel is used once, right after it is loaded: read op(B) in place.
  const bool pack_b = tb || mblocks > 1;
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
      float* Bp = pack_b ? t_pack_b.get((size_t)npanels * kc * NR) : nullptr;
      if (pack_b && tb)
        parallel_for(npanels, [&](int64_t q0, int64_t q1) {
          for (int64_t q = q0; q < q1; ++q)
            pack_b_panel(tb, B, ldb, pc, kc, jc + (int)q * NR, std::min(NR, nc - (int)q * NR), Bp + q * kc * NR);
        }, 4);
      else if (pack_b)  // row by row, so memory is read as one stream per thread
        parallel_for(kc, [&](int64_t k0, int64_t k1) {
          for (int q = 0; q < npanels; ++q)
            pack_b_panel(tb, B, ldb, pc + (int)k0, (int)(k1 - k0), jc + q * NR, std::min(NR, nc - q * NR),
                         Bp + (size_t)q * kc * NR + k0 * NR);
        }, 16);
      parallel_tasks((int64_t)mblocks * nchunks, [&](int64_t t) {
        const int blk = (int)(t / nchunks), chunk = (int)(t % nchunks);
        const int ic = (int)((int64_t)blk * mpanels / mblocks) * MR;
        const int mc = std::min(M, (int)((int64_t)(blk + 1) * mpanels / mblocks) * MR) - ic;
        float* Ap = t_pack_a.get((size_t)(mc + MR - 1) / MR * MR * kc);
        pack_a<MR>(ta, A, lda, ic, mc, pc, kc, alpha, Ap);
        const int q_end = std::min(npanels, (chunk + 1) * chunk_panels);
        for (int q = chunk * chunk_panels; q < q_end; ++q) {
          const int j = jc + q * NR, nr = std::min(NR, N - j);
          const float* bp = pack_b ? Bp + (size_t)q * kc * NR : B + (size_t)pc * ldb + j;
          for (int ir = 0; ir < mc; ir += MR) {
            const int mr = std::min(MR, mc - ir);
            const float* ap = Ap + (size_t)ir * kc;
            float* c = C + (size_t)(ic + ir) * ldc + j;
            if (pack_b)
              micro_kernel<MR, false, false>(kc, ap, bp, NR, c, ldc, beta_blk, mr, nr, nullptr);
            else if (nr < NR)
              micro_kernel<MR, true, false>(kc, ap, bp, ldb, c, ldc, beta_blk, mr, nr, nullptr);
            else if (ir == 0 && q + 1 < q_end)  // first pass over this panel: fetch the next one
              micro_kernel<MR, false, true>(kc, ap, bp, ldb, c, ldc, beta_blk, mr, nr, bp + NR);
            else
              micro_kernel<MR, false, false>(kc, ap, bp, ldb, c, ldc, beta_blk, mr, nr, nullptr);
          }
        }
      });
    }
  }
}

// Micro-tile rows for an M-row product: 14, unless M is small and a 10..13-row tile pads it
// to fewer rows (30 rows: 3 x 10 instead of 3 x 14). Depends on M alone.
int pick_mr(int M) {
  int best = kMaxMR, best_rows = (M + kMaxMR - 1) / kMaxMR * kMaxMR;
  if (M > 160) return best;
  for (int mr = kMaxMR - 1; mr >= 10; --mr) {
    const int rows = (M + mr - 1) / mr * mr;
    if (rows < best_rows) best = mr, best_rows = rows;
  }
  return best;
}

void sgemm_blocked(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
                   int ldb, float beta, float* C, int ldc) {
  switch (pick_mr(M)) {
    case 10: return sgemm_blocked_mr<10>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    case 11: return sgemm_blocked_mr<11>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    case 12: return sgemm_blocked_mr<12>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    case 13: return sgemm_blocked_mr<13>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    default: return sgemm_blocked_mr<kMaxMR>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  }
}

// Few output tiles but a long K (e.g. weight gradients summed over many pixels): K is cut
// into a fixed number of slices (from the sizes alone), each slice's product computed in
// parallel into its own buffer, then C = beta C + slice 0 + slice 1 + ... in that order.
void sgemm_ksplit(int slices, bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda,
                  const float* B, int ldb, float beta, float* C, int ldc) {
  thread_local Scratch t_partial("sgemm");
  float* part = t_partial.get((size_t)slices * M * N);
  parallel_tasks(slices, [&](int64_t s) {
    const int k0 = (int)(s * K / slices), k1 = (int)((s + 1) * K / slices);
    const float* a = ta ? A + (size_t)k0 * lda : A + k0;
    const float* b = tb ? B + k0 : B + (size_t)k0 * ldb;
    sgemm_blocked(ta, tb, M, N, k1 - k0, alpha, a, lda, b, ldb, 0.0f, part + s * M * N, N);
  });
  parallel_for(M, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i)
      for (int j = 0; j < N; ++j) {
        float* c = C + i * ldc + j;
        float v = beta == 0.0f ? part[i * N + j] : std::fma(beta, *c, part[i * N + j]);
        for (int s = 1; s < slices; ++s) v += part[(size_t)s * M * N + i * N + j];
        *c = v;
      }
  });
}

// ----- direct path (fewer than kDirectRows rows: gemv-like products) -----
// C[i0:i1, j0:j1] = alpha * op(A) op(B) + beta * C. Every element follows the same arithmetic
// wherever the range starts, so splitting ranges over threads never changes a bit.
#ifdef __AVX512F__
inline float reduce16(__m512 v) {  // pairwise, fixed order
  alignas(64) float t[16];
  _mm512_store_ps(t, v);
  for (int w = 8; w >= 1; w /= 2)
    for (int l = 0; l < w; ++l) t[l] += t[l + w];
  return t[0];
}
#endif

// out[q] = a . b_q for NB rows b_q = b + q*ldb of length K; the same fixed order for every q.
template <int NB>
void dots(const float* a, const float* b, int64_t ldb, int K, float* out) {
#ifdef __AVX512F__
  __m512 acc[NB];
  for (int q = 0; q < NB; ++q) acc[q] = _mm512_setzero_ps();
  for (int k = 0; k < K; k += 16) {
    const __mmask16 m = lanes(K - k);
    const __m512 va = _mm512_maskz_loadu_ps(m, a + k);
    for (int q = 0; q < NB; ++q) acc[q] = _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m, b + q * ldb + k), acc[q]);
  }
  for (int q = 0; q < NB; ++q) out[q] = reduce16(acc[q]);
#else
  for (int q = 0; q < NB; ++q) {
    float acc = 0.0f;
    for (int k = 0; k < K; ++k) acc = std::fma(a[k], b[q * ldb + k], acc);
    out[q] = acc;
  }
#endif
}

// C[i0:i1, j0:j1] = alpha * op(A) op(B) + beta * C; scratch holds (K rounded up to 16) + (j1 - j0) + 16 floats.
void sgemm_direct(bool ta, bool tb, int i0, int i1, int j0, int j1, int K, float alpha, const float* A, int lda,
                  const float* B, int ldb, float beta, float* C, int ldc, float* scratch) {
  const int n = j1 - j0;
  float* arow = scratch;     // a(i, :)      (K)
  float* acc = scratch + (K + 15) / 16 * 16;  // row i of AB (n), 64-byte aligned
  for (int i = i0; i < i1; ++i) {
    float* c = C + (size_t)i * ldc + j0;
    for (int k = 0; k < K; ++k) arow[k] = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
    if (!tb) {  // acc += a(i,k) * B[k, j0:j1] for ascending k: B is read row by row
#ifdef __AVX512F__
      // acc is padded to whole vectors: unmasked loads/stores keep store-to-load forwarding fast
      for (int j = 0; j < n; j += 16) _mm512_storeu_ps(acc + j, _mm512_setzero_ps());
      for (int k = 0; k < K; ++k) {
        const __m512 va = _mm512_set1_ps(arow[k]);
        const float* b = B + (size_t)k * ldb + j0;
        for (int j = 0; j < n; j += 16)
          _mm512_storeu_ps(acc + j,
                           _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(lanes(n - j), b + j), _mm512_loadu_ps(acc + j)));
      }
#else
      for (int j = 0; j < n; ++j) acc[j] = 0.0f;
      for (int k = 0; k < K; ++k)
        for (int j = 0; j < n; ++j) acc[j] = std::fma(arow[k], B[(size_t)k * ldb + j0 + j], acc[j]);
#endif
    } else {  // acc[j] = a(i,:) . B[j0 + j, :]
      int j = 0;
      for (; j + 4 <= n; j += 4) dots<4>(arow, B + (size_t)(j0 + j) * ldb, ldb, K, acc + j);
      for (; j < n; ++j) dots<1>(arow, B + (size_t)(j0 + j) * ldb, ldb, K, acc + j);
    }
    for (int j = 0; j < n; ++j) c[j] = beta == 0.0f ? alpha * acc[j] : std::fma(beta, c[j], alpha * acc[j]);
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
  count_flops(gemm_flops(M, N, K), false);
  const double work = (double)M * N * K;
  if (M < kDirectRows) {  // column blocks over threads
    const int64_t jblocks = work < kSerialWork ? 1 : (N + 63) / 64;
    parallel_for(jblocks, [&](int64_t b0, int64_t b1) {
      const int j0 = (int)(b0 * 64), j1 = b1 == jblocks ? N : (int)(b1 * 64);
      float* scratch = t_pack_a.get((size_t)(K + 15) / 16 * 16 + (j1 - j0) + 16);
      sgemm_direct(ta, tb, 0, M, j0, j1, K, alpha, A, lda, B, ldb, beta, C, ldc, scratch);
    });
  } else if (K >= 4096 && (int64_t)((M + MC - 1) / MC) * std::max(1, (N + NR - 1) / NR / 4) < 4) {
    sgemm_ksplit(std::min(8, K / 2048), ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
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
