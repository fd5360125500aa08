// Fast convolutions: im2col / col2im around one sgemm per group of images, threaded.
// Leaves out: Winograd/FFT, non-square kernels, dilation, groups; the plain-loop
// definitions these are tested against live in conv_ref.cpp.
//
// Images are processed in groups of g (a count fixed by the shapes, never by the thread
// count), each group one GEMM; groups run in parallel, or a lone group's GEMM is threaded:
//   conv2d forward      Y (O, g*P)      = W (O, CKK) * col(X) (CKK, g*P)
//   conv2d backward     dW (O, CKK)    += dY (O, g*P) * col(X)^T;   dX += col2im(W^T dY)
//   transposed forward  Y = col2im(W^T X), W viewed as (C, OKK)     (conv2d's input gradient)
//   transposed backward dX (C, g*P)     = W * col(dY);   dW (C, OKK) += X * col(dY)^T
// (1x1 inputs whose kernel is the whole output: the same GEMMs on the NCHW arrays, see whole_kernel_1x1)
#ifdef __AVX512F__
#include <immintrin.h>
#endif

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/conv.h"
#include "kernels/scratch.h"
#include "kernels/gemm.h"

namespace latco {

void check_conv_shape(const ConvShape& s, bool transposed, const char* op);  // conv_ref.cpp

namespace {

constexpr int64_t kColBudget = int64_t(1) << 22;  // floats in one group's patch matrix (16 MB)

thread_local Scratch t_col("conv"), t_buf_a("conv"), t_buf_b("conv");

// Patch geometry of a conv2d over images (C, H, W): rows c*K*K + ki*K + kj, columns i*Wo + j.
struct Geom {
  int C, H, W, K, stride, pad, Ho, Wo;
  int64_t rows() const { return (int64_t)C * K * K; }
  int64_t P() const { return (int64_t)Ho * Wo; }
};

// Output columns j in [lo, hi) read input column j*stride - pad + kj inside [0, W).
inline void valid_range(int n_out, int n_in, int stride, int pad, int k, int* lo, int* hi) {
  int l = pad - k > 0 ? (pad - k + stride - 1) / stride : 0;
  int h = (n_in - 1 + pad - k) >= 0 ? (n_in - 1 + pad - k) / stride + 1 : 0;
  *lo = std::min(l, n_out);
  *hi = std::max(*lo, std::min(h, n_out));
}

// ----- strided row copies (the inner loops of im2col / col2im) -----
#ifdef __AVX512F__
inline __mmask16 lanes(int n) {  // the first n of 16 lanes
  return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

// Stride 2 moves 16 values to or from the even lanes of the 32 floats at p, as two 16-lane halves
// with masks mlo (p[0..15]) and mhi (p[16..31]); masked-off lanes are neither read nor written.
// The 16 even lanes p[0], p[2], .., p[30] (masked-off ones read as 0).
inline __m512 load_even(const float* p, __mmask16 mlo, __mmask16 mhi) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  return _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(mlo, p), even, _mm512_maskz_loadu_ps(mhi, p + 16));
}
// p[2j] += v[j] for the even lanes in the masks; odd lanes untouched (each gets one addition).
// (full-mask maskz permutes: GCC 12 warns on the plain form's undefined pass-through)
inline void add_even(float* p, __m512 v, __mmask16 mlo, __mmask16 mhi) {
  const __m512i lo_idx = _mm512_setr_epi32(0, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0);
  const __m512i hi_idx = _mm512_setr_epi32(8, 0, 9, 0, 10, 0, 11, 0, 12, 0, 13, 0, 14, 0, 15, 0);
  const __m512 vlo = _mm512_maskz_permutexvar_ps(0xFFFF, lo_idx, v);
  _mm512_mask_storeu_ps(p, mlo, _mm512_add_ps(_mm512_maskz_loadu_ps(mlo, p), vlo));
  if (mhi) {
    const __m512 vhi = _mm512_maskz_permutexvar_ps(0xFFFF, hi_idx, v);
    _mm512_mask_storeu_ps(p + 16, mhi, _mm512_add_ps(_mm512_maskz_loadu_ps(mhi, p + 16), vhi));
  }
}
#endif

// d[j] = src[j * stride] for j < n
inline void gather_row(float* d, const float* src, int n, int stride) {
#ifdef __AVX512F__
  if (stride == 1) {
    for (int j = 0; j < n; j += 16)
      _mm512_mask_storeu_ps(d + j, lanes(n - j), _mm512_maskz_loadu_ps(lanes(n - j), src + j));
    return;
  }
  if (stride == 2) {  // load 32 neighbours, keep the even ones
    for (int j = 0; j < n; j += 16) {
      const int need = 2 * std::min(16, n - j) - 1;
      _mm512_mask_storeu_ps(d + j, lanes(n - j), load_even(src + 2 * j, lanes(need), lanes(need - 16)));
    }
    return;
  }
#endif
  for (int j = 0; j < n; ++j) d[j] = src[j * stride];
}

// dst[j * stride] += s[j] for j < n (each element gets its single addition, as in the plain loop)
inline void scatter_add_row(float* dst, const float* s, int n, int stride) {
#ifdef __AVX512F__
  if (stride == 1) {
    for (int j = 0; j < n; j += 16) {
      const __mmask16 m = lanes(n - j);
      _mm512_mask_storeu_ps(dst + j, m,
                            _mm512_add_ps(_mm512_maskz_loadu_ps(m, dst + j), _mm512_maskz_loadu_ps(m, s + j)));
    }
    return;
  }
  if (stride == 2) {  // spread 16 values to the even lanes of 32 neighbours; odd lanes untouched
    for (int j = 0; j < n; j += 16) {
      const int need = 2 * std::min(16, n - j) - 1;
      add_even(dst + 2 * j, _mm512_maskz_loadu_ps(lanes(n - j), s + j), lanes(need) & 0x5555,
               lanes(need - 16) & 0x5555);
    }
    return;
  }
#endif
  for (int j = 0; j < n; ++j) dst[j * stride] += s[j];
}

// col[r, col0 + i*Wo + j] = img[c, i*s-p+ki, j*s-p+kj] (0 outside) for the K*K rows of channel c.
// img: (C, H, W); col: (rows, ld)
void im2col_channel(const Geom& g, const float* img, int c, float* col, int64_t ld, int64_t col0) {
  const float* plane = img + (int64_t)c * g.H * g.W;
  for (int ki = 0; ki < g.K; ++ki) {
    int ilo, ihi;
    valid_range(g.Ho, g.H, g.stride, g.pad, ki, &ilo, &ihi);
    for (int kj = 0; kj < g.K; ++kj) {
      int jlo, jhi;
      valid_range(g.Wo, g.W, g.stride, g.pad, kj, &jlo, &jhi);
      float* dst = col + ((int64_t)c * g.K * g.K + ki * g.K + kj) * ld + col0;
      for (int i = 0; i < g.Ho; ++i) {
        float* d = dst + (int64_t)i * g.Wo;
        if (i < ilo || i >= ihi) {
          std::memset(d, 0, sizeof(float) * g.Wo);
          continue;
        }
        const float* row = plane + (int64_t)(i * g.stride - g.pad + ki) * g.W;
        const int off = kj - g.pad;  // input column of output column j: j*stride + off
        for (int j = 0; j < jlo; ++j) d[j] = 0.0f;
        gather_row(d + jlo, row + jlo * g.stride + off, jhi - jlo, g.stride);
        for (int j = jhi; j < g.Wo; ++j) d[j] = 0.0f;
      }
    }
  }
}

// The adjoint of im2col_channel: img[c, i*s-p+ki, j*s-p+kj] += col[r, col0 + i*Wo + j].
void col2im_channel(const Geom& g, const float* col, int64_t ld, int64_t col0, int c, float* img) {
  float* plane = img + (int64_t)c * g.H * g.W;
  for (int ki = 0; ki < g.K; ++ki) {
    int ilo, ihi;
    valid_range(g.Ho, g.H, g.stride, g.pad, ki, &ilo, &ihi);
    for (int kj = 0; kj < g.K; ++kj) {
      int jlo, jhi;
      valid_range(g.Wo, g.W, g.stride, g.pad, kj, &jlo, &jhi);
      const float* src = col + ((int64_t)c * g.K * g.K + ki * g.K + kj) * ld + col0;
      for (int i = ilo; i < ihi; ++i) {
        const float* s = src + (int64_t)i * g.Wo;
        float* row = plane + (int64_t)(i * g.stride - g.pad + ki) * g.W;
        const int off = kj - g.pad;
        scatter_add_row(row + jlo * g.stride + off, s + jlo, jhi - jlo, g.stride);
      }
    }
  }
}

// Short output rows (Wo <= 16 with AVX-512, else Wo < 8) make the row loops above mostly
// overhead; there tables built once per call drive gathers instead.
//   fwd[kk*P + p]: the offset in the input plane read by patch row kk = ki*K + kj at output
//     pixel p, or -1 in the padding (im2col gathers through it);
//   kk[m*HW + q], p[m*HW + q]: the m-th patch entry that reads input pixel q, in increasing
//     kk, or kk = -1 (col2im gathers through these, so each input pixel adds its entries
//     in the plain loop's order, with no scatter).
#ifdef __AVX512F__
constexpr int kTableMaxWo = 17;
#else
constexpr int kTableMaxWo = 8;
#endif
struct PatchTable {
  std::vector<int32_t> fwd, kk, p;
  int M = 0;  // entries per input pixel, at most ceil(K/stride)^2
};
thread_local PatchTable t_table;

const PatchTable* patch_table(const Geom& g) {
  if (g.Wo >= kTableMaxWo) return nullptr;
  const int KK = g.K * g.K, HW = g.H * g.W;
  const int64_t P = g.P();
  PatchTable& t = t_table;
  t.fwd.resize((size_t)KK * P);
  std::vector<int> count(HW, 0);
  for (int kk = 0; kk < KK; ++kk)
    for (int i = 0; i < g.Ho; ++i)
      for (int j = 0; j < g.Wo; ++j) {
        const int hi = i * g.stride - g.pad + kk / g.K, wj = j * g.stride - g.pad + kk % g.K;
        const bool in = hi >= 0 && hi < g.H && wj >= 0 && wj < g.W;
        t.fwd[(size_t)kk * P + i * g.Wo + j] = in ? hi * g.W + wj : -1;
        if (in) ++count[hi * g.W + wj];
      }
  t.M = HW ? *std::max_element(count.begin(), count.end()) : 0;
  t.kk.assign((size_t)t.M * HW, -1);
  t.p.assign((size_t)t.M * HW, 0);
  std::fill(count.begin(), count.end(), 0);
  for (int kk = 0; kk < KK; ++kk)  // increasing kk: the order col2im adds in
    for (int64_t p = 0; p < P; ++p) {
      const int q = t.fwd[(size_t)kk * P + p];
      if (q < 0) continue;
      const size_t at = (size_t)count[q]++ * HW + q;
      t.kk[at] = kk;
      t.p[at] = (int32_t)p;
    }
  return &t;
}

// d[p] = plane[tk[p]], or 0 where tk[p] < 0, for p < P
inline void gather_table(float* d, const float* plane, const int32_t* tk, int64_t P) {
#ifdef __AVX512F__
  for (int64_t p = 0; p < P; p += 16) {
    const __mmask16 m = lanes((int)std::min<int64_t>(16, P - p));
    const __m512i idx = _mm512_maskz_loadu_epi32(m, tk + p);
    const __mmask16 in = _mm512_mask_cmpge_epi32_mask(m, idx, _mm512_setzero_si512());
    _mm512_mask_storeu_ps(d + p, m, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), in, idx, plane, 4));
  }
