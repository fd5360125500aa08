// Reverse-mode autodiff: a graph of Nodes built as ops run, walked backward in
// one reverse topological sweep from a scalar. Each op's backward rule sits next
// to its forward in ops_*.cpp; gradients always accumulate with +=.
//   Var x = ad::leaf(t, /*requires_grad=*/true);
//   Var y = ad::sum(ad::square(ad::matmul(x, w)));
//   ad::backward(y);   // x.grad() now holds dy/dx
// Ops run on the device their inputs live on (CUDA builds: cuda/ kernels via cuda/cuda_api.h),
// outputs and grads stay there; inputs on different devices throw (no implicit copies).
// backward is non-destructive (the graph can be swept again); interior grads are
// released during the sweep, leaf grads accumulate until zeroed. Graphs may be built
// on several threads at once, but sweeps that reach the same leaves must not overlap.
// Deliberately left out: higher-order gradients (backward does not build a graph),
// in-place ops on Vars.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace latco::ad {

struct Node {
  Tensor value;
  Tensor grad;                 // allocated (zeros) on first accumulation
  bool requires_grad = false;
  const char* op = "leaf";
  std::vector<std::shared_ptr<Node>> inputs;
  // Reads this->grad and accumulates (+=) into inputs[i]->grad for inputs that require grad.
  std::function<void(Node&)> backward;
  std::string name;            // parameters carry their name (for NaN reports)
  Tensor& grad_buffer();       // grad, allocated as zeros if needed
  ~Node();                     // releases deep input chains iteratively (no recursion)
};

class Var {
 public:
  Var() = default;
  explicit Var(std::shared_ptr<Node> n) : node_(std::move(n)) {}
  bool defined() const { return node_ != nullptr; }
  const Tensor& value() const { return node_->value; }
  Tensor& mutable_value() { return node_->value; }   // for optimisers and loading
  Tensor& grad() { return node_->grad_buffer(); }
  bool has_grad() const { return node_->grad.defined(); }
  bool requires_grad() const { return node_->requires_grad; }
  const Shape& shape() const { return node_->value.shape(); }
  int64_t size(int d) const { return node_->value.size(d); }
  int dim() const { return node_->value.dim(); }
  float item() const { return node_->value.item(); }
  const std::shared_ptr<Node>& node() const { return node_; }

 private:
  std::shared_ptr<Node> node_;
};

// ----- graph control -----
Var leaf(const Tensor& value, bool requires_grad = false, const std::string& name = "");
Var constant(const Tensor& value);             // leaf without grad
void backward(const Var& loss);                // loss: numel 1; seeds d loss = 1
void backward(const Var& y, const Tensor& seed);  // seed has y's shape
void zero_grad(const std::vector<Var>& vars);
bool grad_enabled();
struct NoGradGuard {                           // ops inside build no graph
  NoGradGuard();
  ~NoGradGuard();
  bool prev;
};

// Vector-Jacobian products for S seeds at once: rows of  seeds (S, numel(y)) x dy/dx
// -> (S, numel(x)) for each x in xs. The graph from xs to y must already be built;
// each x must require grad (a leaf or an interior node); each result lives on x's device, and a
// GPU graph takes its seeds from either device. Only the part of the graph
// between xs and y is swept: other leaves' grads and the xs' own grads are untouched.
std::vector<Tensor> vjp_batched(const Var& y, const std::vector<Var>& xs, const Tensor& seeds);

// ----- linear algebra -----
Var matmul(const Var& a, const Var& b, bool trans_a = false, bool trans_b = false);  // (M,K)x(K,N)
Var bmm(const Var& a, const Var& b, bool trans_a = false, bool trans_b = false);     // (B,M,K)x(B,K,N)

// ----- elementwise binary with broadcasting -----
// Shapes broadcast numpy-style: aligned at the trailing dims, size-1 or missing
// dims expand; e.g. (B,N)+(N), (B,N)*(B,1), (B,C,H,W)+(1,C,1,1).
Var add(const Var& a, const Var& b);
Var sub(const Var& a, const Var& b);
Var mul(const Var& a, const Var& b);
Var div(const Var& a, const Var& b);
inline Var operator+(const Var& a, const Var& b) { return add(a, b); }
inline Var operator-(const Var& a, const Var& b) { return sub(a, b); }
inline Var operator*(const Var& a, const Var& b) { return mul(a, b); }
inline Var operator/(const Var& a, const Var& b) { return div(a, b); }

// ----- scalar ops -----
Var add_scalar(const Var& a, float s);
Var mul_scalar(const Var& a, float s);
inline Var operator+(const Var& a, float s) { return add_scalar(a, s); }
inline Var operator*(const Var& a, float s) { return mul_scalar(a, s); }
inline Var operator-(const Var& a) { return mul_scalar(a, -1.0f); }
inline Var operator-(const Var& a, float s) { return add_scalar(a, -s); }
inline Var operator+(float s, const Var& a) { return add_scalar(a, s); }
inline Var operator*(float s, const Var& a) { return mul_scalar(a, s); }
inline Var operator-(float s, const Var& a) { return add_scalar(mul_scalar(a, -1.0f), s); }

// The same value cut from the graph (a constant): no gradient flows through it.
Var detach(const Var& x);

// ----- elementwise unary -----
Var exp(const Var& x);
Var log(const Var& x);
Var tanh(const Var& x);
Var sigmoid(const Var& x);
Var relu(const Var& x);
Var elu(const Var& x);               // alpha = 1
Var softplus(const Var& x);          // log(1 + e^x), stable
Var sqrt(const Var& x);
Var square(const Var& x);
Var abs(const Var& x);
Var maximum(const Var& x, float c);  // max(x, c); gradient 0 where x < c

// ----- reductions -----
Var sum(const Var& x);                                   // -> scalar (shape {})
Var mean(const Var& x);
Var sum(const Var& x, int axis, bool keepdim = false);
Var mean(const Var& x, int axis, bool keepdim = false);

// ----- shape -----
Var concat(const std::vector<Var>& xs, int axis);
Var slice(const Var& x, int axis, int64_t begin, int64_t end);
Var reshape(const Var& x, const Shape& shape);
Var transpose(const Var& x, int d0, int d1);             // swaps two dims (copies)
Var stack0(const std::vector<Var>& xs);                  // new leading dim

// ----- convolution, NCHW; weights (O,C,kh,kw) for conv2d, (C_in,C_out,kh,kw) for conv_transpose2d -----
Var conv2d(const Var& x, const Var& w, const Var& b, int stride, int pad);
Var conv_transpose2d(const Var& x, const Var& w, const Var& b, int stride, int pad, int output_pad = 0);

// ----- distributions (elementwise; sum over axes yourself) -----
// KL( N(m1, s1^2) || N(m2, s2^2) ) per element.
Var kl_normal(const Var& m1, const Var& s1, const Var& m2, const Var& s2);
// log N(x; m, s^2) per element.
Var normal_log_prob(const Var& x, const Var& m, const Var& s);
// Reparameterised sample m + s * eps (eps a fixed tensor of standard normals).
Var sample_normal(const Var& m, const Var& s, const Tensor& eps);

}  // namespace latco::ad
