// FLOP counts of the work the kernels do, taken from the shape of every call: 2 x the
// multiply-adds of each matrix product, factorisation and convolution (elementwise work is
// not counted). Benchmarks count the work they time and divide it by a GEMM rate measured in
// the same process just before: the arithmetic floor of that work, and how close it comes.
#pragma once
#include <string>

namespace latco {

struct ConvShape;

// ----- counts per call (the formulas the kernels count with) -----
double gemm_flops(double M, double N, double K);  // C (M x N) += A (M x K) B (K x N): 2 M N K
double syrk_flops(double N, double K);            // lower triangle with the diagonal of A A^T: N (N+1) K
double cholesky_flops(double n);                  // L L^T = A (n x n): (n^3 - n) / 3
double trsm_flops(double m, double n);            // X L^T = B, X (m x n): m n (n - 1)
// Convolution forward: 2 x the multiply-adds of the useful products (no padding, no zero-stuffing):
//   conv2d N O Ho Wo C K K, transposed N C H W O K K. Each of dx and dw costs as much again.
double conv_flops(const ConvShape& s);

// ----- the counter -----
// Counting is off unless a FlopCounter is alive; the kernels then add every call's count
// (thread-safe; float and double work apart). One counter at a time (benchmarks and tests).
void count_flops(double flops, bool double_precision);
class FlopCounter {
 public:
  FlopCounter();   // starts counting from zero
  ~FlopCounter();  // stops counting
  FlopCounter(const FlopCounter&) = delete;
  FlopCounter& operator=(const FlopCounter&) = delete;
  void reset();
  double single() const;  // float FLOPs counted since construction or reset()
  double dbl() const;     // double FLOPs
};

// ----- the floor -----
// GEMM rate in GFLOPS of n^3 products on the thread pool, after one warm-up: per wall second
// (median of `repeats`), and per CPU second of all threads (median): on a shared machine the
// second is the steadier, and the ratios formed with it estimate those of an idle machine.
struct GemmRate {
  double gflops = 0, cpu_gflops = 0;
};
GemmRate measure_sgemm(int n = 1024, int repeats = 9);  // sgemm, as `latco bench gemm`
GemmRate measure_dgemm(int n = 1024, int repeats = 5);  // dgemm_nt (C += A B^T), double

struct GemmRates {
  GemmRate s;  // gemm_gflops_1024
  GemmRate d;  // dgemm_gflops_1024; 0: not measured (the work must then be float only)
};
GemmRates measure_gemm_rates(bool with_double);
// Seconds the counted work takes at the GEMM rates: float FLOPs at the sgemm rate, double at the
// dgemm rate; per wall second, or (cpu) per CPU second.
double floor_seconds(double single_flops, double double_flops, const GemmRates& r, bool cpu = false);
// Prints <base>_gflop<suffix>, <base>_floor_s<suffix>, <base>_floor_ratio<suffix> (seconds / floor)
// and, given the work's CPU seconds (all threads), <base>_floor_ratio_cpu<suffix>.
void print_floor(const std::string& base, const std::string& suffix, double single_flops, double double_flops,
                 double seconds, const GemmRates& r, double cpu_seconds = -1);

// One benchmark figure, one line: "name value unit".
void bench_print(const std::string& name, double value, const std::string& unit);

}  // namespace latco
