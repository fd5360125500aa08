// Host-callable CUDA backend (implemented in cuda/*.cu, compiled only where nvcc is found):
// every function takes raw device pointers, runs on the default stream, and throws
// latco::Error (file:line, call, CUDA's message) on failure. Plain C++: include it from
// CPU code and call it under #ifdef HAVE_CUDA. Left out: streams, multi-GPU, half precision.
//
// Dispatch from autodiff (ops_*.cpp) by the device tag, one branch per op, the CPU loop unchanged:
//   if (x.value().device() == Device::CUDA) {            // under #ifdef HAVE_CUDA
//     Tensor y(x.shape(), Device::CUDA);
//     cuda::unary_forward(cuda::Unary::Tanh, y.numel(), x.value().data(), y.data());
//     return make_result(y, "tanh", {x.node()}, [](Node& self) {
//       cuda::unary_backward(cuda::Unary::Tanh, self.value.numel(), self.inputs[0]->value.data(),
//                            self.value.data(), self.grad.data(), self.inputs[0]->grad_buffer().data());
//     });
//   }
// matmul/bmm: cuda::sgemm / sgemm_batched take latco::sgemm's arguments; add/sub/mul/div:
// binary_forward/backward with the two shapes; add_scalar/mul_scalar: affine_scalar (backward axpy);
// sum/mean: sum_all / sum_axis with scale 1/n for mean; concat/slice/stack0: copy_window;
// transpose: swap_dims; conv2d/conv_transpose2d: the conv functions with the same ConvShape.
// Inputs on different devices are an error (no implicit copies).
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/tensor.h"
#include "kernels/conv.h"