#else
  for (int64_t p = 0; p < P; ++p) d[p] = tk[p] >= 0 ? plane[tk[p]] : 0.0f;
#endif
}

// plane[q] += sum over m of col[kk*ld + p] for the entries (kk, p) of pixel q, m in order
// (the adjoint of gather_table over all patch rows); col: this image's first patch row.
inline void gather_add_table(float* plane, const float* col, int64_t ld, const PatchTable& t, int HW) {
#ifdef __AVX512F__
  const __m512i vld = _mm512_set1_epi32((int32_t)ld);
  for (int q = 0; q < HW; q += 16) {
    const __mmask16 m = lanes(HW - q);
    __m512 acc = _mm512_maskz_loadu_ps(m, plane + q);
    for (int e = 0; e < t.M; ++e) {
      const __m512i kk = _mm512_maskz_loadu_epi32(m, t.kk.data() + (size_t)e * HW + q);
      const __mmask16 in = _mm512_mask_cmpge_epi32_mask(m, kk, _mm512_setzero_si512());
      if (!in) continue;
      const __m512i idx =
          _mm512_add_epi32(_mm512_mullo_epi32(kk, vld), _mm512_maskz_loadu_epi32(m, t.p.data() + (size_t)e * HW + q));
      acc = _mm512_mask_add_ps(acc, in, acc, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), in, idx, col, 4));
    }
    _mm512_mask_storeu_ps(plane + q, m, acc);
  }
