// `latco bench lm`: one LatCo LM iteration (residuals, Jacobians, assembly, block
// solve, dual update) on a randomly initialised paper-size RSSM (Z = 230, A = 4),
// for several horizons, its breakdown, a full 200-iteration plan, and the same
// iteration with the dense solve. Each horizon's iteration also gets its floor: its counted
// FLOPs, float at the SGEMM rate and double at the DGEMM rate measured just before.
// device=cuda: the iteration with DeviceRssmLatentModel (the model's calls, the assembly and the
// solve on the GPU), then the GPU solve alone (lm_cuda).
// Not here: learned weights (timing only).
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "app/command.h"
#include "core/device_select.h"
#include "core/rng.h"
#include "core/timer.h"
#include "kernels/flops.h"
#include "model/device_latent_model.h"
#include "model/rssm_latent_model.h"
#include "model/transition_weights.h"
#include "plan/collocation/latco.h"

namespace latco {
namespace {

struct IterTiming {
  double iter = 0, cpu = 0, jacobian = 0, assembly = 0, solve = 0;
  // The iteration whose time over its own floor is the median one: its counted FLOPs (float,
  // double), wall and CPU seconds. Iterations differ in work (a rejected step re-evaluates no
  // Jacobians), so each is held against its own floor.
  double flops_s = 0, flops_d = 0, wall_at = 0, cpu_at = 0;
};

// Process CPU time (all threads): a steadier figure than wall time on a shared machine.
double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

// Wall time: the median of `reps` LM iterations after one warm-up; CPU time and the breakdown:
// averages over them; the floor: the iteration of median ratio (rates: the GEMM rates measured
// just before; absent for the dense solve, which prints no floor).
IterTiming time_iterations(const LatentModel& m, int H, const float* z0, int reps, bool dense,
                           const GemmRates* rates = nullptr) {
  LatcoSettings s;
  s.dense_solve = dense;
  s.load(Config());
  LatcoPlanner p(m, H, s);
  p.initialise(z0, 1);
  CollocationLM& lm = p.solver();
  lm.step();
  const double d0 = lm.t_derivatives, a0 = lm.t_assembly, s0 = lm.t_solve;
  IterTiming r;
  struct Rep {
    double wall, cpu, fs, fd, ratio;
  };
  std::vector<Rep> runs;
  FlopCounter counter;
  for (int i = 0; i < reps; ++i) {
    counter.reset();
    const double c0 = cpu_seconds();
    Timer t;
    lm.step();
    const double wall = t.seconds(), cpu = cpu_seconds() - c0;
    const double fl = rates ? floor_seconds(counter.single(), counter.dbl(), *rates) : 0.0;
    runs.push_back({wall, cpu, counter.single(), counter.dbl(), fl > 0 ? wall / fl : 0.0});
    r.cpu += cpu / reps;
  }
  std::vector<double> wall;
  for (const Rep& x : runs) wall.push_back(x.wall);
  std::sort(wall.begin(), wall.end());
  r.iter = wall[wall.size() / 2];
  std::sort(runs.begin(), runs.end(), [](const Rep& a, const Rep& b) { return a.ratio < b.ratio; });
  const Rep& med = runs[runs.size() / 2];
  r.flops_s = med.fs, r.flops_d = med.fd, r.wall_at = med.wall, r.cpu_at = med.cpu;
  r.jacobian = (lm.t_derivatives - d0) / reps;
  r.assembly = (lm.t_assembly - a0) / reps;
  r.solve = (lm.t_solve - s0) / reps;
  return r;
}

}  // namespace

int bench_lm(const Args& args) {
  const bool on_device = bench_device(args.overrides, "lm") == Device::CUDA;
  const int reps = static_cast<int>(args.get_int("reps", 15));
  const bool dense = !args.has("no-dense");
  const int plan_iters = static_cast<int>(args.get_int("plan-iterations", 200));  // 0: no full plan
  const int only_h = static_cast<int>(args.get_int("horizon", 0));  // one horizon only (for profiling)
  args.check_all_read("bench lm");
  TransitionSizes sz;  // paper size: stoch 30 + deter 200, hidden 200, A = 4
  Rng rng(0);
  TransitionWeights w = TransitionWeights::init(sz, rng);
  RssmLatentModel model(w);
  const int Z = model.latent_dim();
  std::vector<float> z0(Z);
  Rng zr = Rng(1);
  for (auto& v : z0) v = zr.normal();
  if (on_device) {  // the iteration on the GPU (model calls; assembly and solve: plan/latco_device.h), then lm_cuda
    DeviceRssmLatentModel device_model(w);
    const IterTiming t = time_iterations(device_model, 30, z0.data(), reps, false);
    bench_print("lm_iter_s_H30_device_model", t.iter, "s");
    bench_print("lm_jacobian_s_H30_device_model", t.jacobian, "s");
    bench_print("lm_assembly_solve_s_H30_device", t.solve, "s");  // with the copies of the point and Jacobians
    return find_bench("lm_cuda")(args);
  }

  for (int H : {10, 30, 50, 100}) {
    if (only_h > 0 && H != only_h) continue;
    const GemmRates rates = measure_gemm_rates(true);  // just before each horizon, in the same process
    IterTiming t = time_iterations(model, H, z0.data(), H >= 100 ? std::max(3, reps / 2) : reps, false, &rates);
    const std::string h = "_H" + std::to_string(H);
    bench_print("lm_iter_s" + h, t.iter, "s");
    if (H == 30) {
      bench_print("gemm_gflops_1024", rates.s.gflops, "GFLOPS");
      bench_print("dgemm_gflops_1024", rates.d.gflops, "GFLOPS");
    }
    std::printf("# lm H %d: %.3f GFLOP float, %.3f GFLOP double per iteration\n", H, t.flops_s * 1e-9,
                t.flops_d * 1e-9);
    print_floor("lm_iter", h, t.flops_s, t.flops_d, t.wall_at, rates, t.cpu_at);
    if (H == 30) {
      bench_print("lm_iter_cpu_s_H30", t.cpu, "s");
      bench_print("lm_jacobian_s_H30", t.jacobian, "s");
      bench_print("lm_assembly_solve_s_H30", t.assembly + t.solve, "s");  // the block solve assembles as it factors
    }
  }
  if (plan_iters > 0) {
    LatcoSettings s;
    s.iterations = plan_iters;
    s.load(Config());
    LatcoPlanner p(model, 30, s);
    Timer t;
    p.plan(z0.data(), 1);
    bench_print("lm_plan_s_H30", t.seconds(), "s");
  }
  if (dense) {
    IterTiming t = time_iterations(model, 30, z0.data(), 1, true);
    bench_print("lm_dense_iter_s_H30", t.iter, "s");
    bench_print("lm_dense_solve_s_H30", t.solve, "s");
  }
  return 0;
}

}  // namespace latco
