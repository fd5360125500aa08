// Elementwise kernels: the unary functions of autodiff/var.h with their derivatives, the
// broadcasting binary ops with their gradients summed back onto broadcast inputs, scalar ops.
// Mirrors autodiff/ops_elementwise.cpp formula for formula. Left out: in-place variants, fusion.
#include <algorithm>
#include <cmath>
#include <vector>

#include "common.cuh"

namespace latco::cuda {

const char* unary_name(Unary op) {
  switch (op) {
    case Unary::Exp: return "exp";
    case Unary::Log: return "log";
    case Unary::Tanh: return "tanh";
    case Unary::Sigmoid: return "sigmoid";
    case Unary::Relu: return "relu";
    case Unary::Elu: return "elu";
    case Unary::Softplus: return "softplus";
    case Unary::Sqrt: return "sqrt";
    case Unary::Square: return "square";
    case Unary::Abs: return "abs";
    case Unary::Maximum: return "maximum";
  }
  return "?";
}

const char* binary_name(Binary op) {
  switch (op) {
    case Binary::Add: return "add";
    case Binary::Sub: return "sub";
    case Binary::Mul: return "mul";
    case Binary::Div: return "div";
  }
  return "?";
}

// ----- unary -----
namespace {

__device__ __forceinline__ float sigmoid_d(float x) {
  if (x >= 0) return 1.0f / (1.0f + expf(-x));
  float e = expf(x);
  return e / (1.0f + e);
}

template <Unary OP>
__device__ __forceinline__ float f_fwd(float x, float c) {
  switch (OP) {
    case Unary::Exp: return expf(x);
    case Unary::Log: return logf(x);
    case Unary::Tanh: return tanhf(x);
    case Unary::Sigmoid: return sigmoid_d(x);
    case Unary::Relu: return x > 0 ? x : 0.0f;
    case Unary::Elu: return x > 0 ? x : expm1f(x);
    case Unary::Softplus: return fmaxf(x, 0.0f) + log1pf(expf(-fabsf(x)));  // stable log(1 + e^x)
    case Unary::Sqrt: return sqrtf(x);
    case Unary::Square: return x * x;
    case Unary::Abs: return fabsf(x);
    case Unary::Maximum: return x < c ? c : x;
  }
  return 0.0f;
}

// f'(x), given y = f(x) where that is cheaper.
template <Unary OP>
__device__ __forceinline__ float f_deriv(float x, float y, float c) {
  switch (OP) {
    case Unary::Exp: return y;
    case Unary::Log: return 1.0f / x;
    case Unary::Tanh: return 1.0f - y * y;
    case Unary::Sigmoid: return y * (1.0f - y);
    case Unary::Relu: return x > 0 ? 1.0f : 0.0f;
    case Unary::Elu: return x > 0 ? 1.0f : y + 1.0f;
    case Unary::Softplus: return sigmoid_d(x);
    case Unary::Sqrt: return 0.5f / y;
    case Unary::Square: return 2.0f * x;
    case Unary::Abs: return x > 0 ? 1.0f : (x < 0 ? -1.0f : 0.0f);
    case Unary::Maximum: return x < c ? 0.0f : 1.0f;
  }
  return 0.0f;
}

template <Unary OP>
__global__ void unary_forward_kernel(int64_t n, const float* __restrict__ x, float* __restrict__ y, float c) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    y[i] = f_fwd<OP>(x[i], c);
}

template <Unary OP>
__global__ void unary_backward_kernel(int64_t n, const float* __restrict__ x, const float* __restrict__ y,
                                      const float* __restrict__ dy, float* __restrict__ dx, float c) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    dx[i] += dy[i] * f_deriv<OP>(x[i], y[i], c);
}

template <Unary OP>
void launch_unary(bool backward, int64_t n, const float* x, const float* y, const float* dy, float* out, float c) {
  if (backward) unary_backward_kernel<OP><<<grid_for(n), kThreads>>>(n, x, y, dy, out, c);
  else unary_forward_kernel<OP><<<grid_for(n), kThreads>>>(n, x, out, c);
  cudaCheckLaunch();
}