#else
  for (int q = 0; q < HW; ++q)
    for (int e = 0; e < t.M; ++e) {
      const size_t at = (size_t)e * HW + q;
      if (t.kk[at] >= 0) plane[q] += col[t.kk[at] * ld + t.p[at]];
    }
#endif
}

#ifdef __AVX512F__
// The window of an output row at stride 2 (Wo <= 16) for kernel column kj: lane t of the 32 lanes
// is input column t + kj - pad, output column j is lane 2j; mlo, mhi keep the lanes inside [0, W).
inline void window_s2(int Wo, int W, int kj, int pad, __mmask16* mlo, __mmask16* mhi) {
  uint32_t m = 0;
  for (int j = 0; j < Wo; ++j) {
    const int w = 2 * j + kj - pad;
    if (w >= 0 && w < W) m |= 1u << (2 * j);
  }
  *mlo = (__mmask16)(m & 0xFFFF), *mhi = (__mmask16)(m >> 16);
}

// im2col of one channel plane for stride 2 and rows of 8 to 16 (Wo in [8, 16]): each patch row
// of an output row is two masked loads of the 32 input columns it spans (masked-off lanes are
// neither read nor kept) and one permute that keeps the even ones. The same copy as the patch
// table's gathers, at a fraction of their cost. col: this channel's first patch row.
void im2col_plane_s2(const Geom& g, const float* plane, float* col, int64_t ld) {
  const int K = g.K, pad = g.pad, H = g.H, W = g.W, Ho = g.Ho, Wo = g.Wo;  // locals: the stores cannot alias them
  const __mmask16 out = lanes(Wo);
  for (int ki = 0; ki < K; ++ki)
    for (int kj = 0; kj < K; ++kj) {
      __mmask16 mlo, mhi;
      window_s2(Wo, W, kj, pad, &mlo, &mhi);
      float* dst = col + (int64_t)(ki * K + kj) * ld;
      // Output rows i read input row h = 2i + ki - pad: zero rows outside [ilo, ihi).
      int ilo, ihi;
      valid_range(Ho, H, 2, pad, ki, &ilo, &ihi);
      for (int i = 0; i < ilo; ++i) _mm512_mask_storeu_ps(dst + (int64_t)i * Wo, out, _mm512_setzero_ps());
      // Lane t sits at row + t + kj - pad; lanes before the row start are masked off.
      const float* src = plane + (int64_t)(2 * ilo + ki - pad) * W + kj - pad;
      float* d = dst + (int64_t)ilo * Wo;
      for (int i = ilo; i < ihi; ++i, src += 2 * W, d += Wo) _mm512_mask_storeu_ps(d, out, load_even(src, mlo, mhi));
      for (int i = ihi; i < Ho; ++i) _mm512_mask_storeu_ps(dst + (int64_t)i * Wo, out, _mm512_setzero_ps());
    }
}

