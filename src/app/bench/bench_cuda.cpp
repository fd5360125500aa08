// `latco bench gemm_cuda | conv_cuda | lm_cuda`: the GPU twins of the gemm, conv and lm benchmarks
// (cuBLAS SGEMM; an encoder-decoder conv pass; batched 234 x 234 Cholesky and the
// block-tridiagonal LM solve). Without a device (or CUDA) each prints one line and exits 0.
#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "app/command.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/tensor.h"
#include "core/timer.h"
#include "kernels/flops.h"
#ifdef HAVE_CUDA
#include "cuda/cuda_api.h"
#endif

namespace latco {
namespace {

// True if the benchmark can run; otherwise prints why, once.
bool gpu_ready(const char* bench, const Args& args) {
  const std::string dev = args.get("device", "cuda");
  args.check_all_read(std::string("bench ") + bench);
  if (dev != "cuda") LATCO_FAIL("bench " << bench << ": --device must be cuda, got '" << dev << "'");
  if (!device::cuda_available()) {
    std::printf("%s: skipped, no CUDA device: %s\n", bench, device::cuda_status().c_str());
    return false;
  }
  return true;
}

#ifdef HAVE_CUDA
template <class T>
cuda::DeviceArray<T> random_device(int64_t n, uint64_t seed, double scale = 1.0) {
  Rng rng(seed);
  std::vector<T> h(n);
  for (auto& x : h) x = (T)(scale * rng.normal());
  cuda::DeviceArray<T> d(n);
  d.upload(h.data());
  return d;
}

// Median over `repeats` timed calls, each synchronised, after one warm-up call.
template <class F>
double median_gpu_seconds(int repeats, F&& f) {
  f();
  cuda::synchronize();
  std::vector<double> t;
  for (int i = 0; i < repeats; ++i) {
    Timer timer;
    f();
    cuda::synchronize();
    t.push_back(timer.seconds());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}
#endif

}  // namespace

int bench_gemm_cuda(const Args& args) {
  [[maybe_unused]] const int repeats = (int)args.get_int("repeats", 9);
  if (!gpu_ready("gemm_cuda", args)) return 0;
#ifdef HAVE_CUDA
  for (int n : {256, 1024, 4096}) {
    auto A = random_device<float>((int64_t)n * n, 1), B = random_device<float>((int64_t)n * n, 2);
    cuda::DeviceArray<float> C((int64_t)n * n);
    double t = median_gpu_seconds(repeats, [&] {
      cuda::sgemm(false, false, n, n, n, 1.0f, A.data(), n, B.data(), n, 0.0f, C.data(), n);
    });
    bench_print("gemm_cuda_gflops_" + std::to_string(n), 2.0 * n * n * (double)n / t * 1e-9, "GFLOPS");
  }
#endif
  return 0;
}

// The world model's image path at paper size, batch 50: encoder 4 convs (k4 s2, 3->32->64->128->256,
// 64x64 -> 2x2) and decoder 4 transposed convs (1024 -> 128 k5, 64 k5, 32 k6, 3 k6, stride 2).
int bench_conv_cuda(const Args& args) {
  [[maybe_unused]] const int repeats = (int)args.get_int("repeats", 5);
  [[maybe_unused]] const int N = (int)args.get_int("batch", 50);
  if (!gpu_ready("conv_cuda", args)) return 0;
#ifdef HAVE_CUDA
  struct Layer {
    ConvShape s;
    cuda::DeviceArray<float> x, w, b, y, dx, dw, db;
  };
  std::vector<ConvShape> shapes;
  int C = 3, H = 64;
  for (int O : {32, 64, 128, 256}) {
    ConvShape s{N, C, H, H, O, 4, 2, 0};
    shapes.push_back(s);
    C = O;
    H = s.Ho();
  }
  C = 1024, H = 1;
  for (auto [O, K] : std::vector<std::pair<int, int>>{{128, 5}, {64, 5}, {32, 6}, {3, 6}}) {
    ConvShape s{N, C, H, H, O, K, 2, 0};
    s.transposed = true;
    shapes.push_back(s);
    C = O;
    H = s.Ho();
  }
  std::vector<Layer> layers;
  double macs = 0;
  for (size_t i = 0; i < shapes.size(); ++i) {
    const ConvShape& s = shapes[i];
    const int64_t nx = (int64_t)s.N * s.C * s.H * s.W, nw = (int64_t)s.O * s.C * s.K * s.K,
                  ny = (int64_t)s.N * s.O * s.Ho() * s.Wo();
    layers.push_back({s, random_device<float>(nx, 10 + i), random_device<float>(nw, 20 + i, 0.05),
                      random_device<float>(s.O, 30 + i), cuda::DeviceArray<float>(ny), cuda::DeviceArray<float>(nx),
                      cuda::DeviceArray<float>(nw), cuda::DeviceArray<float>(s.O)});
    macs += (double)nw * s.N * (s.transposed ? s.H * s.W : s.Ho() * s.Wo());
  }
  auto forward = [&] {
    for (Layer& l : layers)
      (l.s.transposed ? cuda::conv_transpose2d_forward : cuda::conv2d_forward)(l.s, l.x.data(), l.w.data(),
                                                                               l.b.data(), l.y.data());
  };
  auto backward = [&] {
    for (Layer& l : layers)
      (l.s.transposed ? cuda::conv_transpose2d_backward : cuda::conv2d_backward)(
          l.s, l.x.data(), l.w.data(), l.y.data(), l.dx.data(), l.dw.data(), l.db.data());
  };
  const double tf = median_gpu_seconds(repeats, forward), tb = median_gpu_seconds(repeats, backward);
  bench_print("conv_cuda_images_per_s", N / (tf + tb), "images/s");
  bench_print("conv_cuda_forward_gflops", 2.0 * macs / tf * 1e-9, "GFLOPS");
  bench_print("conv_cuda_backward_gflops", 4.0 * macs / tb * 1e-9, "GFLOPS");
#endif
  return 0;
}

// LatCo's linear algebra at paper size: blocks of n = Z + A = 234, horizon H, K parallel plans.
int bench_lm_cuda(const Args& args) {
  [[maybe_unused]] const int repeats = (int)args.get_int("repeats", 5);
  if (!gpu_ready("lm_cuda", args)) return 0;
#ifdef HAVE_CUDA
  const int n = 234;
  const int64_t nn = (int64_t)n * n;
  {  // batched Cholesky alone: all 30 blocks of one plan at once
    const int batch = 30;
    std::vector<double> spd((size_t)batch * nn, 0.0);
    for (int b = 0; b < batch; ++b)
      for (int i = 0; i < n; ++i) spd[(size_t)b * nn + (size_t)i * n + i] = 1.0 + 0.01 * i;
    cuda::DeviceArray<double> A(batch * nn), work(batch * nn);
    cuda::DeviceArray<int> info(batch);
    A.upload(spd.data());
    double t = median_gpu_seconds(repeats, [&] {
      cuda::copy_d2d(work.data(), A.data(), sizeof(double) * batch * nn);
      cuda::cholesky_batched(batch, n, work.data(), info.data());
    });
    bench_print("lm_cuda_cholesky234_x30_s", t, "s");
  }
  for (auto [H, K] : std::vector<std::pair<int, int>>{{30, 1}, {30, 8}, {50, 1}}) {
    // SPD by diagonal dominance: D_t = 2 I + small symmetric noise, B_t small
    Rng rng(H * 100 + K);
    std::vector<double> D((size_t)K * H * nn), B((size_t)K * H * nn);
    for (size_t s = 0; s < (size_t)K * H; ++s)
      for (int i = 0; i < n; ++i)
        for (int j = 0; j <= i; ++j) {
          double v = (i == j ? 2.0 : 0.0) + 0.2 * rng.normal() / n;
          D[s * nn + (size_t)i * n + j] = D[s * nn + (size_t)j * n + i] = v;
        }
    for (auto& v : B) v = 0.2 * rng.normal() / n;
    cuda::DeviceArray<double> dD(D.size()), dB(B.size()), rhs((int64_t)K * H * n), x((int64_t)K * H * n);
    dD.upload(D.data());
    dB.upload(B.data());
    std::vector<double> r((size_t)K * H * n);
    for (auto& v : r) v = rng.normal();
    rhs.upload(r.data());
    bool ok = true;
    double t = median_gpu_seconds(repeats, [&] {
      cuda::copy_d2d(x.data(), rhs.data(), sizeof(double) * r.size());
      ok = cuda::block_tridiag_solve_device(K, H, n, dD.data(), dB.data(), 1e-3, x.data()) && ok;
    });
    LATCO_CHECK(ok) << "bench lm_cuda: test system was not positive definite";
    bench_print("lm_cuda_solve_s_H" + std::to_string(H) + "_K" + std::to_string(K), t, "s");
  }
#endif
  return 0;
}

}  // namespace latco
