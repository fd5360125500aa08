// `latco bench jacobian`: RssmLatentModel at the paper's sizes (S 30, D 200, Hd 200, A 4,
// reward hidden 400). Batched Jacobians over a horizon of H = 30 steps, and predict + reward
// throughput at the batch size of sampling planners, each with its floor (counted FLOPs at the
// GEMM rate measured just before). Leaves out GPU timings.
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "app/command.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/timer.h"
#include "kernels/flops.h"
#include "model/rssm_latent_model.h"

namespace latco {
namespace {

// Median wall time and median process CPU time (all threads) of fn over `repeats` runs,
// after one warm-up run. On a shared machine the CPU time is the steadier figure.
struct Timing {
  double wall, cpu;
};
template <class Fn>
Timing median_seconds(int repeats, const Fn& fn) {
  fn();
  std::vector<double> wall, cpu;
  for (int i = 0; i < repeats; ++i) {
    const std::clock_t c0 = std::clock();
    Timer timer;
    fn();
    wall.push_back(timer.seconds());
    cpu.push_back(double(std::clock() - c0) / CLOCKS_PER_SEC);
  }
  std::sort(wall.begin(), wall.end());
  std::sort(cpu.begin(), cpu.end());
  return {wall[wall.size() / 2], cpu[cpu.size() / 2]};
}

}  // namespace

int bench_jacobian(const Args& args) {
  const int H = int(args.get_int("horizon", 30));        // Jacobian batch: one per plan step
  const int NS = int(args.get_int("samples", 10000));    // predict + reward batch
  const int repeats = int(args.get_int("repeats", 21));
  const std::string part = args.get("part", "all");       // all | jacobian | predict (for profiling)
  args.check_all_read("bench jacobian");
  TransitionSizes sz;  // paper sizes
  Rng rng(1);
  const TransitionWeights w = TransitionWeights::init(sz, rng);
  RssmLatentModel m(w);
  const int Z = m.latent_dim(), A = m.action_dim();

  const int N = std::max(H, NS);
  std::vector<float> z(size_t(N) * Z), a(size_t(N) * A);
  Rng in = rng.derive(2);
  for (float& v : z) v = in.normal();
  for (float& v : a) v = in.uniform(-1.0f, 1.0f);

  std::vector<float> mu(size_t(N) * Z), dz(size_t(H) * Z * Z), da(size_t(H) * Z * A), r(N), dr(size_t(H) * Z);
  std::vector<float> sd(size_t(H) * Z), sdz(size_t(H) * Z * Z), sda(size_t(H) * Z * A);
  LATCO_CHECK(part == "all" || part == "jacobian" || part == "predict")
      << "bench jacobian: --part must be all, jacobian or predict, got '" << part << "'";
  // FLOPs of one call of fn, counted by the kernels from their shapes.
  auto count = [](const auto& fn) {
    FlopCounter c;
    fn();
    return c.single();
  };
  const GemmRates rates = measure_gemm_rates(false);  // just before the timings, in the same process
  bench_print("gemm_gflops_1024", rates.s.gflops, "GFLOPS");
  if (part != "predict") {
    auto jac = [&] { m.predict_jacobians(H, z.data(), a.data(), mu.data(), dz.data(), da.data()); };
    const Timing t_jac = median_seconds(repeats, jac);
    print_floor("jacobian", "", count(jac), 0, t_jac.wall, rates, t_jac.cpu);
    const Timing t_rgrad = median_seconds(repeats, [&] { m.reward_gradient(H, z.data(), r.data(), dr.data()); });
    const Timing t_std = median_seconds(repeats, [&] {
      m.predict_std(H, z.data(), a.data(), sd.data(), sdz.data(), sda.data());
    });
    bench_print("jacobian_s", t_jac.wall, "s");
    bench_print("jacobian_cpu_s", t_jac.cpu, "s");
    bench_print("reward_gradient_s", t_rgrad.wall, "s");
    bench_print("std_jacobian_s", t_std.wall, "s");
  }
  if (part != "jacobian") {
    auto pred = [&] {
      m.predict(NS, z.data(), a.data(), mu.data());
      m.reward(NS, z.data(), r.data());
    };
    const Timing t_pred = median_seconds(std::max(3, repeats / 4), pred);
    print_floor("predict", "", count(pred), 0, t_pred.wall, rates, t_pred.cpu);
    bench_print("predict_steps_per_s", NS / t_pred.wall, "steps/s");
    bench_print("predict_steps_per_cpu_s", NS / t_pred.cpu, "steps/s");
  }
  return 0;
}

}  // namespace latco
