// `latco bench lm`: one LatCo LM iteration (residuals, Jacobians, assembly, block
// solve, dual update) on a randomly initialised paper-size RSSM (Z = 230, A = 4),
// for several horizons, its breakdown, a full 200-iteration plan, and the same
// iteration with the dense solve. device=cuda: the iteration with DeviceRssmLatentModel, then the
// GPU solve (lm_cuda). Not here: learned weights (timing only).
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <vector>

#include "core/command.h"
#include "core/device_select.h"
#include "core/rng.h"
#include "core/timer.h"
#include "model/device_latent_model.h"
#include "model/rssm_latent_model.h"
#include "model/transition_weights.h"
#include "plan/latco.h"

namespace latco {
namespace {

struct IterTiming {
  double iter = 0, cpu = 0, jacobian = 0, assembly = 0, solve = 0;
};

// Process CPU time (all threads): a steadier figure than wall time on a shared machine.
double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

// Wall time: the fastest of `reps` LM iterations after one warm-up; CPU time and the
// breakdown: averages over them.
IterTiming time_iterations(const LatentModel& m, int H, const float* z0, int reps, bool dense) {
  LatcoSettings s;
  s.dense_solve = dense;
  s.load(Config());
  LatcoPlanner p(m, H, s);
  p.initialise(z0, 1);
  CollocationLM& lm = p.solver();
  lm.step();
  const double d0 = lm.t_derivatives, a0 = lm.t_assembly, s0 = lm.t_solve;
  const double c0 = cpu_seconds();
  IterTiming r;
  r.iter = 1e30;
  for (int i = 0; i < reps; ++i) {  // the fastest iteration: the least disturbed by other processes
    Timer t;
    lm.step();
    r.iter = std::min(r.iter, t.seconds());
  }
  r.cpu = (cpu_seconds() - c0) / reps;
  r.jacobian = (lm.t_derivatives - d0) / reps;
  r.assembly = (lm.t_assembly - a0) / reps;
  r.solve = (lm.t_solve - s0) / reps;
  return r;
}

}  // namespace
}  // namespace latco

using namespace latco;

LATCO_BENCH(lm) {
  const bool on_device = bench_device(args.overrides, "lm") == Device::CUDA;
  const int reps = static_cast<int>(args.get_int("reps", 5));
  const bool dense = !args.has("no-dense");
  const int plan_iters = static_cast<int>(args.get_int("plan-iterations", 200));
  args.check_all_read("bench lm");
  TransitionSizes sz;  // paper size: stoch 30 + deter 200, hidden 200, A = 4
  Rng rng(0);
  TransitionWeights w = TransitionWeights::init(sz, rng);
  RssmLatentModel model(w);
  const int Z = model.latent_dim();
  std::vector<float> z0(Z);
  Rng zr = Rng(1);
  for (auto& v : z0) v = zr.normal();
  if (on_device) {  // the iteration with the model's calls on the GPU (assembly, solve on the CPU), then lm_cuda
    DeviceRssmLatentModel device_model(w);
    const IterTiming t = time_iterations(device_model, 30, z0.data(), reps, false);
    bench_print("lm_iter_s_H30_device_model", t.iter, "s");
    bench_print("lm_jacobian_s_H30_device_model", t.jacobian, "s");
    return benches().at("lm_cuda")(args);
  }

  for (int H : {10, 30, 50, 100}) {
    IterTiming t = time_iterations(model, H, z0.data(), H >= 100 ? std::max(1, reps / 2) : reps, false);
    bench_print("lm_iter_s_H" + std::to_string(H), t.iter, "s");
    if (H == 30) {
      bench_print("lm_iter_cpu_s_H30", t.cpu, "s");
      bench_print("lm_jacobian_s_H30", t.jacobian, "s");
      bench_print("lm_assembly_s_H30", t.assembly, "s");
      bench_print("lm_solve_s_H30", t.solve, "s");
    }
  }
  {
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
