// Plain-loop convolutions: the definitions that the im2col kernels in conv.cpp
// are tested against. Written for reading, not speed: one output (or one
// input-output pair) per innermost step, no blocking, no threads.
#include <cstdint>

#include "core/error.h"
#include "kernels/conv.h"

namespace latco {

int ConvShape::Ho() const {
  return transposed ? (H - 1) * stride - 2 * pad + K + out_pad : (H + 2 * pad - K) / stride + 1;
}
int ConvShape::Wo() const {
  return transposed ? (W - 1) * stride - 2 * pad + K + out_pad : (W + 2 * pad - K) / stride + 1;
}

// Shared by the reference and the fast kernels (declared there as extern).
void check_conv_shape(const ConvShape& s, bool transposed, const char* op) {
  LATCO_CHECK(s.transposed == transposed)
      << op << ": ConvShape.transposed must be " << (transposed ? "true" : "false")
      << " (it selects the output-size formula used by Ho()/Wo())";
  LATCO_CHECK(s.N >= 1 && s.C >= 1 && s.H >= 1 && s.W >= 1 && s.O >= 1 && s.K >= 1)
      << op << ": sizes must be positive, got N=" << s.N << " C=" << s.C << " H=" << s.H << " W=" << s.W
      << " O=" << s.O << " K=" << s.K;
  LATCO_CHECK(s.stride >= 1 && s.pad >= 0) << op << ": stride " << s.stride << ", pad " << s.pad;
  LATCO_CHECK(s.out_pad >= 0 && (s.out_pad == 0 || s.out_pad < s.stride))
      << op << ": out_pad " << s.out_pad << " must be in [0, stride)";
  LATCO_CHECK(transposed || s.out_pad == 0) << op << ": out_pad is for transposed convolutions only";
  LATCO_CHECK(s.Ho() >= 1 && s.Wo() >= 1)
      << op << ": empty output " << s.Ho() << "x" << s.Wo() << " for input " << s.H << "x" << s.W << ", K="
      << s.K << ", stride " << s.stride << ", pad " << s.pad;
}

// ----- conv2d -----
// y[n,o,i,j] = b[o] + sum_{c,ki,kj} w[o,c,ki,kj] * x[n,c, i*s-p+ki, j*s-p+kj]  (zero outside x)

// x: (N,C,H,W), w: (O,C,K,K), b: (O) or null -> y: (N,O,Ho,Wo)
void conv2d_forward_ref(const ConvShape& s, const float* x, const float* w, const float* b, float* y) {
  check_conv_shape(s, false, "conv2d_forward_ref");
  const int Ho = s.Ho(), Wo = s.Wo(), K = s.K;
  for (int n = 0; n < s.N; ++n)
    for (int o = 0; o < s.O; ++o)
      for (int i = 0; i < Ho; ++i)
        for (int j = 0; j < Wo; ++j) {
          double acc = b ? b[o] : 0.0;
          for (int c = 0; c < s.C; ++c)
            for (int ki = 0; ki < K; ++ki)
              for (int kj = 0; kj < K; ++kj) {
                int hi = i * s.stride - s.pad + ki, wj = j * s.stride - s.pad + kj;
                if (hi < 0 || hi >= s.H || wj < 0 || wj >= s.W) continue;
                acc += (double)w[((int64_t)(o * s.C + c) * K + ki) * K + kj] *
                       x[((int64_t)(n * s.C + c) * s.H + hi) * s.W + wj];
              }
          y[((int64_t)(n * s.O + o) * Ho + i) * Wo + j] = (float)acc;
        }
}

// dy: (N,O,Ho,Wo); accumulates dx += dL/dx (N,C,H,W), dw += dL/dw (O,C,K,K), db += dL/db (O).
void conv2d_backward_ref(const ConvShape& s, const float* x, const float* w, const float* dy, float* dx, float* dw,
                         float* db) {
  check_conv_shape(s, false, "conv2d_backward_ref");
  const int Ho = s.Ho(), Wo = s.Wo(), K = s.K;
  for (int n = 0; n < s.N; ++n)
    for (int o = 0; o < s.O; ++o)
      for (int i = 0; i < Ho; ++i)
        for (int j = 0; j < Wo; ++j) {
          float g = dy[((int64_t)(n * s.O + o) * Ho + i) * Wo + j];
          if (db) db[o] += g;
          for (int c = 0; c < s.C; ++c)
            for (int ki = 0; ki < K; ++ki)
              for (int kj = 0; kj < K; ++kj) {
                int hi = i * s.stride - s.pad + ki, wj = j * s.stride - s.pad + kj;
                if (hi < 0 || hi >= s.H || wj < 0 || wj >= s.W) continue;
                int64_t xi = ((int64_t)(n * s.C + c) * s.H + hi) * s.W + wj;
                int64_t wi = ((int64_t)(o * s.C + c) * K + ki) * K + kj;
                if (dx) dx[xi] += w[wi] * g;
                if (dw) dw[wi] += x[xi] * g;
              }
        }
}

// ----- conv_transpose2d -----
// Each input pixel scatters a weighted kernel into the output:
// y[n,o, i*s-p+ki, j*s-p+kj] += w[c,o,ki,kj] * x[n,c,i,j]  (dropped outside y), then y += b[o].

// x: (N,C,H,W), w: (C,O,K,K), b: (O) or null -> y: (N,O,Ho,Wo)
void conv_transpose2d_forward_ref(const ConvShape& s, const float* x, const float* w, const float* b, float* y) {
  check_conv_shape(s, true, "conv_transpose2d_forward_ref");
  const int Ho = s.Ho(), Wo = s.Wo(), K = s.K;
  for (int n = 0; n < s.N; ++n)
    for (int o = 0; o < s.O; ++o)
      for (int i = 0; i < Ho * Wo; ++i) y[(int64_t)(n * s.O + o) * Ho * Wo + i] = b ? b[o] : 0.0f;
  for (int n = 0; n < s.N; ++n)
    for (int c = 0; c < s.C; ++c)
      for (int i = 0; i < s.H; ++i)
        for (int j = 0; j < s.W; ++j) {
          float xv = x[((int64_t)(n * s.C + c) * s.H + i) * s.W + j];
          for (int o = 0; o < s.O; ++o)
            for (int ki = 0; ki < K; ++ki)
              for (int kj = 0; kj < K; ++kj) {
                int ho = i * s.stride - s.pad + ki, wo = j * s.stride - s.pad + kj;
                if (ho < 0 || ho >= Ho || wo < 0 || wo >= Wo) continue;
                y[((int64_t)(n * s.O + o) * Ho + ho) * Wo + wo] += w[((int64_t)(c * s.O + o) * K + ki) * K + kj] * xv;
              }
        }
}

// dy: (N,O,Ho,Wo); accumulates dx (N,C,H,W), dw (C,O,K,K), db (O).
void conv_transpose2d_backward_ref(const ConvShape& s, const float* x, const float* w, const float* dy, float* dx,
                                   float* dw, float* db) {
  check_conv_shape(s, true, "conv_transpose2d_backward_ref");
  const int Ho = s.Ho(), Wo = s.Wo(), K = s.K;
  if (db)
    for (int n = 0; n < s.N; ++n)
      for (int o = 0; o < s.O; ++o)
        for (int i = 0; i < Ho * Wo; ++i) db[o] += dy[(int64_t)(n * s.O + o) * Ho * Wo + i];
  for (int n = 0; n < s.N; ++n)
    for (int c = 0; c < s.C; ++c)
      for (int i = 0; i < s.H; ++i)
        for (int j = 0; j < s.W; ++j) {
          int64_t xi = ((int64_t)(n * s.C + c) * s.H + i) * s.W + j;
          double gx = 0.0;
          for (int o = 0; o < s.O; ++o)
            for (int ki = 0; ki < K; ++ki)
              for (int kj = 0; kj < K; ++kj) {
                int ho = i * s.stride - s.pad + ki, wo = j * s.stride - s.pad + kj;
                if (ho < 0 || ho >= Ho || wo < 0 || wo >= Wo) continue;
                float g = dy[((int64_t)(n * s.O + o) * Ho + ho) * Wo + wo];
                int64_t wi = ((int64_t)(c * s.O + o) * K + ki) * K + kj;
                gx += (double)w[wi] * g;
                if (dw) dw[wi] += x[xi] * g;
              }
          if (dx) dx[xi] += (float)gx;
        }
}

}  // namespace latco
