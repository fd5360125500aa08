// Fast convolutions (temporary: forward to the plain loops in conv_ref.cpp
// until the im2col + sgemm kernels land).
#include "kernels/conv.h"

namespace latco {

void conv2d_forward(const ConvShape& s, const float* x, const float* w, const float* b, float* y) {
  conv2d_forward_ref(s, x, w, b, y);
}
void conv2d_backward(const ConvShape& s, const float* x, const float* w, const float* dy, float* dx, float* dw,
                     float* db) {
  conv2d_backward_ref(s, x, w, dy, dx, dw, db);
}
void conv_transpose2d_forward(const ConvShape& s, const float* x, const float* w, const float* b, float* y) {
  conv_transpose2d_forward_ref(s, x, w, b, y);
}
void conv_transpose2d_backward(const ConvShape& s, const float* x, const float* w, const float* dy, float* dx,
                               float* dw, float* db) {
  conv_transpose2d_backward_ref(s, x, w, dy, dx, dw, db);
}

}  // namespace latco
