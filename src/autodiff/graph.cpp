// The graph machinery of var.h: leaves, result nodes, the topological order
// (iterative DFS, insertion-ordered), the reverse sweep, vjp_batched, NoGradGuard.
// Device-neutral except for seeding: a graph on the GPU takes its seeds from either device.
// Left out: the ops themselves (ops_*.cpp) and higher-order gradients.
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "autodiff/ops_util.h"
#include "cuda/cuda_api.h"

namespace latco::ad {

namespace {
thread_local bool g_grad_enabled = true;
}

Tensor& Node::grad_buffer() {
  if (!grad.defined()) grad = Tensor::zeros(value.shape(), value.device());
  return grad;
}

// Dropping the last reference to a 50-step graph would otherwise recurse once per
// node through the shared_ptr destructors; unlink the chain with an explicit stack.
Node::~Node() {
  std::vector<std::shared_ptr<Node>> stack = std::move(inputs);
  while (!stack.empty()) {
    std::shared_ptr<Node> n = std::move(stack.back());
    stack.pop_back();
    if (n && n.use_count() == 1) {
      for (auto& in : n->inputs) stack.push_back(std::move(in));
      n->inputs.clear();
    }
  }
}

Var leaf(const Tensor& value, bool requires_grad, const std::string& name) {
  LATCO_CHECK(value.defined()) << "leaf: undefined tensor" << (name.empty() ? "" : " for '" + name + "'");
  auto n = std::make_shared<Node>();
  n->value = value;
  n->requires_grad = requires_grad;
  n->name = name;
  return Var(n);
}

Var constant(const Tensor& value) { return leaf(value, false); }

Var detach(const Var& x) { return constant(x.value()); }

bool grad_enabled() { return g_grad_enabled; }
NoGradGuard::NoGradGuard() : prev(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = prev; }

void zero_grad(const std::vector<Var>& vars) {
  for (const Var& v : vars)
    if (v.defined() && v.has_grad()) v.node()->grad.zero();
}

namespace detail {
Var make_result(Tensor value, const char* op, std::vector<std::shared_ptr<Node>> inputs,
                std::function<void(Node&)> bw) {
  auto n = std::make_shared<Node>();
  n->value = std::move(value);
  n->op = op;
  bool any = false;
  if (g_grad_enabled)
    for (const auto& in : inputs) any = any || in->requires_grad;
  if (any) {
    n->requires_grad = true;
    n->inputs = std::move(inputs);
    n->backward = std::move(bw);
  }
  return Var(n);
}
}  // namespace detail

namespace {

// Nodes that require grad and reach `root`, inputs before their consumers
// (post-order of an iterative DFS that visits inputs in insertion order).
std::vector<Node*> topo_order(Node* root) {
  std::vector<Node*> order;
  if (!root->requires_grad) return order;
  std::unordered_set<Node*> seen;
  std::vector<std::pair<Node*, size_t>> stack;  // (node, next input to visit)
  stack.push_back({root, 0});
  seen.insert(root);
  while (!stack.empty()) {
    auto& [n, next] = stack.back();
    if (next < n->inputs.size()) {
      Node* c = n->inputs[next++].get();
      if (c->requires_grad && seen.insert(c).second) stack.push_back({c, 0});
    } else {
      order.push_back(n);
      stack.pop_back();
    }
  }
  return order;
}

// One reverse sweep over `order` (root last). The root's grad must be set.
// Interior grads are released as soon as they have been propagated; leaf grads stay.
// on_done(n) sees each node's complete grad before it is released.
template <class OnDone>
void sweep(const std::vector<Node*>& order, OnDone on_done) {
  for (size_t k = order.size(); k-- > 0;) {
    Node* n = order[k];
    if (!n->grad.defined()) continue;  // nothing reached it (e.g. gradient path cut)
    on_done(n);
    if (n->backward) {
      n->backward(*n);
      n->grad = Tensor();
    }
  }
}

void seed_root(Node* root, const Tensor& seed) {
  LATCO_CHECK(seed.shape() == root->value.shape())
      << "backward: seed shape " << shape_str(seed.shape()) << " vs output shape " << shape_str(root->value.shape());
  // An interior root starts from the seed; a leaf root accumulates it like any leaf.
  Tensor& g = root->grad_buffer();
#ifdef HAVE_CUDA
  if (detail::on_cuda(g)) {  // the seed may be on either device (backward(loss) seeds from the host)
    const Tensor s = seed.to(Device::CUDA);
    if (root->backward) g.copy_from(s);
    else cuda::axpy(g.numel(), 1.0f, s.data(), g.data());
    return;
  }
#endif
  if (root->backward) g.copy_from(seed);
  else for (int64_t i = 0; i < g.numel(); ++i) g[i] += seed[i];
}

void clear_interior_grads(const std::vector<Node*>& order) {
  for (Node* n : order)
    if (n->backward) n->grad = Tensor();
}

}  // namespace

void backward(const Var& y, const Tensor& seed) {
  LATCO_CHECK(y.defined()) << "backward: undefined Var";
  Node* root = y.node().get();
  if (!root->requires_grad)
    LATCO_FAIL("backward: the output does not require grad (no input requires grad, or it was built under "
               "NoGradGuard); nothing to differentiate");
  if (!detail::on_cuda(root->value)) detail::check_cpu("backward", seed);
  std::vector<Node*> order = topo_order(root);
  clear_interior_grads(order);  // leftovers of a sweep interrupted by an exception
  seed_root(root, seed);
  sweep(order, [](Node*) {});
}

void backward(const Var& loss) {
  LATCO_CHECK(loss.defined()) << "backward: undefined Var";
  LATCO_CHECK(loss.value().numel() == 1)
      << "backward: loss must have one element, got shape " << shape_str(loss.shape())
      << " (reduce it with ad::sum/mean, or pass a seed)";
  backward(loss, Tensor::full(loss.shape(), 1.0f));
}

std::vector<Tensor> vjp_batched(const Var& y, const std::vector<Var>& xs, const Tensor& seeds) {
  LATCO_CHECK(y.defined()) << "vjp_batched: undefined output";
  const int64_t ny = y.value().numel();
  LATCO_CHECK(seeds.dim() == 2 && seeds.size(1) == ny)
      << "vjp_batched: seeds must be (S, numel(y)) = (S, " << ny << "), got " << shape_str(seeds.shape());
  if (!detail::on_cuda(y.value())) detail::check_cpu("vjp_batched", seeds);
  const int64_t S = seeds.size(0);
  std::vector<Tensor> out;
  for (const Var& x : xs) {
    LATCO_CHECK(x.defined()) << "vjp_batched: undefined input";
    LATCO_CHECK(x.requires_grad()) << "vjp_batched: input " << out.size() << " (shape " << shape_str(x.shape())
                                   << ") does not require grad; make it a leaf with requires_grad=true";
    out.push_back(Tensor::zeros({S, x.value().numel()}, x.value().device()));
  }
  Node* root = y.node().get();
  if (!root->requires_grad || S == 0) return out;  // y does not depend on anything differentiable

  // Restrict the sweep to nodes on a path from some x to y: other nodes (e.g. model
  // parameters) are switched off for the duration so their grads are untouched and
  // their backward work skipped.
  std::vector<Node*> order = topo_order(root);
  std::unordered_map<Node*, int> xi;  // node -> first index in xs
  for (size_t i = 0; i < xs.size(); ++i) xi.emplace(xs[i].node().get(), static_cast<int>(i));
  std::unordered_set<Node*> relevant;
  for (Node* n : order) {
    bool r = xi.count(n) > 0;
    for (size_t i = 0; i < n->inputs.size() && !r; ++i) r = relevant.count(n->inputs[i].get()) > 0;
    if (r) relevant.insert(n);
  }
  std::vector<Node*> sub, switched_off;
  for (Node* n : order) {
    if (relevant.count(n)) sub.push_back(n);
    else { switched_off.push_back(n); n->requires_grad = false; }
  }
  // Leaf xs keep their accumulated grads: set them aside and restore after.
  std::vector<std::pair<Node*, Tensor>> saved;
  for (Node* n : sub)
    if (!n->backward) { saved.push_back({n, n->grad}); n->grad = Tensor(); }

  auto restore = [&]() {
    for (Node* n : switched_off) n->requires_grad = true;
    clear_interior_grads(sub);
    for (auto& [n, g] : saved) n->grad = g;
  };
  try {
    if (relevant.count(root)) {
      for (int64_t s = 0; s < S; ++s) {
        clear_interior_grads(sub);
        for (auto& [n, g] : saved) n->grad = Tensor();
        Tensor seed = seeds.slice0(s, s + 1).reshape(root->value.shape());
        root->grad_buffer().copy_from(seed);
        sweep(sub, [&](Node* n) {
          if (!xi.count(n)) return;
          for (size_t i = 0; i < xs.size(); ++i)
            if (xs[i].node().get() == n) {
#ifdef HAVE_CUDA
              if (detail::on_cuda(out[i])) {
                cuda::copy_d2d(out[i].data() + s * n->grad.numel(), n->grad.data(), n->grad.numel() * sizeof(float));
                continue;
              }
#endif
              std::memcpy(out[i].data() + s * n->grad.numel(), n->grad.data(), n->grad.numel() * sizeof(float));
            }
        });
      }
    }
  } catch (...) {
    restore();
    throw;
  }
  restore();
  return out;
}

}  // namespace latco::ad
