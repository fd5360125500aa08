// `latco bench autodiff`: the cost of the graph itself, apart from the kernels:
// per-node overhead of a long chain of tiny ops (forward + backward), elementwise
// throughput on a large tensor, and vjp_batched per seed. Left out: GEMM and conv
// (benchmarked in bench gemm / bench conv).
#include <algorithm>

#include "app/command.h"
#include "autodiff/var.h"
#include "core/timer.h"
#include "kernels/flops.h"

namespace latco {

int bench_autodiff(const Args& args) {
  const int repeats = static_cast<int>(args.get_int("repeats", 3));
  args.check_all_read("bench autodiff");
  double best_node = 1e30, best_elem = 1e30, best_vjp = 1e30;
  for (int r = 0; r < repeats; ++r) {
    // ----- per-node overhead: y = ((x + c) * w + c) ... on 16 floats -----
    {
      const int n = 20000;
      ad::Var x = ad::leaf(Tensor::full({16}, 0.5f), true);
      ad::Var w = ad::constant(Tensor::full({16}, 0.999f));
      Timer t;
      ad::Var y = x;
      for (int i = 0; i < n; ++i) y = ad::add_scalar(y, 1e-3f) * w;
      ad::backward(ad::sum(y));
      best_node = std::min(best_node, t.seconds() / (2.0 * n));
    }
    // ----- elementwise: tanh(a * b + c) on 4M floats, forward + backward -----
    {
      const int64_t n = int64_t(1) << 22;
      ad::Var a = ad::leaf(Tensor::full({1024, n / 1024}, 0.3f), true);
      ad::Var b = ad::leaf(Tensor::full({1024, n / 1024}, 0.7f), true);
      ad::Var c = ad::leaf(Tensor::full({n / 1024}, 0.1f), true);
      Timer t;
      ad::backward(ad::sum(ad::tanh(a * b + c)));
      best_elem = std::min(best_elem, t.seconds() / double(n));
    }
    // ----- vjp_batched: 64 seeds through a 30-step tanh recurrence of width 64 -----
    {
      ad::Var z = ad::leaf(Tensor::full({1, 64}, 0.1f), true);
      ad::Var W = ad::constant(Tensor::full({64, 64}, 0.01f));
      ad::Var h = z;
      for (int t = 0; t < 30; ++t) h = ad::tanh(ad::matmul(h, W) + z);
      Tensor seeds = Tensor::zeros({64, 64});
      for (int i = 0; i < 64; ++i) seeds[i * 64 + i] = 1.0f;
      Timer t;
      ad::vjp_batched(h, {z}, seeds);
      best_vjp = std::min(best_vjp, t.seconds() / 64.0);
    }
  }
  bench_print("autodiff_node_overhead_us", best_node * 1e6, "us");
  bench_print("autodiff_elementwise_ns_per_float", best_elem * 1e9, "ns");
  bench_print("autodiff_vjp_per_seed_us", best_vjp * 1e6, "us");
  return 0;
}

}  // namespace latco
