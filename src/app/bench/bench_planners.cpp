// `latco bench planners [--paper]`: one plan per planner of the table (plan/planners.cpp) on a randomly
// initialised paper-size RSSM (S 30, D 200, Hd 200, A 4, reward hidden 400) at H = 30,
// with CPU-scale settings (or the paper's with --paper), printing plan_s_<name> and,
// for CEM and MPPI, model_steps_per_s_<name>; image collocation on a paper-size Rssm
// (64x64). Each plan also gets its floor: its counted FLOPs, float at the SGEMM rate and double
// at the DGEMM rate measured just before. device=cuda: the latent model on the GPU
// (DeviceRssmLatentModel). Leaves out planning quality.
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "app/command.h"
#include "core/device_select.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/thread_pool.h"
#include "io/config.h"
#include "kernels/flops.h"
#include "model/device_latent_model.h"
#include "model/rssm.h"
#include "model/rssm_latent_model.h"
#include "plan/collocation/image_collocation.h"
#include "plan/planner.h"
#include "plan/sampling/sampling_planners.h"

namespace latco {
namespace {

// CPU-scale settings: the paper's iteration counts cut where one plan would take minutes on 2 cores.
// Keys not listed keep each planner's defaults (the paper's values).
const char* kCpuScale =
    "cem_samples: 1000\ncem_elites: 100\ncem_iterations: 10\n"
    "mppi_samples: 1000\nmppi_elites: 100\nmppi_iterations: 10\n"
    "gd_iterations: 100\ngn_iterations: 20\nilqr_iterations: 10\nfo_iterations: 100\nic_iterations: 3\n";
// Appendix B, Metaworld.
const char* kPaper =
    "cem_preset: tabletop\nmppi_preset: tabletop\n"
    "gd_iterations: 500\ngn_iterations: 100\nilqr_iterations: 50\nfo_iterations: 5000\nic_iterations: 5000\n";

}  // namespace

int bench_planners(const Args& args) {
  const bool paper = args.has("paper");
  const int H = static_cast<int>(args.get_int("horizon", 30));
  const std::string only = args.get("planner", "");  // one planner by name (default: all)
  args.check_all_read("bench planners");
  // device=cuda: every planner on DeviceRssmLatentModel (the model's calls, LatCo's LM step and
  // shooting GD's backprop on the GPU; the other planners' own work on the CPU); image collocation
  // is left out.
  const Device device = bench_device(args.overrides, "planners");
  Config cfg = Config::parse(paper ? kPaper : kCpuScale, paper ? "paper settings" : "cpu-scale settings");
  for (const auto& o : args.overrides)
    if (o.rfind("device=", 0) != 0 && o.rfind("require_device=", 0) != 0) cfg.override_with(o);

  TransitionSizes sz;  // paper sizes
  Rng rng(1);
  const TransitionWeights w = TransitionWeights::init(sz, rng);
  RssmLatentModel cpu_model(w);
  std::unique_ptr<DeviceRssmLatentModel> gpu_model;
  if (device == Device::CUDA) gpu_model = std::make_unique<DeviceRssmLatentModel>(w);
  const LatentModel& model = gpu_model ? static_cast<const LatentModel&>(*gpu_model) : cpu_model;
  std::vector<float> z0(model.latent_dim());
  Rng zr = rng.derive(7);
  for (float& v : z0) v = zr.normal();

  std::printf("# bench planners: RSSM S %d D %d Hd %d A %d, H %d, %s settings, %d threads%s\n", sz.stoch, sz.deter,
              sz.hidden, sz.action, H, paper ? "paper" : "cpu-scale", num_threads(),
              gpu_model ? ", the latent model on the GPU" : "");
  for (const auto& name : planner_names()) {
    if (!only.empty() && name != only) continue;
    auto p = make_planner(name, model, H, cfg);
    const GemmRates rates = measure_gemm_rates(true);
    FlopCounter counter;
    const std::clock_t c0 = std::clock();  // process CPU time, all threads (robust to a shared machine)
    const PlanResult& res = p->plan(z0.data(), 1);
    const double cpu_s = double(std::clock() - c0) / CLOCKS_PER_SEC;
    const double fs = counter.single(), fd = counter.dbl();
    const TimingBreakdown& t = res.timing;
    std::printf("# %s: %zu iterations; rollouts %.3f s, derivatives %.3f s, solve %.3f s, other %.3f s\n",
                name.c_str(), res.iters.size(), t.rollouts, t.derivatives, t.solve, t.other);
    bench_print("plan_s_" + name, t.total, "s");
    print_floor("plan", "_" + name, fs, fd, t.total, rates, cpu_s);
    if (auto* sp = dynamic_cast<const SamplingPlanner*>(p.get())) {  // latent steps per second of the whole plan
      const double steps = double(sp->settings().samples) * H * sp->settings().iterations;
      bench_print("model_steps_per_s_" + name, steps / t.total, "steps/s");
      bench_print("model_steps_per_cpu_s_" + name, steps / cpu_s, "steps/s");
    }
  }
  // Image collocation needs the full RSSM (encoder, decoder), so it is not in this benchmark.
  // With --paper (5000 steps of 64x64 convolutions) it runs only when asked for by name.
  if (!gpu_model && ((only.empty() && !paper) || only == "image_collocation")) {
    ImageCollocationSettings ics;
    cfg.apply(ics);
    Rssm rssm(RssmSettings{}, sz.action, 1);  // paper sizes, 64x64 images
    ImageCollocation ic(rssm, H, ics);
    const GemmRates rates = measure_gemm_rates(true);
    FlopCounter counter;
    const std::clock_t c0 = std::clock();
    const PlanResult& res = ic.plan(z0.data(), 1);
    const double cpu_s = double(std::clock() - c0) / CLOCKS_PER_SEC;
    const double fs = counter.single(), fd = counter.dbl();
    const TimingBreakdown& t = res.timing;
    std::printf("# image_collocation: %zu iterations; derivatives %.3f s, solve %.3f s, rollouts %.3f s, other %.3f s\n",
                res.iters.size(), t.derivatives, t.solve, t.rollouts, t.other);
    bench_print("plan_s_image_collocation", t.total, "s");
    print_floor("plan", "_image_collocation", fs, fd, t.total, rates, cpu_s);
  }
  return 0;
}

}  // namespace latco