// The adjoint of im2col_plane_s2: plane[h, w] += col entries, patch rows in increasing order, so
// each input pixel gets its additions in the plain loop's order (the same bits as the table).
void col2im_plane_s2(const Geom& g, const float* col, int64_t ld, float* plane) {
  const int K = g.K, pad = g.pad, H = g.H, W = g.W, Ho = g.Ho, Wo = g.Wo;  // locals: the stores cannot alias them
  const __mmask16 out = lanes(Wo);
  for (int ki = 0; ki < K; ++ki)
    for (int kj = 0; kj < K; ++kj) {
      __mmask16 mlo, mhi;
      window_s2(Wo, W, kj, pad, &mlo, &mhi);
      const float* src = col + (int64_t)(ki * K + kj) * ld;
      int ilo, ihi;  // output rows i whose input row h = 2i + ki - pad lies inside [0, H)
      valid_range(Ho, H, 2, pad, ki, &ilo, &ihi);
      for (int i = ilo; i < ihi; ++i)
        add_even(plane + (int64_t)(2 * i + ki - pad) * W + kj - pad,
                 _mm512_maskz_loadu_ps(out, src + (int64_t)i * Wo), mlo, mhi);
    }
}
#endif

// im2col of images [n0, n0+gn) of x (N, C, H, W) into col (rows, gn*P).
// tab: patch_table(g) for short rows, else null.
void im2col_group(const Geom& g, const PatchTable* tab, const float* x, int n0, int gn, float* col) {
  const int64_t P = g.P(), ld = gn * P, img = (int64_t)g.C * g.H * g.W;
  const int KK = g.K * g.K;
  parallel_for((int64_t)gn * g.C, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t n = t / g.C, c = t % g.C;
      if (!tab) {
        im2col_channel(g, x + (n0 + n) * img, (int)c, col, ld, n * P);
        continue;
      }
      const float* plane = x + (n0 + n) * img + c * g.H * g.W;
#ifdef __AVX512F__
      if (g.stride == 2) {
        im2col_plane_s2(g, plane, col + c * KK * ld + n * P, ld);
        continue;
      }
#endif
      for (int kk = 0; kk < KK; ++kk)
        gather_table(col + (c * KK + kk) * ld + n * P, plane, tab->fwd.data() + (int64_t)kk * P, P);
    }
  });
}

