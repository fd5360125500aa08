// FLOP counter of the kernels and the GEMM-rate floor the benchmarks print (see flops.h).
#include "kernels/flops.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <vector>

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

double process_cpu_seconds() {  // all threads of the process
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The rate of fn, which does `flops`: per median wall second and per median CPU second.
template <class F>
GemmRate rate(double flops, int repeats, const F& fn) {
  fn();  // warm-up: packing buffers, pool threads
  std::vector<double> wall, cpu;
  for (int r = 0; r < std::max(1, repeats); ++r) {
    const double c0 = process_cpu_seconds();
    Timer timer;
    fn();
    wall.push_back(timer.seconds());
    cpu.push_back(process_cpu_seconds() - c0);
  }
  return {flops / median(wall) * 1e-9, flops / median(cpu) * 1e-9};
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

GemmRate measure_sgemm(int n, int repeats) {
  const auto a = random_matrix<float>(n, 1), b = random_matrix<float>(n, 2);
  std::vector<float> c(size_t(n) * n);
  return rate(gemm_flops(n, n, n), repeats, [&] {
    sgemm(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
  });
}

GemmRate measure_dgemm(int n, int repeats) {
  const auto a = random_matrix<double>(n, 1), b = random_matrix<double>(n, 2);
  std::vector<double> c(size_t(n) * n, 0.0);
  return rate(gemm_flops(n, n, n), repeats, [&] { dgemm_nt(n, n, n, 1.0, a.data(), n, b.data(), n, c.data(), n); });
}

GemmRates measure_gemm_rates(bool with_double) {
  GemmRates r;
  r.s = measure_sgemm();
  if (with_double) r.d = measure_dgemm();
  return r;
}

double floor_seconds(double single_flops, double double_flops, const GemmRates& r, bool cpu) {
  const double rs = cpu ? r.s.cpu_gflops : r.s.gflops, rd = cpu ? r.d.cpu_gflops : r.d.gflops;
  LATCO_CHECK(rs > 0 && (double_flops == 0 || rd > 0)) << "floor_seconds: GEMM rate not measured";
  return single_flops / (rs * 1e9) + (double_flops > 0 ? double_flops / (rd * 1e9) : 0.0);
}

void print_floor(const std::string& base, const std::string& suffix, double single_flops, double double_flops,
                 double seconds, const GemmRates& r, double cpu_seconds) {
  const double fl = floor_seconds(single_flops, double_flops, r);
  bench_print(base + "_gflop" + suffix, (single_flops + double_flops) * 1e-9, "GFLOP");
  bench_print(base + "_floor_s" + suffix, fl, "s");
  bench_print(base + "_floor_ratio" + suffix, seconds / fl, "x");
  if (cpu_seconds >= 0)
    bench_print(base + "_floor_ratio_cpu" + suffix, cpu_seconds / floor_seconds(single_flops, double_flops, r, true),
                "x");
}

void bench_print(const std::string& name, double value, const std::string& unit) {
  std::printf("%s %.6g %s\n", name.c_str(), value, unit.c_str());
  std::fflush(stdout);
}

}  // namespace latco