void dispatch_unary(Unary op, bool backward, int64_t n, const float* x, const float* y, const float* dy, float* out,
                    float c) {
  if (n <= 0) return;
  switch (op) {
    case Unary::Exp: return launch_unary<Unary::Exp>(backward, n, x, y, dy, out, c);
    case Unary::Log: return launch_unary<Unary::Log>(backward, n, x, y, dy, out, c);
    case Unary::Tanh: return launch_unary<Unary::Tanh>(backward, n, x, y, dy, out, c);
    case Unary::Sigmoid: return launch_unary<Unary::Sigmoid>(backward, n, x, y, dy, out, c);
    case Unary::Relu: return launch_unary<Unary::Relu>(backward, n, x, y, dy, out, c);
    case Unary::Elu: return launch_unary<Unary::Elu>(backward, n, x, y, dy, out, c);
    case Unary::Softplus: return launch_unary<Unary::Softplus>(backward, n, x, y, dy, out, c);
    case Unary::Sqrt: return launch_unary<Unary::Sqrt>(backward, n, x, y, dy, out, c);
    case Unary::Square: return launch_unary<Unary::Square>(backward, n, x, y, dy, out, c);
    case Unary::Abs: return launch_unary<Unary::Abs>(backward, n, x, y, dy, out, c);
    case Unary::Maximum: return launch_unary<Unary::Maximum>(backward, n, x, y, dy, out, c);
  }
  LATCO_FAIL("cuda unary: unknown op " << (int)op);
}

}  // namespace

void unary_forward(Unary op, int64_t n, const float* x, float* y, float c) {
  dispatch_unary(op, false, n, x, nullptr, nullptr, y, c);
}
void unary_backward(Unary op, int64_t n, const float* x, const float* y, const float* dy, float* dx, float c) {
  dispatch_unary(op, true, n, x, y, dy, dx, c);
}

// ----- scalar ops -----
namespace {
__global__ void affine_kernel(int64_t n, float a, float b, const float* __restrict__ x, float* __restrict__ y) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    y[i] = a * x[i] + b;
}
__global__ void axpy_kernel(int64_t n, float a, const float* __restrict__ x, float* __restrict__ y) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    y[i] += a * x[i];
}
__global__ void fill_kernel(int64_t n, float v, float* __restrict__ y) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    y[i] = v;
}
}  // namespace

void affine_scalar(int64_t n, float a, float b, const float* x, float* y) {
  if (n <= 0) return;
  affine_kernel<<<grid_for(n), kThreads>>>(n, a, b, x, y);
  cudaCheckLaunch();
}
void axpy(int64_t n, float a, const float* x, float* y) {
  if (n <= 0) return;
  axpy_kernel<<<grid_for(n), kThreads>>>(n, a, x, y);
  cudaCheckLaunch();
}
// +0.0f is all zero bytes: a memset; any other value (-0.0f included) goes through the kernel.
void fill(int64_t n, float v, float* y) {
  if (n <= 0) return;
  if (v == 0.0f && !std::signbit(v)) return memset_zero(y, sizeof(float) * n);
  fill_kernel<<<grid_for(n), kThreads>>>(n, v, y);
  cudaCheckLaunch();
}