// x[n0 + n] += col2im(col) for the group's images; x: (N, C, H, W), col: (rows, gn*P).
void col2im_group(const Geom& g, const PatchTable* tab, const float* col, int n0, int gn, float* x) {
  const int64_t P = g.P(), ld = gn * P, img = (int64_t)g.C * g.H * g.W;
  const int KK = g.K * g.K;
  LATCO_CHECK(!tab || KK * ld <= INT32_MAX)
      << "col2im: " << KK * ld << " patch entries per channel overflow the gather index";
  parallel_for((int64_t)gn * g.C, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t n = t / g.C, c = t % g.C;
      if (!tab) {
        col2im_channel(g, col, ld, n * P, (int)c, x + (n0 + n) * img);
        continue;
      }
#ifdef __AVX512F__
      if (g.stride == 2 && g.Wo > 4) {  // rows of 2: the table's gathers are faster (enc3's dx 3.8 ms
                                         // against 4.5); of 5 and 6 the row adds (dec1's y 4.3 ms
                                         // against 4.8, enc2's dx 8.2 against 8.5)
        col2im_plane_s2(g, col + c * KK * ld + n * P, ld, x + (n0 + n) * img + c * g.H * g.W);
        continue;
      }
#endif
      gather_add_table(x + (n0 + n) * img + c * g.H * g.W, col + c * KK * ld + n * P, ld, *tab, g.H * g.W);
    }
  });
}

// Between NCHW and the channel-major group layout buf (ch, gn*P), for images [n0, n0+gn) of t (N, ch, P).
// buf = t[n0 : n0+gn] rearranged
void to_group(const float* t, float* buf, int ch, int64_t P, int n0, int gn) {
  parallel_for((int64_t)gn * ch, [&](int64_t a, int64_t b) {
    for (int64_t q = a; q < b; ++q)
      std::memcpy(buf + (q % ch) * gn * P + (q / ch) * P, t + ((n0 + q / ch) * ch + q % ch) * P, sizeof(float) * P);
  }, 4);
}
// t[n0 : n0+gn] = buf + bias (bias may be null), or t += buf when accumulate
void from_group(float* t, const float* buf, int ch, int64_t P, int n0, int gn, bool accumulate,
                const float* bias) {
  parallel_for((int64_t)gn * ch, [&](int64_t a, int64_t b) {
    for (int64_t q = a; q < b; ++q) {
      const int64_t n = q / ch, c = q % ch;
      float* tp = t + ((n0 + n) * ch + c) * P;
      const float* bp = buf + c * gn * P + n * P;
      if (accumulate) {
        for (int64_t i = 0; i < P; ++i) tp[i] += bp[i];
      } else {
        const float bc = bias ? bias[c] : 0.0f;
        for (int64_t i = 0; i < P; ++i) tp[i] = bp[i] + bc;
      }
    }
  }, 4);
}

// db[o] += sum over images and pixels of dy[n, o, :]; dy: (N, O, P). Fixed order per o:
// each image's pixels summed in float (16 lanes, then pairwise), images summed in double.
void bias_grad(const float* dy, int N, int O, int64_t P, float* db) {
  parallel_for(O, [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o) {
      double acc = 0.0;
      for (int n = 0; n < N; ++n) {
        const float* p = dy + ((int64_t)n * O + o) * P;
#ifdef __AVX512F__
        __m512 v = _mm512_setzero_ps();
        for (int64_t i = 0; i < P; i += 16)
          v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(lanes((int)std::min<int64_t>(16, P - i)), p + i));
        alignas(64) float t[16];
        _mm512_store_ps(t, v);
        for (int w = 8; w >= 1; w /= 2)
          for (int l = 0; l < w; ++l) t[l] += t[l + w];
        acc += t[0];
#else
        for (int64_t i = 0; i < P; ++i) acc += p[i];
#endif
      }
      db[o] += (float)acc;
    }
  });
}

// How a batch is cut into groups of g images, each group one GEMM. Groups run in parallel
// (their GEMMs then run serially inside the task); a single group's GEMM uses the threads.
// The cut depends on the shapes only, never on the thread count.
struct Plan {
  int g, ngroups;
};
Plan make_plan(int N, int64_t R, int64_t P) {
  int64_t g = (256 + P - 1) / P;                                   // >= 256 GEMM columns per group
  g = std::min<int64_t>(g, std::max<int64_t>(1, kColBudget / 16 / (R * P)));  // patches near L2 size
  g = std::max<int64_t>(1, std::min<int64_t>(g, N));
  int64_t ngroups = (N + g - 1) / g;
  if (ngroups < 8 && R * P * N <= kColBudget) g = N, ngroups = 1;  // too few to balance: one wide GEMM
  return {(int)g, (int)ngroups};
}
// Weight gradients are summed per slice of consecutive groups, then over slices in order.
int num_slices(const Plan& p) { return std::min(8, p.ngroups); }

