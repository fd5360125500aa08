// `latco bench rssm`: one ELBO training step (forward, backward, Adam) of the world
// model at B = 16, L = 32 on 64x64 images, paper sizes unless overridden; prints the
// step time, images per second, the time of each phase, the CPU time per step (a figure
// that contention on a shared machine inflates less than wall time), the peak memory, and the
// step's floor: its counted FLOPs at the GEMM rate measured just before. Then the same for the
// demo's smaller model (figures with the suffix _demo). device=cuda: whole ModelTrainer steps on
// the GPU, with the host-device copies per step (no floor). For the demo's model, also its
// training loop as the demo and train-model run it (replay sampling, then ModelTrainer::step):
// train_loop_step_s_demo and its ratio to rssm_step_s_demo.
// Left out: loading episode files (the loop's replay holds random episodes).
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "agent/replay.h"
#include "app/command.h"
#include "core/device_select.h"
#include "core/thread_pool.h"
#include "core/timer.h"
#include "cuda/cuda_api.h"
#include "io/config.h"
#include "kernels/flops.h"
#include "model/elbo.h"

namespace latco {
namespace {

struct BenchRssmSettings {
  int batch = 16;   // sequences per step
  int length = 32;  // steps per sequence
  int action = 4;   // action size
  int steps = 3;    // timed steps (after one warm-up step)
  template <class V>
  void visit(V& v) {
    v("bench_batch", batch, 1, 1000);
    v("bench_length", length, 1, 1000);
    v("bench_action", action, 1, 64);
    v("bench_steps", steps, 1, 1000);
  }
};

// Process CPU seconds (user + system, all threads): on a shared machine, CPU time per
// step divided by the thread count estimates the step time on an idle one.
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;  // Linux reports kilobytes
}

// The demo's world model (configs/demo.yaml), timed after the configured one.
const char* kDemoModel =
    "model_image_size: 32\nmodel_stoch: 16\nmodel_deter: 64\nmodel_hidden: 64\nmodel_depth: 16\n"
    "model_reward_hidden: 64\nmodel_image_std: 0.1\nmodel_free_nats: 1.0\n";

// device=cuda: whole steps (one upload, ELBO, backward, Adam, one download), each synchronised.
void time_device_steps(ModelTrainer& trainer, const SequenceBatch& batch, int steps) {
#ifdef HAVE_CUDA
  double total = 0;
  cuda::CopyStats c0;
  for (int k = 0; k <= steps; ++k) {
    if (k == 1) c0 = cuda::copy_stats();  // after the warm-up (allocations, cuBLAS handle)
    Timer t;
    const TrainMetrics m = trainer.step(batch);
    cuda::synchronize();
    const double s = t.seconds();
    std::printf("rssm: step %d on the GPU: %.4f s, loss %.1f\n", k, s, m.loss);
    if (k > 0) total += s;
  }
  const cuda::CopyStats c1 = cuda::copy_stats();
  const double n = steps, step_s = total / n;
  bench_print("rssm_step_s", step_s, "s");
  bench_print("rssm_images_per_s", double(batch.B) * batch.L / step_s, "images/s");
  bench_print("rssm_uploads_per_step", double(c1.uploads - c0.uploads) / n, "copies");
  bench_print("rssm_downloads_per_step", double(c1.downloads - c0.downloads) / n, "copies");
  bench_print("rssm_upload_mb_per_step", double(c1.upload_bytes - c0.upload_bytes) / n / 1e6, "MB");
#endif
}


struct StepTime {
  double wall = 0, cpu = 0;  // median wall seconds per step; CPU seconds (all threads) per step
};

// Times bs.steps ELBO steps after one warm-up and prints the figures, each name + suffix.
StepTime time_steps(const RssmSettings& ms, const BenchRssmSettings& bs, const std::string& sfx, Device device) {
  Rssm model(ms, bs.action, 1);
  ModelTrainer trainer(model, 2, device);
  // A random batch: uint8 frames, actions in [-1, 1], rewards in {0, 1}.
  SequenceBatch batch;
  batch.resize(bs.batch, bs.length, ms.image_size, ms.image_size, bs.action);
  Rng rng = Rng(3).derive(0);
  for (auto& p : batch.image) p = uint8_t(rng.below(256));
  for (auto& a : batch.action) a = rng.uniform(-1.0f, 1.0f);
  for (auto& r : batch.reward) r = rng.uniform() < 0.1f ? 1.0f : 0.0f;
  std::printf("rssm%s: %lld parameters, stoch %d deter %d hidden %d depth %d, %dx%d images, B %d L %d\n",
              sfx.c_str(), (long long)model.num_parameters(), model.stoch(), model.deter(), ms.hidden, ms.depth,
              ms.image_size, ms.image_size, bs.batch, bs.length);
  if (device == Device::CUDA) {
    time_device_steps(trainer, batch, bs.steps);
    return {};
  }

  const GemmRates rates = measure_gemm_rates(false);  // just before the steps, in the same process
  // Phases of one step, timed separately (the same work as ModelTrainer::step).
  std::vector<double> totals;
  double t_fwd = 0, t_bwd = 0, t_adam = 0, cpu0 = 0, flops = 0;
  nn::Adam& adam = trainer.adam();
  FlopCounter counter;  // the matrix products and convolutions of each step, from their shapes
  for (int k = 0; k <= bs.steps; ++k) {
    if (k == 1) cpu0 = cpu_seconds();
    counter.reset();
    Timer all;
    Tensor images, actions, rewards;
    model.batch_tensors(batch, images, actions, rewards);
    Tensor eps(model.noise_shape(bs.length, bs.batch));
    Rng noise = Rng(4).derive(uint64_t(k));
    for (int64_t i = 0; i < eps.numel(); ++i) eps[i] = noise.normal();
    adam.zero_grad();
    Timer t;
    ElboTerms terms = elbo_loss(model, images, actions, rewards, eps, ms.free_nats);
    const double f = t.seconds(), loss = terms.loss.item();
    t.reset();
    ad::backward(terms.loss);
    const double b = t.seconds();
    t.reset();
    adam.step();
    const double a = t.seconds();
    terms = ElboTerms();  // frees the graph inside the timed step
    const double total = all.seconds();
    flops = counter.single();
    std::printf("rssm%s: step %d: %.3f s (forward %.3f, backward %.3f, adam %.3f), loss %.1f\n", sfx.c_str(), k,
                total, f, b, a, loss);
    if (k == 0) continue;  // warm-up
    t_fwd += f;
    t_bwd += b;
    t_adam += a;
    totals.push_back(total);
  }
  const double n = bs.steps, cpu_s = (cpu_seconds() - cpu0) / n;
  std::sort(totals.begin(), totals.end());
  const double step_s = totals[totals.size() / 2];  // median
  bench_print("rssm_step_s" + sfx, step_s, "s");
  bench_print("rssm_images_per_s" + sfx, bs.batch * bs.length / step_s, "images/s");
  bench_print("rssm_step_cpu_s" + sfx, cpu_s, "s");
  bench_print("rssm_step_cpu_per_thread_s" + sfx, cpu_s / num_threads(), "s");
  bench_print("rssm_forward_s" + sfx, t_fwd / n, "s");
  bench_print("rssm_backward_s" + sfx, t_bwd / n, "s");
  bench_print("rssm_adam_s" + sfx, t_adam / n, "s");
  bench_print("gemm_gflops_1024" + sfx, rates.s.gflops, "GFLOPS");
  print_floor("rssm_step", sfx, flops, 0, step_s, rates, cpu_s);
  return {step_s, cpu_s};
}

// The training loop of the demo and train-model on the same model: replay.sample (B windows of
// L steps from a buffer of random episodes), then ModelTrainer::step (batch conversion, noise,
// ELBO, backward, finiteness checks, Adam); bs.steps timed after one warm-up. Prints the loop's
// median seconds per step and its ratio to the bench's step (wall; and CPU time per step).
void time_train_loop(const RssmSettings& ms, const BenchRssmSettings& bs, const std::string& sfx, StepTime bench) {
  Rssm model(ms, bs.action, 1);
  ModelTrainer trainer(model, 2, Device::CPU);
  const int T = std::max(bs.length, 101), episodes = 20, size = ms.image_size;
  Replay replay(int64_t(T) * episodes, size, size, bs.action, 5, false);
  Rng rng = Rng(3).derive(1);
  std::vector<uint8_t> image(size_t(T) * size * size * 3);
  std::vector<float> action(size_t(T) * bs.action), reward(T);
  for (int e = 0; e < episodes; ++e) {
    for (auto& p : image) p = uint8_t(rng.below(256));
    for (auto& a : action) a = rng.uniform(-1.0f, 1.0f);
    for (auto& r : reward) r = rng.uniform() < 0.1f ? 1.0f : 0.0f;
    replay.add(T, image.data(), action.data(), reward.data());
  }
  SequenceBatch batch;
  std::vector<double> wall;
  double cpu0 = 0;
  for (int k = 0; k <= bs.steps; ++k) {
    if (k == 1) cpu0 = cpu_seconds();
    Timer t;
    replay.sample(bs.batch, bs.length, batch);
    trainer.step(batch);
    if (k > 0) wall.push_back(t.seconds());  // k = 0: warm-up
  }
  const double cpu_s = (cpu_seconds() - cpu0) / bs.steps;
  std::sort(wall.begin(), wall.end());
  const double loop_s = wall[wall.size() / 2];
  bench_print("train_loop_step_s" + sfx, loop_s, "s");
  bench_print("train_loop_steps_per_s" + sfx, 1.0 / loop_s, "steps/s");
  bench_print("train_loop_step_ratio" + sfx, loop_s / bench.wall, "x");
  bench_print("train_loop_step_ratio_cpu" + sfx, cpu_s / bench.cpu, "x");
}

}  // namespace

// The configured model (paper size unless overridden), then the demo's (suffix _demo) unless --no-demo.
int bench_rssm(const Args& args) {
  Config cfg = args.has("config") ? Config::load(args.get("config")) : Config();
  for (const auto& kv : args.overrides) cfg.override_with(kv);
  const bool demo = !args.has("no-demo");
  RssmSettings ms;
  BenchRssmSettings bs;
  cfg.apply(ms);
  cfg.apply(bs);
  DeviceSettings ds;
  cfg.apply(ds);
  args.check_all_read("bench rssm");
  cfg.check_all_used();
  const Device device = select_device(ds, "bench rssm", cfg.where("device"));
  time_steps(ms, bs, "", device);
  if (demo) {
    RssmSettings dm;
    Config::parse(kDemoModel, "the demo's model").apply(dm);
    const StepTime st = time_steps(dm, bs, "_demo", device);
    if (device == Device::CPU) time_train_loop(dm, bs, "_demo", st);
  }
  bench_print("rssm_peak_rss_mb", peak_rss_mb(), "MB");
  return 0;
}

}  // namespace latco
