// FLOP counter of the kernels and the GEMM-rate floor the benchmarks print (see flops.h).
#include "kernels/flops.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/command.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/timer.h"
#include "kernels/conv.h"
#include "kernels/gemm.h"
#include "linalg/dense.h"

namespace latco {
namespace {

std::atomic<bool> g_counting{false};
std::atomic<uint64_t> g_single{0}, g_double{0};  // integer counts: sums stay exact whatever the order

template <class T>
std::vector<T> random_matrix(int n, uint64_t seed) {
  Rng r(seed);
  std::vector<T> v(size_t(n) * n);
  for (auto& x : v) x = T(r.uniform(-1.0f, 1.0f));
  return v;
}

template <class F>
double median_seconds(int repeats, const F& fn) {
  fn();  // warm-up: packing buffers, pool threads
  std::vector<double> t;
  for (int r = 0; r < std::max(1, repeats); ++r) {
    Timer timer;
    fn();
    t.push_back(timer.seconds());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

double gemm_flops(double M, double N, double K) { return 2.0 * M * N * K; }
double syrk_flops(double N, double K) { return N * (N + 1) * K; }
double cholesky_flops(double n) { return (n * n * n - n) / 3.0; }
double trsm_flops(double m, double n) { return m * n * (n - 1); }

double conv_flops(const ConvShape& s) {
  const double k2 = double(s.K) * s.K;
  return s.transposed ? 2.0 * s.N * s.C * s.H * s.W * s.O * k2 : 2.0 * s.N * s.O * s.Ho() * s.Wo() * s.C * k2;
}

void count_flops(double flops, bool double_precision) {
  if (!g_counting.load(std::memory_order_relaxed)) return;
  (double_precision ? g_double : g_single).fetch_add(uint64_t(std::llround(flops)), std::memory_order_relaxed);
}

FlopCounter::FlopCounter() {
  LATCO_CHECK(!g_counting.exchange(true)) << "FlopCounter: only one counter at a time";
  reset();
}
FlopCounter::~FlopCounter() { g_counting.store(false); }
void FlopCounter::reset() {
  g_single.store(0);
  g_double.store(0);
}
double FlopCounter::single() const { return double(g_single.load()); }
double FlopCounter::dbl() const { return double(g_double.load()); }

double measure_sgemm_gflops(int n, int repeats) {
  const auto a = random_matrix<float>(n, 1), b = random_matrix<float>(n, 2);
  std::vector<float> c(size_t(n) * n);
  const double s = median_seconds(repeats, [&] {
    sgemm(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
  });
  return gemm_flops(n, n, n) / s * 1e-9;
}

double measure_dgemm_gflops(int n, int repeats) {
  const auto a = random_matrix<double>(n, 1), b = random_matrix<double>(n, 2);
  std::vector<double> c(size_t(n) * n, 0.0);
  const double s = median_seconds(repeats, [&] { dgemm_nt(n, n, n, 1.0, a.data(), n, b.data(), n, c.data(), n); });
  return gemm_flops(n, n, n) / s * 1e-9;
}

double floor_seconds(double single_flops, double double_flops, const GemmRates& r) {
  LATCO_CHECK(r.sgemm_gflops > 0 && (double_flops == 0 || r.dgemm_gflops > 0))
      << "floor_seconds: GEMM rate not measured";
  return single_flops / (r.sgemm_gflops * 1e9) + (double_flops > 0 ? double_flops / (r.dgemm_gflops * 1e9) : 0.0);
}

void print_floor(const std::string& base, const std::string& suffix, double single_flops, double double_flops,
                 double seconds, const GemmRates& r) {
  const double fl = floor_seconds(single_flops, double_flops, r);
  bench_print(base + "_gflop" + suffix, (single_flops + double_flops) * 1e-9, "GFLOP");
  bench_print(base + "_floor_s" + suffix, fl, "s");
  bench_print(base + "_floor_ratio" + suffix, seconds / fl, "x");
}

}  // namespace latco