thread_local Scratch t_part("conv");  // per-slice weight-gradient partial sums (caller's thread)

// dw += sum_s part[s] (S slices of n floats each), in slice order.
void add_slices(float* dw, const float* part, int S, int64_t n) {
  parallel_for(n, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      float v = part[i];
      for (int s = 1; s < S; ++s) v += part[s * n + i];
      dw[i] += v;
    }
  }, 4096);
}

// The same sum from slices stored transposed: dw (O, R) += sum_s part[s]^T, part[s]: (R, O), in slice
// order, in 16 x 16 tiles.
void add_slices_t(float* dw, const float* part, int S, int O, int64_t R) {
  const int64_t n = int64_t(O) * R;
  parallel_for((R + 15) / 16, [&](int64_t b0, int64_t b1) {
    for (int64_t r0 = b0 * 16; r0 < std::min(R, b1 * 16); r0 += 16)
      for (int o0 = 0; o0 < O; o0 += 16)
        for (int o = o0; o < std::min(O, o0 + 16); ++o)
          for (int64_t r = r0; r < std::min(R, r0 + 16); ++r) {
            float v = part[r * O + o];
            for (int s = 1; s < S; ++s) v += part[s * n + r * O + o];
            dw[o * R + r] += v;
          }
  });
}

// Weight gradients as (R, O) = col (R, ncol) x dY^T rather than (O, R) = dY x col^T for 32 to 64 output
// channels and R > O: the GEMM then transposes the narrower operand while packing, 10-25% faster on
// the paper's layers of that kind (with more channels the transposed sum of the slices costs more than
// it saves). Only with slices (their sums are added transposed); each sum is the same as before.
bool transposed_dw(int S, int O, int64_t R) { return S > 1 && O >= 32 && O <= 64 && R > O; }

// One group's weight gradient, A (M, ncol) times the patches col (R, ncol) transposed: dst (M, R) =
// beta dst + A col^T, or with tdw dst (R, M) = beta dst + col A^T (a slice's first group: beta 0).
void weight_grad(bool tdw, int M, int64_t R, int ncol, const float* a, const float* col, float beta, float* dst) {
  if (tdw)
    sgemm(false, true, (int)R, M, ncol, 1.0f, col, ncol, a, ncol, beta, dst, M);
  else
    sgemm(false, true, M, (int)R, ncol, 1.0f, a, ncol, col, ncol, beta, dst, (int)R);
}

// dw (M, R) += the S slices' partial sums of weight_grad, if there are slices (part not null).
void add_weight_slices(float* dw, const float* part, int S, int M, int64_t R, bool tdw) {
  if (part && tdw) add_slices_t(dw, part, S, M, R);
  else if (part) add_slices(dw, part, S, int64_t(M) * R);
}

// Images [n0, n0 + gn) of t (N, ch, P) as one (ch, gn*P) matrix: t's own rows for one image, else
// copied into buf.
const float* group_of(const float* t, Scratch& buf, int ch, int64_t P, int n0, int gn) {
  if (gn == 1) return t + (int64_t)n0 * ch * P;
  float* g = buf.get((int64_t)ch * gn * P);
  to_group(t, g, ch, P, n0, gn);
  return g;
}

// y (O, P) += b per channel (b may be null).
void add_bias(float* y, int O, int64_t P, const float* b) {
  if (!b) return;
  for (int o = 0; o < O; ++o)
    for (int64_t i = 0; i < P; ++i) y[o * P + i] += b[o];
}

// A transposed conv of 1x1 inputs with no padding whose K x K kernel is the whole output (the
// decoder's first layer): col2im is then a reshape, and with the whole batch in one group the
// patch-matrix path's GEMMs are, transposed, GEMMs on the NCHW arrays themselves:
//   Y (N, OKK) = X (N, C) W (C, OKK) + b,  dX (N, C) += dY (N, OKK) W^T,  dW (C, OKK) += X^T dY
// with every sum over the same terms in the same order (the blocked kernel on both sides, so N, C
// >= 4; the same K blocks, no K split: N, C < 4096), so the bits are those of the general path,
// without its copies, transposes and scatter.
bool whole_kernel_1x1(const ConvShape& s, const Plan& plan) {
  return s.transposed && s.H == 1 && s.W == 1 && s.pad == 0 && s.Ho() == s.K && s.Wo() == s.K &&
         plan.ngroups == 1 && s.N >= 4 && s.N < 4096 && s.C >= 4 && s.C < 4096;
}