// ----- binary with broadcasting -----
// The output index space is collapsed as on the CPU (size-1 dims dropped, neighbours whose
// strides chain for both inputs merged), so typical cases have one to three dims.
namespace {

constexpr int kMaxDims = 8;

struct Bcast {
  int nd = 0;
  int64_t numel = 1;
  int64_t dims[kMaxDims];  // collapsed output dims
  int64_t so[kMaxDims];    // output strides (contiguous)
  int64_t sa[kMaxDims];    // a's strides, 0 along broadcast dims
  int64_t sb[kMaxDims];    // b's strides
};

Bcast make_bcast(const Shape& a, const Shape& b) {
  const int na = (int)a.size(), nb = (int)b.size(), nd = std::max(na, nb);
  std::vector<int64_t> out(nd), sa(nd), sb(nd);
  int64_t stride_a = 1, stride_b = 1;
  for (int k = nd - 1; k >= 0; --k) {
    const int ka = k - (nd - na), kb = k - (nd - nb);
    const int64_t da = ka >= 0 ? a[ka] : 1, db = kb >= 0 ? b[kb] : 1;
    if (da != db && da != 1 && db != 1) LATCO_FAIL("cuda binary op: cannot broadcast " << shape_str(a) << " with " << shape_str(b));
    out[k] = da == 1 ? db : da;
    sa[k] = da == 1 ? 0 : stride_a;
    sb[k] = db == 1 ? 0 : stride_b;
    stride_a *= da;
    stride_b *= db;
  }
  Bcast p;
  std::vector<int64_t> dims, csa, csb;
  for (int k = 0; k < nd; ++k) {
    p.numel *= out[k];
    if (out[k] == 1) continue;
    if (!dims.empty() && csa.back() == sa[k] * out[k] && csb.back() == sb[k] * out[k]) {
      dims.back() *= out[k];
      csa.back() = sa[k];
      csb.back() = sb[k];
      continue;
    }
    dims.push_back(out[k]);
    csa.push_back(sa[k]);
    csb.push_back(sb[k]);
  }
  LATCO_CHECK((int)dims.size() <= kMaxDims) << "cuda binary op: " << dims.size() << " dims after collapsing "
                                            << shape_str(a) << " with " << shape_str(b) << "; at most " << kMaxDims;
  p.nd = (int)dims.size();
  int64_t s = 1;
  for (int k = p.nd - 1; k >= 0; --k) {
    p.dims[k] = dims[k];
    p.sa[k] = csa[k];
    p.sb[k] = csb[k];
    p.so[k] = s;
    s *= dims[k];
  }
  return p;
}

template <Binary OP>
__device__ __forceinline__ float bin_fwd(float a, float b) {
  switch (OP) {
    case Binary::Add: return a + b;
    case Binary::Sub: return a - b;
    case Binary::Mul: return a * b;
    case Binary::Div: return a / b;
  }
  return 0.0f;
}

// d(a op b) contribution to side SIDE (0 = a, 1 = b) for upstream gradient g.
template <Binary OP, int SIDE>
__device__ __forceinline__ float bin_grad(float a, float b, float g) {
  switch (OP) {
    case Binary::Add: return g;
    case Binary::Sub: return SIDE == 0 ? g : -g;
    case Binary::Mul: return SIDE == 0 ? g * b : g * a;
    case Binary::Div: return SIDE == 0 ? g / b : -g * (a / b) / b;
  }
  return 0.0f;
}

template <Binary OP>
__global__ void binary_forward_kernel(Bcast p, const float* __restrict__ a, const float* __restrict__ b,
                                      float* __restrict__ y) {
  for (int64_t o = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; o < p.numel; o += (int64_t)gridDim.x * blockDim.x) {
    int64_t r = o, ia = 0, ib = 0;
    for (int k = p.nd - 1; k >= 0; --k) {
      int64_t c = r % p.dims[k];
      r /= p.dims[k];
      ia += c * p.sa[k];
      ib += c * p.sb[k];
    }
    y[o] = bin_fwd<OP>(a[ia], b[ib]);
  }
}

// The gradient of side SIDE, one warp per element of that input: the warp's lanes stride over
// the output elements broadcast from it and sum them with a fixed shuffle tree (deterministic).
//   target: (n_target) += sum over its broadcast copies
template <Binary OP, int SIDE>
__global__ void binary_grad_kernel(Bcast p, int64_t n_target, const float* __restrict__ a,
                                   const float* __restrict__ b, const float* __restrict__ dy,
                                   float* __restrict__ target) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = (int64_t)gridDim.x * (blockDim.x / 32);
  const int64_t count = p.numel / (n_target > 0 ? n_target : 1);  // output elements per target element
  for (int64_t t = blockIdx.x * (int64_t)(blockDim.x / 32) + threadIdx.x / 32; t < n_target; t += warps) {
    // output offset and other-side offset of the kept coordinates
    int64_t base_o = 0, base_other = 0;
    for (int k = 0; k < p.nd; ++k) {
      int64_t st = SIDE == 0 ? p.sa[k] : p.sb[k];
      if (st == 0) continue;
      int64_t c = (t / st) % p.dims[k];
      base_o += c * p.so[k];
      base_other += c * (SIDE == 0 ? p.sb[k] : p.sa[k]);
    }
    float acc = 0.0f;
    for (int64_t j = lane; j < count; j += 32) {
      int64_t r = j, o = base_o, other = base_other;
      for (int k = p.nd - 1; k >= 0; --k) {  // j enumerates the broadcast (stride-0) dims
        int64_t st = SIDE == 0 ? p.sa[k] : p.sb[k];
        if (st != 0) continue;
        int64_t c = r % p.dims[k];
        r /= p.dims[k];
        o += c * p.so[k];
        other += c * (SIDE == 0 ? p.sb[k] : p.sa[k]);
      }
      float va = SIDE == 0 ? a[t] : a[other];
      float vb = SIDE == 0 ? b[other] : b[t];
      acc += bin_grad<OP, SIDE>(va, vb, dy[o]);
    }
    for (int off = 16; off > 0; off >>= 1) acc += __shfl_down_sync(0xffffffffu, acc, off);
    if (lane == 0) target[t] += acc;
  }
}

