// Matrix products: matmul (M,K)x(K,N) and batched bmm (B,M,K)x(B,K,N), each with
// optional transposes of the stored operands. Forward and both gradients are
// sgemm calls with transpose flags (no transposed copies), accumulating (beta 1);
// cuBLAS (cuda::sgemm, same arguments) when the operands live on the GPU.
// Left out: broadcasting batch dims, integer or mixed dtypes.
#include "autodiff/ops_util.h"
#include "cuda/cuda_api.h"
#include "kernels/gemm.h"

namespace latco::ad {
using detail::check_defined;
using detail::make_result;
using detail::wants;

namespace {

// C = op(A) op(B) for `batch` matrices; shapes of the stored operands:
//   A: (M,K) or (K,M) if ta;  B: (K,N) or (N,K) if tb;  C: (M,N).
// Gradients (dC = G):
//   dop(A) = G op(B)^T (M,K),   dop(B) = op(A)^T G (K,N),
// written into the stored layout (transposed when ta / tb).
struct Mm {
  int batch, M, N, K;
  bool ta, tb;
  bool gpu;  // operands on the GPU: cuda::sgemm instead of latco::sgemm
  long sa() const { return long(M) * K; }
  long sb() const { return long(K) * N; }
  long sc() const { return long(M) * N; }
};

void mm_forward(const Mm& m, const float* A, const float* B, float* C) {
  const int lda = m.ta ? m.M : m.K, ldb = m.tb ? m.K : m.N;
#ifdef HAVE_CUDA
  if (m.gpu) {
    if (m.batch == 1) cuda::sgemm(m.ta, m.tb, m.M, m.N, m.K, 1.0f, A, lda, B, ldb, 0.0f, C, m.N);
    else cuda::sgemm_batched(m.batch, m.ta, m.tb, m.M, m.N, m.K, 1.0f, A, lda, m.sa(), B, ldb, m.sb(), 0.0f, C, m.N,
                             m.sc());
    return;
  }
#endif
  if (m.batch == 1) sgemm(m.ta, m.tb, m.M, m.N, m.K, 1.0f, A, lda, B, ldb, 0.0f, C, m.N);
  else sgemm_batched(m.batch, m.ta, m.tb, m.M, m.N, m.K, 1.0f, A, lda, m.sa(), B, ldb, m.sb(), 0.0f, C, m.N, m.sc());
}

// out = op_x(X) op_y(Y) accumulated into a stored (rows, cols) matrix, batched.
void gemm_acc(const Mm& m, bool tx, bool ty, int rows, int cols, int inner, const float* X, int ldx, long sx,
              const float* Y, int ldy, long sy, float* out) {
#ifdef HAVE_CUDA
  if (m.gpu) {
    if (m.batch == 1) cuda::sgemm(tx, ty, rows, cols, inner, 1.0f, X, ldx, Y, ldy, 1.0f, out, cols);
    else cuda::sgemm_batched(m.batch, tx, ty, rows, cols, inner, 1.0f, X, ldx, sx, Y, ldy, sy, 1.0f, out, cols,
                             long(rows) * cols);
    return;
  }
#endif
  if (m.batch == 1) sgemm(tx, ty, rows, cols, inner, 1.0f, X, ldx, Y, ldy, 1.0f, out, cols);
  else sgemm_batched(m.batch, tx, ty, rows, cols, inner, 1.0f, X, ldx, sx, Y, ldy, sy, 1.0f, out, cols,
                     long(rows) * cols);
}

void mm_backward(const Mm& m, const float* A, const float* B, const float* G, float* dA, float* dB) {
  const int M = m.M, N = m.N, K = m.K;
  const long sa = m.sa(), sb = m.sb(), sg = m.sc();
  if (dA) {
    if (!m.ta) {  // dA (M,K) = G op(B)^T
      if (!m.tb) gemm_acc(m, false, true, M, K, N, G, N, sg, B, N, sb, dA);   // B (K,N)
      else gemm_acc(m, false, false, M, K, N, G, N, sg, B, K, sb, dA);        // B (N,K)
    } else {      // dA stored (K,M) = op(B) G^T
      if (!m.tb) gemm_acc(m, false, true, K, M, N, B, N, sb, G, N, sg, dA);   // B (K,N)
      else gemm_acc(m, true, true, K, M, N, B, K, sb, G, N, sg, dA);          // B (N,K)
    }
  }
  if (dB) {
    if (!m.tb) {  // dB (K,N) = op(A)^T G
      if (!m.ta) gemm_acc(m, true, false, K, N, M, A, K, sa, G, N, sg, dB);   // A (M,K)
      else gemm_acc(m, false, false, K, N, M, A, M, sa, G, N, sg, dB);       // A (K,M)
    } else {      // dB stored (N,K) = G^T op(A)
      if (!m.ta) gemm_acc(m, true, false, N, K, M, G, N, sg, A, K, sa, dB);   // A (M,K)
      else gemm_acc(m, true, true, N, K, M, G, N, sg, A, M, sa, dB);          // A (K,M)
    }
  }
}

Var mm_op(const char* op, const Var& a, const Var& b, bool ta, bool tb, bool batched) {
  check_defined(op, a);
  check_defined(op, b);
  const Device dev = detail::common_device(op, {a, b});
  const int nd = batched ? 3 : 2;
  if (a.dim() != nd || b.dim() != nd)
    LATCO_FAIL(op << ": expects " << nd << "-d operands, got " << shape_str(a.shape()) << " and "
                  << shape_str(b.shape()));
  const int o = batched ? 1 : 0;
  const int64_t M = ta ? a.size(o + 1) : a.size(o), Ka = ta ? a.size(o) : a.size(o + 1);
  const int64_t Kb = tb ? b.size(o + 1) : b.size(o), N = tb ? b.size(o) : b.size(o + 1);
  const int64_t batch = batched ? a.size(0) : 1;
  if (Ka != Kb || (batched && b.size(0) != batch))
    LATCO_FAIL(op << ": shape mismatch " << shape_str(a.shape()) << (ta ? "^T" : "") << " x "
                  << shape_str(b.shape()) << (tb ? "^T" : ""));
  Mm m{int(batch), int(M), int(N), int(Ka), ta, tb, dev == Device::CUDA};
  Shape ys = batched ? Shape{batch, M, N} : Shape{M, N};
  Tensor y(ys, dev);
  if (m.K == 0) y.zero();
  else if (y.numel() > 0) mm_forward(m, a.value().data(), b.value().data(), y.data());
  return make_result(y, op, {a.node(), b.node()}, [m](Node& self) {
    if (m.K == 0 || self.value.numel() == 0) return;
    float* dA = wants(self, 0) ? self.inputs[0]->grad_buffer().data() : nullptr;
    float* dB = wants(self, 1) ? self.inputs[1]->grad_buffer().data() : nullptr;
    mm_backward(m, self.inputs[0]->value.data(), self.inputs[1]->value.data(), self.grad.data(), dA, dB);
  });
}

}  // namespace

Var matmul(const Var& a, const Var& b, bool trans_a, bool trans_b) {
  return mm_op("matmul", a, b, trans_a, trans_b, false);
}
Var bmm(const Var& a, const Var& b, bool trans_a, bool trans_b) { return mm_op("bmm", a, b, trans_a, trans_b, true); }

}  // namespace latco::ad
