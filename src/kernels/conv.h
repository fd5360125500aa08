// 2-D convolution kernels, NCHW, float32, square kernels, symmetric padding.
//   conv2d:            x (N,C,H,W), w (O,C,K,K), b (O)      -> y (N,O,Ho,Wo), Ho = (H + 2p - K)/s + 1
//   conv_transpose2d:  x (N,C,H,W), w (C,O,K,K), b (O)      -> y (N,O,Ho,Wo), Ho = (H-1)s - 2p + K + op
// conv_transpose2d is the adjoint (input gradient) of conv2d with the same w.
// Each fast kernel (im2col/col2im + sgemm) has a plain-loop *_ref twin in
// conv_ref.cpp that it is tested against. Backward functions accumulate (+=)
// into dx, dw, db; any of them may be null.
#pragma once

namespace latco {

struct ConvShape {
  int N, C, H, W;  // input
  int O, K;        // output channels, kernel size
  int stride, pad;
  int out_pad = 0;  // transposed conv only
  int Ho() const;   // output height (conv2d or transposed, see is_transposed)
  int Wo() const;
  bool transposed = false;
};

void conv2d_forward(const ConvShape& s, const float* x, const float* w, const float* b, float* y);
void conv2d_backward(const ConvShape& s, const float* x, const float* w, const float* dy, float* dx, float* dw,
                     float* db);
void conv_transpose2d_forward(const ConvShape& s, const float* x, const float* w, const float* b, float* y);
void conv_transpose2d_backward(const ConvShape& s, const float* x, const float* w, const float* dy, float* dx,
                               float* dw, float* db);

// Plain loops: the definitions.
void conv2d_forward_ref(const ConvShape& s, const float* x, const float* w, const float* b, float* y);
void conv2d_backward_ref(const ConvShape& s, const float* x, const float* w, const float* dy, float* dx, float* dw,
                         float* db);
void conv_transpose2d_forward_ref(const ConvShape& s, const float* x, const float* w, const float* b, float* y);
void conv_transpose2d_backward_ref(const ConvShape& s, const float* x, const float* w, const float* dy, float* dx,
                                   float* dw, float* db);

}  // namespace latco