namespace latco::cuda {

// ----- memory (cuda/device.cu): caching allocator with size-bucketed free lists -----
void* malloc_bytes(size_t bytes);              // throws without a device or when out of memory
void free_bytes(void* p);                      // returns p to its bucket; never throws
void copy_h2d(void* dst, const void* src, size_t bytes);
void copy_d2h(void* dst, const void* src, size_t bytes);
void copy_d2d(void* dst, const void* src, size_t bytes);
void memset_zero(void* p, size_t bytes);
void synchronize();                            // waits for the device; reports async errors
struct AllocStats {
  int64_t device_mallocs = 0;  // cudaMalloc calls made
  int64_t cache_hits = 0;      // requests served from a free list
  int64_t bytes_in_use = 0;    // handed out and not yet freed (bucket sizes)
  int64_t bytes_cached = 0;    // held in free lists
};
AllocStats alloc_stats();
void release_cache();                          // cudaFree every cached block
// Host-device copies since the process started (every copy_h2d/copy_d2h, DeviceArray
// upload/download and Tensor::to across devices); device-to-device copies are not counted.
struct CopyStats {
  int64_t uploads = 0, downloads = 0;          // host -> device, device -> host
  int64_t upload_bytes = 0, download_bytes = 0;
};
CopyStats copy_stats();

// Owning device array of T (RAII over malloc_bytes/free_bytes).
template <class T>
class DeviceArray {
 public:
  DeviceArray() = default;
  explicit DeviceArray(int64_t n) : n_(n), p_(static_cast<T*>(malloc_bytes(sizeof(T) * (n > 0 ? n : 1)))) {}
  ~DeviceArray() { free_bytes(p_); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  DeviceArray(DeviceArray&& o) noexcept : n_(o.n_), p_(o.p_) { o.p_ = nullptr; o.n_ = 0; }
  DeviceArray& operator=(DeviceArray&& o) noexcept {
    if (this != &o) { free_bytes(p_); n_ = o.n_; p_ = o.p_; o.p_ = nullptr; o.n_ = 0; }
    return *this;
  }
  T* data() { return p_; }
  const T* data() const { return p_; }
  int64_t size() const { return n_; }
  void upload(const T* host) { copy_h2d(p_, host, sizeof(T) * n_); }
  void download(T* host) const { copy_d2h(host, p_, sizeof(T) * n_); }
  void zero() { memset_zero(p_, sizeof(T) * n_); }

 private:
  int64_t n_ = 0;
  T* p_ = nullptr;
};

// ----- GEMM (cuda/gemm.cu): cuBLAS, same row-major convention and arguments as latco::sgemm -----
// C = alpha * op(A) * op(B) + beta * C;  op(A): (M x K), op(B): (K x N), C: (M x N), row strides lda/ldb/ldc.
void sgemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
           int ldb, float beta, float* C, int ldc);
// Strided batched: matrix i of A starts at A + i * stride_a (stride 0 reuses one matrix).
void sgemm_batched(int batch, bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
                   long stride_a, const float* B, int ldb, long stride_b, float beta, float* C, int ldc,
                   long stride_c);
// Double precision, same conventions (used by the block-tridiagonal solver).
void dgemm_batched(int batch, bool trans_a, bool trans_b, int M, int N, int K, double alpha, const double* A,
                   int lda, long stride_a, const double* B, int ldb, long stride_b, double beta, double* C, int ldc,
                   long stride_c);

// ----- elementwise (cuda/elementwise.cu) -----
enum class Unary { Exp, Log, Tanh, Sigmoid, Relu, Elu, Softplus, Sqrt, Square, Abs, Maximum };
const char* unary_name(Unary op);
// x, y: (n).  y = f(x); c is the constant of Maximum (y = max(x, c)), ignored by the others.
void unary_forward(Unary op, int64_t n, const float* x, float* y, float c = 0.0f);
// dx += dy * f'(x), with y = f(x) from the forward pass.  x, y, dy, dx: (n)
void unary_backward(Unary op, int64_t n, const float* x, const float* y, const float* dy, float* dx, float c = 0.0f);

enum class Binary { Add, Sub, Mul, Div };
const char* binary_name(Binary op);
// Numpy broadcasting: a_shape and b_shape align at the trailing dims; missing or size-1 dims expand.
Shape broadcast_shape(const Shape& a_shape, const Shape& b_shape);  // throws naming both shapes
// y = a op b, y: broadcast_shape(a, b)
void binary_forward(Binary op, const Shape& a_shape, const float* a, const Shape& b_shape, const float* b, float* y);
// da += reduce_to_a(dy * d(a op b)/da), db likewise (each may be null); dy: broadcast shape.
void binary_backward(Binary op, const Shape& a_shape, const float* a, const Shape& b_shape, const float* b,
                     const float* dy, float* da, float* db);
// y = a * x + b elementwise (the scalar ops add_scalar / mul_scalar);  dx += a * dy is axpy(a, dy, dx).
void affine_scalar(int64_t n, float a, float b, const float* x, float* y);
void axpy(int64_t n, float a, const float* x, float* y);  // y += a * x
void fill(int64_t n, float v, float* y);                  // y[i] = v (Tensor::fill on the device)

// ----- reductions (cuda/reduce.cu); deterministic (fixed tree order) -----
void sum_all(int64_t n, const float* x, float* y, float scale = 1.0f);  // y[0] = scale * sum(x)
void sum_all_backward(int64_t n, const float* dy, float* dx, float scale = 1.0f);  // dx[i] += scale * dy[0]
// x: (outer, len, inner) -> y: (outer, inner) = scale * sum over the middle axis (mean: scale = 1/len)
void sum_axis(int64_t outer, int64_t len, int64_t inner, const float* x, float* y, float scale = 1.0f);
// dy: (outer, inner) -> dx: (outer, len, inner) += scale * dy broadcast over the middle axis
void sum_axis_backward(int64_t outer, int64_t len, int64_t inner, const float* dy, float* dx, float scale = 1.0f);

// ----- shape ops (cuda/shape.cu) -----
// Window copy along a middle axis: dst viewed (outer, dst_len, inner), rows [dst_off, dst_off + len)
// (+)= src viewed (outer, src_len, inner), rows [src_off, src_off + len). concat, slice and their
// backward passes are all this copy (accumulate = true adds instead of overwriting).
void copy_window(int64_t outer, int64_t len, int64_t inner, const float* src, int64_t src_len, int64_t src_off,
                 float* dst, int64_t dst_len, int64_t dst_off, bool accumulate = false);
// transpose of two dims: x viewed (A, n0, B, n1, C) -> y (A, n1, B, n0, C) (+)=. Its backward is
// swap_dims(A, n1, B, n0, C, dy, dx, true).
void swap_dims(int64_t A, int64_t n0, int64_t B, int64_t n1, int64_t C, const float* x, float* y,
               bool accumulate = false);

// ----- convolution (cuda/conv.cu): im2col/col2im + cuBLAS; same contract as kernels/conv.h -----
// (ConvShape as there; backward accumulates (+=) into dx, dw, db; any may be null.)
// im2col: x (C,H,W) -> col (C*K*K, Ho*Wo) for one image of the conv geometry (C,H,W,K,stride,pad,Ho,Wo);
// col2im is its adjoint: x (C,H,W) += fold(col).
void im2col(int C, int H, int W, int K, int stride, int pad, int Ho, int Wo, const float* x, float* col);
void col2im(int C, int H, int W, int K, int stride, int pad, int Ho, int Wo, const float* col, float* x);
void conv2d_forward(const ConvShape& s, const float* x, const float* w, const float* b, float* y);
void conv2d_backward(const ConvShape& s, const float* x, const float* w, const float* dy, float* dx, float* dw,
                     float* db);
void conv_transpose2d_forward(const ConvShape& s, const float* x, const float* w, const float* b, float* y);
void conv_transpose2d_backward(const ConvShape& s, const float* x, const float* w, const float* dy, float* dx,
                               float* dw, float* db);
// Images go through in chunks whose workspace (columns, per-image weight grads) fits this many
// floats (default 16M = 64 MB; at least one image per chunk). Returns the previous value.
int64_t set_conv_workspace_floats(int64_t floats);

// ----- fused GRU cell (cuda/rssm_ops.cu), the gate math of model/transition_weights.h -----
// gx = x W_x + b_x, gh = h W_h + b_h: (B, 3D), gates ordered [r, u, n]; h, h_new: (B, D).
//   r = sigmoid(gx_r + gh_r), u = sigmoid(gx_u + gh_u), n = tanh(gx_n + r * gh_n), h_new = (1-u) n + u h
// saved: (B, 3D) receives [r, u, n] for the backward pass (may be null).
void gru_cell_forward(int B, int D, const float* gx, const float* gh, const float* h, float* h_new, float* saved);
// dh_new: (B, D) -> dgx, dgh: (B, 3D) +=, dh: (B, D) +=  (any may be null). The weight gradients are
// GEMMs of these with x and h, left to the caller.
void gru_cell_backward(int B, int D, const float* gh, const float* h, const float* saved, const float* dh_new,
                       float* dgx, float* dgh, float* dh);

// ----- the planner's RSSM Jacobians (cuda/latent_jac.cu), per sample, N samples -----
// From gru_cell_forward's saved gates [r, u, n] (N, 3D), gh = h W_h + b_h (N, 3D) and h (N, D):
//   c (N, 4, D) = [c_r, c_u, c_n, c_n r], c_n = (1-u)(1-n^2), c_r = c_n gh_n r(1-r), c_u = (h-n) u(1-u)
void gru_jacobian_coefficients(int N, int D, const float* saved, const float* gh, const float* h, float* c);
// d h'/d h: out (N, D, D), [b][d][j] = c_r[d] W_h[j][d] + c_u[d] W_h[j][D+d] + c_nr[d] W_h[j][2D+d] + [d == j] u[d]
void gru_jacobian_h(int N, int D, const float* c, const float* saved, const float* W_h, float* out);
// d h'/d x times ELU'(x): out (N, D, Hd), [b][d][k] = (c_r[d] W_x[k][d] + c_u[d] W_x[k][D+d] + c_n[d] W_x[k][2D+d]) e[b][k]
void gru_jacobian_x(int N, int D, int Hd, const float* c, const float* W_x, const float* e, float* out);
// out (N, R, K): [b][r][k] = W[k][r] e[b][k], W (K, R): a layer's W^T with its activation's derivative.
void scale_transposed(int N, int R, int K, const float* W, const float* e, float* out);
// Per sample b < N: the (rows, cols) block at src + b src_stride (row stride src_ld) to dst + b dst_stride (dst_ld).
void copy_blocks(int N, int rows, int cols, const float* src, int64_t src_stride, int src_ld, float* dst,
                 int64_t dst_stride, int dst_ld);

// ----- Gaussians (cuda/rssm_ops.cu), elementwise over n -----
// kl = KL(N(m1, s1^2) || N(m2, s2^2)) = log(s2/s1) + (s1^2 + (m1-m2)^2) / (2 s2^2) - 1/2
void kl_normal_forward(int64_t n, const float* m1, const float* s1, const float* m2, const float* s2, float* kl);
void kl_normal_backward(int64_t n, const float* m1, const float* s1, const float* m2, const float* s2,
                        const float* dkl, float* dm1, float* ds1, float* dm2, float* ds2);  // +=, any null
// lp = log N(x; m, s^2) = -((x-m)/s)^2 / 2 - log s - log(2 pi) / 2
void normal_log_prob_forward(int64_t n, const float* x, const float* m, const float* s, float* lp);
void normal_log_prob_backward(int64_t n, const float* x, const float* m, const float* s, const float* dlp,
                              float* dx, float* dm, float* ds);  // +=, any null

// ----- the replay batch on the device (cuda/batch.cu) -----
// A SequenceBatch (model/sequence_batch.h) uploaded as is, converted to the model's layout
// (Rssm::batch_tensors) on the device:
//   image (B, L, H, W, 3) uint8 -> images (L*B, 3, H, W) = image / 255 - 0.5, rows t * B + b
//   action (B, L, A) -> actions (L, B, A);   reward (B, L) -> rewards (L*B, 1)
void unpack_sequence_batch(int B, int L, int H, int W, int A, const uint8_t* image, const float* action,
                           const float* reward, float* images, float* actions, float* rewards);

// ----- Adam with global-norm clipping (cuda/adam.cu), the rule of nn/adam.h -----
struct AdamStep {
  float lr, beta1, beta2, eps;
  float clip;    // global-norm clip; 0 disables
  int64_t t;     // step number after this update (1 for the first), for bias correction
};
// Tensor i: params[i], grads[i], m[i], v[i] each of sizes[i] floats (device pointers in host arrays).
// Clips all grads together by min(1, clip / norm) (grads are read, not modified), updates p, m, v.
// Returns the global gradient norm before clipping; when it is NaN/Inf nothing is updated (as nn::Adam).
float adam_update(int count, float* const* params, const float* const* grads, float* const* m, float* const* v,
                  const int64_t* sizes, const AdamStep& s);
// sqrt(sum over tensors of sum g^2), accumulated in double.
double global_grad_norm(int count, const float* const* grads, const int64_t* sizes);
// The same norm (same order of additions) written to out[0] on the device: no copy to the host.
void global_grad_norm_device(int count, const float* const* grads, const int64_t* sizes, float* out);
// adam_update with the norm already known on the host (global_grad_norm's value): makes no copy.
// A non-finite norm updates nothing.
void adam_apply(int count, float* const* params, const float* const* grads, float* const* m, float* const* v,
                const int64_t* sizes, const AdamStep& s, double norm);

// ----- batched dense Cholesky, double (cuda/cholesky.cu); one block per matrix, n <= 1024 -----
// A: (batch, n, n) row-major SPD; overwritten by L (lower, upper triangle zeroed), A = L L^T.
// info (batch) on the device: 0, or j+1 when pivot j was not positive (L then incomplete).
void cholesky_batched(int batch, int n, double* A, int* info);
// Solves in place, per matrix: L X = R (trans = false) or L^T X = R (trans = true).
// L: (batch, n, n) lower; X: (batch, n, m) right-hand sides in, solutions out.
void trsm_lower_batched(int batch, int n, int m, const double* L, bool trans, double* X);

// ----- block-tridiagonal SPD solve on the GPU (cuda/block_tridiag.cu) -----
// The GPU twin of linalg/block_tridiag.h for `batch` independent systems at once. Per system,
// M has diagonal blocks D_t (lower triangle read) and sub-diagonal blocks B_t = M[t][t-1]
// (t >= 1; B_0 unused); it solves (M + damping I) x = b in place:
//   L_0 L_0^T = D_0 + damping I;  G_t = L_{t-1}^{-1} B_t^T  (= C_t^T of the CPU code);
//   L_t L_t^T = D_t + damping I - G_t^T G_t;
//   forward  y_t = L_t^{-1} (b_t - G_t^T y_{t-1});  backward  x_t = L_t^{-T} (y_t - G_{t+1} x_{t+1}).
// The sweep over t is sequential; each step factors and solves all `batch` systems at once
// (cholesky_batched, trsm_lower_batched, cuBLAS for the block products).
//   D, B: (batch, H, n, n), b: (batch, H, n) -> x in b.
// Returns false if some block was not numerically positive definite (b is then garbage);
// failed_system / failed_step (if non-null) receive the first such system and step, else -1.
// Device pointers:
bool block_tridiag_solve_device(int batch, int H, int n, const double* D, const double* B, double damping, double* b,
                                int* failed_system = nullptr, int* failed_step = nullptr);
// Host pointers (copied in and out):
bool cuda_block_tridiag_solve(int batch, int H, int n, const double* D, const double* B, double damping, double* b);

}  // namespace latco::cuda
