// `latco bench rssm`: one ELBO training step (forward, backward, Adam) of the world
// model at B = 16, L = 32 on 64x64 images, paper sizes unless overridden; prints the
// step time, images per second, the time of each phase, the CPU time per step (a figure
// that contention on a shared machine inflates less than wall time) and the peak memory.
// device=cuda: whole ModelTrainer steps on the GPU, with the host-device copies per step.
// Left out: data loading (a random batch is used).
#include <sys/resource.h>

#include <cstdio>

#include "core/command.h"
#include "core/cuda_api.h"
#include "core/device_select.h"
#include "core/thread_pool.h"
#include "core/timer.h"
#include "io/config.h"
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

}  // namespace

LATCO_BENCH(rssm) {
  Config cfg = args.has("config") ? Config::load(args.get("config")) : Config();
  for (const auto& kv : args.overrides) cfg.override_with(kv);
  RssmSettings ms;
  BenchRssmSettings bs;
  cfg.apply(ms);
  cfg.apply(bs);
  DeviceSettings ds;
  cfg.apply(ds);
  args.check_all_read("bench rssm");
  cfg.check_all_used();
  const Device device = select_device(ds, "bench rssm", cfg.where("device"));

  Rssm model(ms, bs.action, 1);
  ModelTrainer trainer(model, 2, device);
  // A random batch: uint8 frames, actions in [-1, 1], rewards in {0, 1}.
  SequenceBatch batch;
  batch.resize(bs.batch, bs.length, ms.image_size, ms.image_size, bs.action);
  Rng rng = Rng(3).derive(0);
  for (auto& p : batch.image) p = uint8_t(rng.below(256));
  for (auto& a : batch.action) a = rng.uniform(-1.0f, 1.0f);
  for (auto& r : batch.reward) r = rng.uniform() < 0.1f ? 1.0f : 0.0f;
  std::printf("rssm: %lld parameters, stoch %d deter %d hidden %d depth %d, %dx%d images, B %d L %d\n",
              (long long)model.num_parameters(), model.stoch(), model.deter(), ms.hidden, ms.depth,
              ms.image_size, ms.image_size, bs.batch, bs.length);
  if (device == Device::CUDA) {
    time_device_steps(trainer, batch, bs.steps);
    return 0;
  }

  // Phases of one step, timed separately (the same work as ModelTrainer::step).
  double t_fwd = 0, t_bwd = 0, t_adam = 0, t_total = 0, cpu0 = 0;
  nn::Adam& adam = trainer.adam();
  for (int k = 0; k <= bs.steps; ++k) {
    if (k == 1) cpu0 = cpu_seconds();
    Timer all;
    Tensor images, actions, rewards;
    model.batch_tensors(batch, images, actions, rewards);
    Tensor eps({bs.length, bs.batch, model.stoch()});
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
    std::printf("rssm: step %d: %.3f s (forward %.3f, backward %.3f, adam %.3f), loss %.1f\n", k, total, f, b, a,
                loss);
    if (k == 0) continue;  // warm-up
    t_fwd += f;
    t_bwd += b;
    t_adam += a;
    t_total += total;
  }
  const double n = bs.steps, step_s = t_total / n, cpu_s = (cpu_seconds() - cpu0) / n;
  bench_print("rssm_step_s", step_s, "s");
  bench_print("rssm_images_per_s", bs.batch * bs.length / step_s, "images/s");
  bench_print("rssm_step_cpu_s", cpu_s, "s");
  bench_print("rssm_step_cpu_per_thread_s", cpu_s / num_threads(), "s");
  bench_print("rssm_forward_s", t_fwd / n, "s");
  bench_print("rssm_backward_s", t_bwd / n, "s");
  bench_print("rssm_adam_s", t_adam / n, "s");
  bench_print("rssm_peak_rss_mb", peak_rss_mb(), "MB");
  return 0;
}

}  // namespace latco
