// Benchmarks of the CPU kernels: `latco bench gemm` (square SGEMM) and `latco bench conv`
// (the paper's encoder and decoder conv stacks, forward + backward, batch 64 of 64x64).
// `conv --layers` also prints each layer's forward and backward rate against the GEMM rate.
// Leaves out: correctness (tests/test_gemm.cpp, tests/test_conv.cpp check that).
// Besides wall-clock rates, the *_per_core lines divide the work by the CPU seconds all threads
// used: on a shared machine they stay near what one idle core would reach. `conv` also prints
// its floor: the counted FLOPs at the GEMM rate measured in the same run just before.
#include <time.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "app/command.h"
#include "core/device_select.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/thread_pool.h"
#include "core/timer.h"
#include "kernels/conv.h"
#include "kernels/flops.h"
#include "kernels/gemm.h"

namespace latco {
namespace {

std::vector<float> random_vec(size_t n, uint64_t seed) {
  Rng r(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = r.uniform(-1.0f, 1.0f);
  return v;
}

double process_cpu_seconds() {  // summed over all threads of the process
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

struct Timing {
  double wall;  // median wall seconds of one run
  double cpu;   // mean CPU seconds (all threads) of one run
};

// Times `repeats` runs of fn after one warm-up run.
template <class F>
Timing time_runs(int repeats, F&& fn) {
  fn();
  std::vector<double> t;
  const double cpu0 = process_cpu_seconds();
  for (int r = 0; r < repeats; ++r) {
    Timer timer;
    fn();
    t.push_back(timer.seconds());
  }
  const double cpu = (process_cpu_seconds() - cpu0) / repeats;
  std::sort(t.begin(), t.end());
  return {t[t.size() / 2], cpu};
}

// One layer of the benchmark stacks with its buffers.
struct Layer {
  ConvShape s;
  std::vector<float> w, b, y, dy, dx, dw, db;
};

Layer make_layer(int N, int C, int H, int O, int K, bool transposed, uint64_t seed) {
  Layer l;
  l.s = ConvShape{};
  l.s.N = N, l.s.C = C, l.s.H = H, l.s.W = H, l.s.O = O, l.s.K = K, l.s.stride = 2, l.s.pad = 0;
  l.s.transposed = transposed;
  size_t out = (size_t)N * O * l.s.Ho() * l.s.Wo();
  l.w = random_vec((size_t)O * C * K * K, seed);
  l.b = random_vec(O, seed + 1);
  l.y.resize(out);
  l.dy = random_vec(out, seed + 2);
  l.dx.assign((size_t)N * C * H * H, 0.0f);
  l.dw.assign(l.w.size(), 0.0f);
  l.db.assign(O, 0.0f);
  return l;
}

}  // namespace

// Paper encoder (4 convs k4 s2: 3->32->64->128->256, 64->31->14->6->2) and decoder
// (transposed convs s2: 1024->128 k5, ->64 k5, ->32 k6, ->3 k6; 1->5->13->30->64),
// forward then backward (dx, dw, db) of every layer, on 64 images.
int bench_conv(const Args& args) {
  if (bench_device(args.overrides, "conv") == Device::CUDA) return find_bench("conv_cuda")(args);
  const int N = (int)args.get_int("batch", 64), repeats = (int)args.get_int("repeats", 5);
  const bool per_layer = args.has("layers");  // also each layer's forward and backward rate
  args.check_all_read("bench conv");
  std::vector<Layer> layers;
  const int enc[][4] = {{3, 64, 32, 4}, {32, 31, 64, 4}, {64, 14, 128, 4}, {128, 6, 256, 4}};
  const int dec[][4] = {{1024, 1, 128, 5}, {128, 5, 64, 5}, {64, 13, 32, 6}, {32, 30, 3, 6}};
  for (const auto& e : enc) layers.push_back(make_layer(N, e[0], e[1], e[2], e[3], false, 10 * layers.size()));
  for (const auto& d : dec) layers.push_back(make_layer(N, d[0], d[1], d[2], d[3], true, 10 * layers.size()));
  std::vector<float> image = random_vec((size_t)N * 3 * 64 * 64, 1), code = random_vec((size_t)N * 1024, 2);
  double fwd_flops = 0;  // from the shapes; the kernels' own count is checked against it below
  for (const auto& l : layers) fwd_flops += conv_flops(l.s);

  auto forward = [&] {
    const float* in = image.data();
    for (int i = 0; i < 8; ++i) {
      Layer& l = layers[i];
      if (i == 4) in = code.data();
      (l.s.transposed ? conv_transpose2d_forward : conv2d_forward)(l.s, in, l.w.data(), l.b.data(), l.y.data());
      in = l.y.data();
    }
  };
  auto backward = [&] {
    for (int i = 7; i >= 0; --i) {
      Layer& l = layers[i];
      const float* in = i == 0 ? image.data() : i == 4 ? code.data() : layers[i - 1].y.data();
      (l.s.transposed ? conv_transpose2d_backward : conv2d_backward)(l.s, in, l.w.data(), l.dy.data(), l.dx.data(),
                                                                     l.dw.data(), l.db.data());
    }
  };
  double counted = 0;
  {
    FlopCounter fc;
    forward();
    backward();
    counted = fc.single();
  }
  LATCO_CHECK(std::fabs(counted - 3 * fwd_flops) <= 1e-9 * counted)
      << "bench conv: kernels counted " << counted << " FLOPs, the shapes give " << 3 * fwd_flops;
  const GemmRates rates = measure_gemm_rates(false);  // just before, in the same process
  const Timing fwd = time_runs(repeats, forward), bwd = time_runs(repeats, backward);
  const double t = fwd.wall + bwd.wall, gflops = counted / t * 1e-9;
  bench_print("conv_images_per_s", N / t, "images/s");
  bench_print("conv_gflops", gflops, "GFLOPS");
  bench_print("conv_forward_gflops", fwd_flops / fwd.wall * 1e-9, "GFLOPS");
  bench_print("conv_backward_gflops", 2 * fwd_flops / bwd.wall * 1e-9, "GFLOPS");
  bench_print("conv_gflops_per_core", counted / (fwd.cpu + bwd.cpu) * 1e-9, "GFLOPS");
  bench_print("gemm_gflops_1024", rates.s.gflops, "GFLOPS");
  bench_print("conv_gemm_ratio", gflops / rates.s.gflops, "x");
  bench_print("conv_gemm_ratio_cpu", counted / (fwd.cpu + bwd.cpu) * 1e-9 / rates.s.cpu_gflops, "x");
  print_floor("conv", "", counted, 0, t, rates, fwd.cpu + bwd.cpu);
  for (int i = 0; per_layer && i < 8; ++i) {  // conv_<enc|dec><k>_<forward|backward>_gemm_ratio
    Layer& l = layers[i];
    const float* in = i == 0 ? image.data() : i == 4 ? code.data() : layers[i - 1].y.data();
    const Timing f = time_runs(repeats, [&] {
      (l.s.transposed ? conv_transpose2d_forward : conv2d_forward)(l.s, in, l.w.data(), l.b.data(), l.y.data());
    });
    const Timing b = time_runs(repeats, [&] {
      (l.s.transposed ? conv_transpose2d_backward : conv2d_backward)(l.s, in, l.w.data(), l.dy.data(), l.dx.data(),
                                                                     l.dw.data(), l.db.data());
    });
    const std::string name = std::string("conv_") + (i < 4 ? "enc" : "dec") + std::to_string(i % 4);
    const double fl = conv_flops(l.s);
    bench_print(name + "_forward_gemm_ratio", fl / f.wall * 1e-9 / rates.s.gflops, "x");
    bench_print(name + "_backward_gemm_ratio", 2 * fl / b.wall * 1e-9 / rates.s.gflops, "x");
    bench_print(name + "_share", (f.wall + b.wall) / t, "x");
  }
  return 0;
}

int bench_gemm(const Args& args) {
  if (bench_device(args.overrides, "gemm") == Device::CUDA) return find_bench("gemm_cuda")(args);
  int repeats = (int)args.get_int("repeats", 9);
  args.check_all_read("bench gemm");
  bench_print("gemm_gflops_256", measure_sgemm(256, repeats * 8).gflops, "GFLOPS");
  const GemmRate r = measure_sgemm(1024, repeats);
  bench_print("gemm_gflops_1024", r.gflops, "GFLOPS");
  bench_print("gemm_gflops_1024_per_core", r.cpu_gflops, "GFLOPS");
  bench_print("dgemm_gflops_1024", measure_dgemm(1024, repeats).gflops, "GFLOPS");
  return 0;
}

}  // namespace latco