Geom conv_geom(const ConvShape& s) { return {s.C, s.H, s.W, s.K, s.stride, s.pad, s.Ho(), s.Wo()}; }
// The conv2d whose input gradient a transposed conv is: images (O, Ho, Wo) -> patches at (H, W).
Geom tconv_geom(const ConvShape& s) { return {s.O, s.Ho(), s.Wo(), s.K, s.stride, s.pad, s.H, s.W}; }

}  // namespace

// x: (N,C,H,W), w: (O,C,K,K), b: (O) or null -> y: (N,O,Ho,Wo)
void conv2d_forward(const ConvShape& s, const float* x, const float* w, const float* b, float* y) {
  check_conv_shape(s, false, "conv2d_forward");
  const Geom g = conv_geom(s);
  const PatchTable* tab = patch_table(g);  // null unless rows are short
  const int64_t P = g.P(), R = g.rows();
  const Plan plan = make_plan(s.N, R, P);
  parallel_tasks(plan.ngroups, [&](int64_t gi) {
    const int n0 = (int)gi * plan.g, gn = std::min(plan.g, s.N - n0), ncol = (int)(gn * P);
    float* col = t_col.get(R * ncol);
    im2col_group(g, tab, x, n0, gn, col);
    if (gn == 1) {  // one image: (O, P) is already its NCHW layout
      float* yn = y + (int64_t)n0 * s.O * P;
      sgemm(false, false, s.O, ncol, (int)R, 1.0f, w, (int)R, col, ncol, 0.0f, yn, ncol);
      add_bias(yn, s.O, P, b);
    } else {
      float* ybuf = t_buf_a.get((int64_t)s.O * ncol);
      sgemm(false, false, s.O, ncol, (int)R, 1.0f, w, (int)R, col, ncol, 0.0f, ybuf, ncol);
      from_group(y, ybuf, s.O, P, n0, gn, false, b);
    }
  });
}

// dy: (N,O,Ho,Wo); accumulates dx (N,C,H,W), dw (O,C,K,K), db (O).
void conv2d_backward(const ConvShape& s, const float* x, const float* w, const float* dy, float* dx, float* dw,
                     float* db) {
  check_conv_shape(s, false, "conv2d_backward");
  const Geom g = conv_geom(s);
  const PatchTable* tab = patch_table(g);  // null unless rows are short
  const int64_t P = g.P(), R = g.rows(), nw = s.O * R;
  if (db) bias_grad(dy, s.N, s.O, P, db);
  if (!dx && !dw) return;
  const Plan plan = make_plan(s.N, R, P);
  const int S = num_slices(plan);
  float* part = dw && S > 1 ? t_part.get(S * nw) : nullptr;
  const bool tdw = transposed_dw(S, s.O, R);
  parallel_tasks(S, [&](int64_t sl) {
    const int gbeg = (int)(sl * plan.ngroups / S), gend = (int)((sl + 1) * plan.ngroups / S);
    for (int gi = gbeg; gi < gend; ++gi) {
      const int n0 = gi * plan.g, gn = std::min(plan.g, s.N - n0), ncol = (int)(gn * P);
      const float* dyg = group_of(dy, t_buf_a, s.O, P, n0, gn);  // (O, gn*P)
      float* col = t_col.get(R * ncol);
      if (dw) {  // dW (O, R) += dY (O, ncol) col^T
        im2col_group(g, tab, x, n0, gn, col);
        weight_grad(tdw, s.O, R, ncol, dyg, col, part && gi == gbeg ? 0.0f : 1.0f, part ? part + sl * nw : dw);
      }
      if (dx) {  // dcol (R, ncol) = W^T dY, scattered back onto the images
        sgemm(true, false, (int)R, ncol, s.O, 1.0f, w, (int)R, dyg, ncol, 0.0f, col, ncol);
        col2im_group(g, tab, col, n0, gn, dx);
      }
    }
  });
  add_weight_slices(dw, part, S, s.O, R, tdw);
}