// Same-shape side: one thread per output element, no reduction.
template <Binary OP, int SIDE>
__global__ void binary_grad_direct_kernel(Bcast p, const float* __restrict__ a, const float* __restrict__ b,
                                          const float* __restrict__ dy, float* __restrict__ target) {
  for (int64_t o = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; o < p.numel; o += (int64_t)gridDim.x * blockDim.x) {
    int64_t r = o, ia = 0, ib = 0;
    for (int k = p.nd - 1; k >= 0; --k) {
      int64_t c = r % p.dims[k];
      r /= p.dims[k];
      ia += c * p.sa[k];
      ib += c * p.sb[k];
    }
    target[o] += bin_grad<OP, SIDE>(a[ia], b[ib], dy[o]);
  }
}

template <Binary OP, int SIDE>
void launch_grad(const Bcast& p, int64_t n_target, const float* a, const float* b, const float* dy, float* target) {
  if (n_target == p.numel) {
    binary_grad_direct_kernel<OP, SIDE><<<grid_for(p.numel), kThreads>>>(p, a, b, dy, target);
  } else {
    const int warps_per_block = kThreads / 32;
    binary_grad_kernel<OP, SIDE><<<grid_for(n_target, warps_per_block), kThreads>>>(p, n_target, a, b, dy, target);
  }
  cudaCheckLaunch();
}

template <Binary OP>
void binary_impl(bool backward, const Bcast& p, int64_t na, int64_t nb, const float* a, const float* b,
                 const float* dy, float* y_or_da, float* db) {
  if (!backward) {
    binary_forward_kernel<OP><<<grid_for(p.numel), kThreads>>>(p, a, b, y_or_da);
    cudaCheckLaunch();
    return;
  }
  if (y_or_da) launch_grad<OP, 0>(p, na, a, b, dy, y_or_da);
  if (db) launch_grad<OP, 1>(p, nb, a, b, dy, db);
}

void dispatch_binary(Binary op, bool backward, const Shape& as, const float* a, const Shape& bs, const float* b,
                     const float* dy, float* y_or_da, float* db) {
  Bcast p = make_bcast(as, bs);
  if (p.numel == 0) return;
  const int64_t na = shape_numel(as), nb = shape_numel(bs);
  switch (op) {
    case Binary::Add: return binary_impl<Binary::Add>(backward, p, na, nb, a, b, dy, y_or_da, db);
    case Binary::Sub: return binary_impl<Binary::Sub>(backward, p, na, nb, a, b, dy, y_or_da, db);
    case Binary::Mul: return binary_impl<Binary::Mul>(backward, p, na, nb, a, b, dy, y_or_da, db);
    case Binary::Div: return binary_impl<Binary::Div>(backward, p, na, nb, a, b, dy, y_or_da, db);
  }
  LATCO_FAIL("cuda binary: unknown op " << (int)op);
}

}  // namespace

Shape broadcast_shape(const Shape& a, const Shape& b) {
  const int na = (int)a.size(), nb = (int)b.size(), nd = std::max(na, nb);
  Shape out(nd);
  for (int k = 0; k < nd; ++k) {
    const int ka = k - (nd - na), kb = k - (nd - nb);
    const int64_t da = ka >= 0 ? a[ka] : 1, db = kb >= 0 ? b[kb] : 1;
    if (da != db && da != 1 && db != 1) LATCO_FAIL("cuda binary op: cannot broadcast " << shape_str(a) << " with " << shape_str(b));
    out[k] = da == 1 ? db : da;
  }
  return out;
}

void binary_forward(Binary op, const Shape& a_shape, const float* a, const Shape& b_shape, const float* b, float* y) {
  dispatch_binary(op, false, a_shape, a, b_shape, b, nullptr, y, nullptr);
}

void binary_backward(Binary op, const Shape& a_shape, const float* a, const Shape& b_shape, const float* b,
                     const float* dy, float* da, float* db) {
  dispatch_binary(op, true, a_shape, a, b_shape, b, dy, da, db);
}

}  // namespace latco::cuda