// x: (N,C,H,W), w: (C,O,K,K), b: (O) or null -> y: (N,O,Ho,Wo)
void conv_transpose2d_forward(const ConvShape& s, const float* x, const float* w, const float* b, float* y) {
  check_conv_shape(s, true, "conv_transpose2d_forward");
  const Geom g = tconv_geom(s);
  const PatchTable* tab = patch_table(g);  // null unless rows are short
  const int64_t P = g.P(), R = g.rows(), Pout = (int64_t)s.Ho() * s.Wo();
  const Plan plan = make_plan(s.N, R, P);
  if (whole_kernel_1x1(s, plan)) {  // y = X W, then + b (0 without bias: the general path's 0 + v)
    sgemm(false, false, s.N, (int)R, s.C, 1.0f, x, s.C, w, (int)R, 0.0f, y, (int)R);
    parallel_for((int64_t)s.N * s.O, [&](int64_t q0, int64_t q1) {
      for (int64_t q = q0; q < q1; ++q) {
        const float bq = b ? b[q % s.O] : 0.0f;
        for (int64_t i = q * Pout; i < (q + 1) * Pout; ++i) y[i] += bq;
      }
    }, 16);
    return;
  }
  parallel_tasks(plan.ngroups, [&](int64_t gi) {
    const int n0 = (int)gi * plan.g, gn = std::min(plan.g, s.N - n0), ncol = (int)(gn * P);
    for (int64_t q = (int64_t)n0 * s.O; q < (int64_t)(n0 + gn) * s.O; ++q)
      std::fill(y + q * Pout, y + (q + 1) * Pout, b ? b[q % s.O] : 0.0f);
    const float* xg = group_of(x, t_buf_a, s.C, P, n0, gn);  // (C, gn*P)
    float* col = t_col.get(R * ncol);
    sgemm(true, false, (int)R, ncol, s.C, 1.0f, w, (int)R, xg, ncol, 0.0f, col, ncol);
    col2im_group(g, tab, col, n0, gn, y);
  });
}

// dy: (N,O,Ho,Wo); accumulates dx (N,C,H,W), dw (C,O,K,K), db (O).
void conv_transpose2d_backward(const ConvShape& s, const float* x, const float* w, const float* dy, float* dx,
                               float* dw, float* db) {
  check_conv_shape(s, true, "conv_transpose2d_backward");
  const Geom g = tconv_geom(s);
  const PatchTable* tab = patch_table(g);  // null unless rows are short
  const int64_t P = g.P(), R = g.rows(), nw = s.C * R;
  if (db) bias_grad(dy, s.N, s.O, (int64_t)s.Ho() * s.Wo(), db);
  if (!dx && !dw) return;
  const Plan plan = make_plan(s.N, R, P);
  if (whole_kernel_1x1(s, plan)) {
    if (dx) {  // the general path's order: the product into a buffer, then added
      float* buf = t_buf_a.get((int64_t)s.N * s.C);
      sgemm(false, true, s.N, s.C, (int)R, 1.0f, dy, (int)R, w, (int)R, 0.0f, buf, s.C);
      parallel_for((int64_t)s.N * s.C, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) dx[i] += buf[i];
      }, 4096);
    }
    if (dw) sgemm(true, false, s.C, (int)R, s.N, 1.0f, x, s.C, dy, (int)R, 1.0f, dw, (int)R);
    return;
  }
  const int S = num_slices(plan);
  float* part = dw && S > 1 ? t_part.get(S * nw) : nullptr;
  const bool tdw = transposed_dw(S, s.C, R);
  parallel_tasks(S, [&](int64_t sl) {
    const int gbeg = (int)(sl * plan.ngroups / S), gend = (int)((sl + 1) * plan.ngroups / S);
    for (int gi = gbeg; gi < gend; ++gi) {
      const int n0 = gi * plan.g, gn = std::min(plan.g, s.N - n0), ncol = (int)(gn * P);
      float* col = t_col.get(R * ncol);
      im2col_group(g, tab, dy, n0, gn, col);
      if (dx) {  // dX (C, ncol) += W col
        if (gn == 1) {
          sgemm(false, false, s.C, ncol, (int)R, 1.0f, w, (int)R, col, ncol, 1.0f, dx + (int64_t)n0 * s.C * P, ncol);
        } else {
          float* dxbuf = t_buf_a.get((int64_t)s.C * ncol);
          sgemm(false, false, s.C, ncol, (int)R, 1.0f, w, (int)R, col, ncol, 0.0f, dxbuf, ncol);
          from_group(dx, dxbuf, s.C, P, n0, gn, true, nullptr);
        }
      }
      if (dw) {  // dW (C, R) += X (C, ncol) col^T
        const float* xg = group_of(x, t_buf_b, s.C, P, n0, gn);
        weight_grad(tdw, s.C, R, ncol, xg, col, part && gi == gbeg ? 0.0f : 1.0f, part ? part + sl * nw : dw);
      }
    }
  });
  add_weight_slices(dw, part, S, s.C, R, tdw);
}

}  // namespace latco
