// `latco train-model`: trains the world model on a folder of episode files by the
// ELBO (Eq. 2), writing the resolved config, metrics.csv, checkpoints and PNG
// diagnostics (reconstructions, open-loop predictions) under --out (locked while it
// runs); --resume continues from the newest intact checkpoint; SIGINT/SIGTERM stop it
// with a checkpoint written. Left out: collecting data (see the agent).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "agent/replay.h"
#include "agent/run_checkpoint.h"
#include "agent/train_loop.h"
#include "app/command.h"
#include "app/key_help.h"
#include "core/device_select.h"
#include "core/timer.h"
#include "env/episode.h"
#include "io/atomic_file.h"
#include "io/checkpoint.h"
#include "io/config.h"
#include "io/csv.h"
#include "io/png.h"
#include "io/progress.h"
#include "io/run_lock.h"
#include "model/elbo.h"

namespace fs = std::filesystem;

namespace latco {
namespace {

struct TrainModelSettings {
  int64_t steps = 10000;        // gradient steps in total (a resumed run stops there too)
  uint64_t seed = 0;            // model init, noise and replay streams
  int64_t replay_capacity = 0;  // steps; 0 = exactly the data
  int log_every = 50;           // console line every N steps
  int image_every = 1000;       // PNG diagnostics every N steps (0 = never)
  int checkpoint_every = 1000;  // checkpoint every N steps (and at the end)
  int keep_checkpoints = 3;     // newest N kept
  int openloop_context = 5;     // posterior frames before the open-loop prior rollout
  template <class V>
  void visit(V& v) {
    v("train_steps", steps, 0, int64_t(1) << 40);
    v("seed", seed);
    v("replay_capacity", replay_capacity, 0, int64_t(1) << 40);
    v("log_every", log_every, 1, 1 << 30);
    v("image_every", image_every, 0, 1 << 30);
    v("checkpoint_every", checkpoint_every, 1, 1 << 30);
    v("keep_checkpoints", keep_checkpoints, 1, 1000);
    v("openloop_context", openloop_context, 1, 1000);
  }
};

// The first n sequences of a batch.
SequenceBatch head(const SequenceBatch& b, int n) {
  SequenceBatch o;
  o.resize(n, b.L, b.H, b.W, b.A);
  std::copy(b.image.begin(), b.image.begin() + o.image.size(), o.image.begin());
  std::copy(b.action.begin(), b.action.begin() + o.action.size(), o.action.begin());
  std::copy(b.reward.begin(), b.reward.begin() + o.reward.size(), o.reward.begin());
  return o;
}

// Row `row` of a (N, 3, H, W) tensor in [-0.5, 0.5] as an RGB image.
Image to_image(const Tensor& t, int64_t row) {
  const int H = int(t.size(2)), W = int(t.size(3)), HW = H * W;
  Image im(H, W);
  const float* p = t.data() + row * 3 * HW;
  for (int i = 0; i < HW; ++i)
    for (int c = 0; c < 3; ++c)
      im.rgb[i * 3 + c] = uint8_t(std::lround(std::fmin(std::fmax((p[c * HW + i] + 0.5f) * 255.0f, 0.0f), 255.0f)));
  return im;
}
// A grid of `cols` columns of W-pixel frames (image_grid, pad 1), upscaled x2, under caption lines
// and a row of time labels t=0, 1, ...; a red line before column `mark` (0: none).
Image captioned(const Image& grid, const std::vector<std::string>& caption, int cols, int W, int mark) {
  Image big = upscale(grid, 2);
  const int col0 = 2, step = 2 * (W + 1);  // column c starts at 2 * (1 + c (W + 1))
  Image times(kFontLineHeight + 2, big.width, 255);
  const uint8_t ink[3] = {20, 20, 20}, red[3] = {220, 30, 30};
  for (int c = 0; c < cols; ++c) draw_text(times, 1, col0 + c * step + 2, (c == 0 ? "t=" : "") + std::to_string(c), ink);
  Image body(times.height + big.height, big.width, 255);
  blit(body, times, 0, 0);
  blit(body, big, times.height, 0);
  if (mark > 0)
    for (int r = 0; r < body.height; ++r)
      for (int d = -1; d <= 0; ++d) std::copy(red, red + 3, body.at(r, col0 + mark * step - 2 + d));
  return with_title(body, caption);
}
// |a - b| per channel, times `gain` (clipped at 255).
Image abs_diff(const Image& a, const Image& b, double gain) {
  Image d(a.height, a.width);
  for (size_t i = 0; i < a.rgb.size(); ++i)
    d.rgb[i] = uint8_t(std::min<long>(255, std::lround(std::abs(int(a.rgb[i]) - int(b.rgb[i])) * gain)));
  return d;
}

// PlaNet-style diagnostics for the first few sequences of a batch: reconstructions from
// the posterior (rows truth / reconstruction), and open-loop predictions: `context`
// posterior frames, then the prior mean rolled forward on the true actions (rows truth /
// prediction / absolute difference). Posterior samples are replaced by means (eps = 0).
void write_diagnostics(const Rssm& model, const SequenceBatch& full, int context, const std::string& prefix) {
  ad::NoGradGuard no_grad;
  const int n = std::min(full.B, 4), L = std::min(full.L, 16), C = std::min(context, L - 1);
  SequenceBatch b = head(full, n);
  Tensor images, actions, rewards;
  model.batch_tensors(b, images, actions, rewards);  // (L0*n, 3, H, W), (L0, n, A)
  RssmSequence seq = model.observe(images, actions, Tensor::zeros(model.noise_shape(b.L, n)));
  Tensor recon = model.decode(seq.features()).value();  // (L0*n, 3, H, W)

  std::vector<Image> tiles;
  for (int i = 0; i < n; ++i) {
    for (int t = 0; t < L; ++t) tiles.push_back(to_image(images, int64_t(t) * n + i));
    for (int t = 0; t < L; ++t) tiles.push_back(to_image(recon, int64_t(t) * n + i));
  }
  write_png(prefix + "_recon.png", captioned(image_grid(tiles, L, 1),
                                            {"reconstructions: " + std::to_string(n) + " sequences, rows of two:",
                                             "truth / posterior reconstruction"},
                                            L, b.W, 0));

  // Open loop: posterior on steps [0, C), prior from there on the true actions [C, L).
  Tensor ctx_img = images.slice0(0, int64_t(C) * n), ctx_act = actions.slice0(0, C);
  RssmSequence ctx = model.observe(ctx_img, ctx_act, Tensor::zeros(model.noise_shape(C, n)));
  ad::Var s0 = ad::slice(ctx.s, 0, int64_t(C - 1) * n, int64_t(C) * n);
  ad::Var h0 = ctx.h.defined() ? ad::slice(ctx.h, 0, int64_t(C - 1) * n, int64_t(C) * n) : ad::Var();
  Tensor open = model.decode(model.imagine(s0, h0, actions.slice0(C, L).clone())).value();  // ((L-C)*n, ...)
  Tensor ctx_rec = model.decode(ctx.features()).value();
  tiles.clear();
  std::vector<std::vector<Image>> truth(n), pred(n);
  int max_diff = 1;  // the difference rows are scaled so that the largest difference is white
  for (int i = 0; i < n; ++i)
    for (int t = 0; t < L; ++t) {
      truth[i].push_back(to_image(images, int64_t(t) * n + i));
      pred[i].push_back(t < C ? to_image(ctx_rec, int64_t(t) * n + i) : to_image(open, int64_t(t - C) * n + i));
      for (size_t k = 0; k < truth[i][t].rgb.size(); ++k)
        max_diff = std::max(max_diff, std::abs(int(truth[i][t].rgb[k]) - int(pred[i][t].rgb[k])));
    }
  const double gain = 255.0 / max_diff;
  for (int i = 0; i < n; ++i) {
    for (int t = 0; t < L; ++t) tiles.push_back(truth[i][t]);
    for (int t = 0; t < L; ++t) tiles.push_back(pred[i][t]);
    for (int t = 0; t < L; ++t) tiles.push_back(abs_diff(truth[i][t], pred[i][t], gain));
  }
  char scale[64];
  std::snprintf(scale, sizeof scale, "|difference| x %.1f (white: %d of 255)", gain, max_diff);
  write_png(prefix + "_openloop.png",
            captioned(image_grid(tiles, L, 1),
                      {"open loop: " + std::to_string(n) + " sequences, rows of three:",
                       "truth / prediction / " + std::string(scale),
                       "left of the red line: posterior (" + std::to_string(C) + " frames); right: prior on the actions"},
                      L, b.W, C));
}

std::string save_run_checkpoint(const std::string& dir, const ModelTrainer& trainer, Replay& replay,
                                const std::string& config_text, int keep) {
  RunCheckpoint r;
  r.index = trainer.steps();
  r.replay = &replay;
  r.notes["config"] = config_text;
  r.keep = keep;
  return write_run_checkpoint(dir, trainer, r);
}

// The data folder a run's config.yaml names in its first line ("" if none).
std::string stored_data_dir(const std::string& config_yaml) {
  std::ifstream f(config_yaml);
  std::string line;
  std::getline(f, line);
  const std::string tag = "(data: ";
  const size_t a = line.find(tag), b = line.rfind(')');
  return a == std::string::npos || b == std::string::npos || b < a ? "" : line.substr(a + tag.size(), b - a - tag.size());
}

int train_model(const Args& args) {
  std::string data = args.get("data");
  const std::string out = args.get("out", "runs/model");
  const bool resume = args.has("resume");
  // A resumed run continues from its stored config.yaml and data folder unless they are given again.
  const bool stored = resume && !args.has("config") && fs::exists(out + "/config.yaml");
  Config cfg = args.has("config") ? Config::load(args.get("config")) : stored ? Config::load(out + "/config.yaml") : Config();
  if (stored && data.empty()) data = stored_data_dir(out + "/config.yaml");
  LATCO_CHECK(!data.empty()) << "train-model: --data DIR (a folder of .npz episodes) is required";
  for (const auto& kv : args.overrides) cfg.override_with(kv);
  if (args.has("steps")) cfg.override_with("train_steps=" + args.get("steps"));
  RssmSettings ms;
  TrainModelSettings ts;
  DeviceSettings ds;
  cfg.apply(ms);
  cfg.apply(ts);
  cfg.apply(ds);
  args.check_all_read("train-model");
  // A shared experiment config may hold keys for other commands: only a mistyped key
  // on the command line is an error here.
  for (const auto& [key, e] : cfg.entries())
    if (!e.used) {
      if (e.line == 0) LATCO_FAIL("command line: train-model does not know the key '" << key << "'");
      std::printf("train-model: note: %s is not used by train-model\n", cfg.where(key).c_str());
    }

  // ----- data -----
  std::vector<std::string> files = list_episode_files(data);
  if (files.empty()) LATCO_FAIL(data << ": no .npz episode files");
  std::vector<Episode> eps;
  int64_t total = 0;
  for (const auto& f : files) {
    eps.push_back(load_episode(f));
    total += eps.back().T;
    if (eps.back().H != ms.image_size || eps.back().W != ms.image_size)
      LATCO_FAIL(f << ": frames are " << eps.back().H << "x" << eps.back().W << ", model_image_size is "
                   << ms.image_size);
  }
  const int A = eps[0].A;
  Replay replay(ts.replay_capacity > 0 ? ts.replay_capacity : total, ms.image_size, ms.image_size, A, ts.seed);
  for (size_t i = 0; i < eps.size(); ++i) {
    try {
      replay.add(eps[i]);
    } catch (const Error& e) {
      LATCO_FAIL(files[i] << ": " << e.what());
    }
  }
  eps.clear();
  std::printf("train-model: %zu episodes, %lld steps from %s\n", files.size(), (long long)replay.steps(),
              data.c_str());

  // ----- run folder and resolved config -----
  RunLock lock(out, "train-model");
  const std::string ckdir = out + "/checkpoints", imgdir = out + "/images";
  if (!resume && !latest_checkpoint(ckdir).empty())
    LATCO_FAIL(out << " already holds checkpoints: continue it with --resume, or choose another --out");
  fs::create_directories(ckdir);
  fs::create_directories(imgdir);
  std::vector<std::pair<std::string, std::string>> kv;
  Config::describe(ms, kv);
  Config::describe(ts, kv);
  std::string config_text;
  for (const auto& [k, v] : kv) config_text += k + ": " + v + "\n";
  write_file_atomic(out + "/config.yaml", "# train-model, resolved (data: " + data + ")\n" + config_text);

  Rssm model(ms, A, ts.seed);
  ModelTrainer trainer(model, ts.seed, select_device(ds, "train-model", cfg.where("device")));
  if (resume) {
    Checkpoint ck;
    const std::string path = load_latest_intact(ckdir, ck);
    if (path.empty()) LATCO_FAIL("train-model --resume: no intact checkpoint in " << ckdir);
    trainer.load(ck, path);
    replay.rng() = ck.rng("replay", path);
    std::printf("train-model: resumed from %s (step %lld)\n", path.c_str(), (long long)trainer.steps());
  }
  std::printf("train-model: %lld parameters; writing %s\n", (long long)model.num_parameters(), out.c_str());
  // Rows logged after the checkpoint (a killed run's last steps) are dropped: those steps run again.
  CsvWriter csv(out + "/metrics.csv", train_metrics_columns(), resume, double(trainer.steps()));
  if (csv.dropped() > 0) std::printf("train-model: dropped %d metrics rows logged after the checkpoint\n", csv.dropped());

  StopOnSignal stop;
  Timer clock;
  // On a terminal the line redraws every step; in a log it is printed every log_every steps.
  Progress progress(ts.steps, "train-model", 0.0);
  progress.resume(0, trainer.steps());
  TrainLoop loop;
  loop.batch = ms.batch;
  loop.length = ms.length;
  loop.until = ts.steps;
  loop.clock = &clock;
  loop.metrics = &csv;
  loop.checkpoint_every = ts.checkpoint_every;
  loop.failure_dir = out;
  loop.save_checkpoint = [&](bool failure) {
    return save_run_checkpoint(ckdir, trainer, replay, config_text, ts.keep_checkpoints + (failure ? 1 : 0));
  };
  loop.after_step = [&](const TrainMetrics& m, const SequenceBatch& batch) {
    const int64_t k = m.grad_step;
    if (progress.tty() || k % ts.log_every == 0 || k == ts.steps) {
      char info[160];
      std::snprintf(info, sizeof info, "loss %.3f, kl %.3f, image_ll %.2f, reward_ll %.3f, grad_norm %.2f", m.loss,
                    m.kl, m.image_ll, m.reward_ll, m.grad_norm);
      progress.update(k, info);
    }
    if (ts.image_every > 0 && (k % ts.image_every == 0 || k == ts.steps)) {
      char name[64];
      std::snprintf(name, sizeof(name), "/step%09lld", (long long)k);
      trainer.sync_model();  // the device-trained weights to the host model (nothing on the CPU)
      write_diagnostics(model, batch, ts.openloop_context, imgdir + name);
    }
  };
  loop.stop = [] { return StopOnSignal::requested() != 0; };
  run_train_loop(trainer, replay, loop);
  if (trainer.steps() < ts.steps) {  // stopped by a signal
    const int sig = StopOnSignal::requested();
    save_run_checkpoint(ckdir, trainer, replay, config_text, ts.keep_checkpoints);
    std::printf("train-model: stopped by signal %d at step %lld; checkpoint %s written; continue with --resume\n",
                sig, (long long)trainer.steps(), checkpoint_path(ckdir, trainer.steps()).c_str());
    return 128 + sig;
  }
  progress.finish("");
  std::printf("train-model: done, %lld steps in %.1f s\n", (long long)trainer.steps(), clock.seconds());
  return 0;
}

}  // namespace

int cmd_train_model(const Args& args) { return train_model(args); }

CommandHelp help_train_model() {
  return {"latco train-model --data DIR [--out DIR] [--config FILE] [--steps N] [--resume] [key=value ...]",
     {{"--data", "", "folder of .npz episode files (latco collect); required"},
      {"--out", "runs/model", "run folder: config.yaml, metrics.csv, checkpoints/, images/"},
      {"--config", "", "config file (keys of other commands in it are noted, not errors)"},
      {"--steps", "", "sets train_steps"},
      {"--resume", "", "continue the run in --out from its newest checkpoint, with its stored config.yaml and "
                       "data folder unless --config / --data are given"}},
     "",
     [] {
       return config_keys([](const Config& cfg) {
         RssmSettings ms;
         TrainModelSettings ts;
         cfg.apply(ms);
         cfg.apply(ts);
       });
     }};
}

}  // namespace latco
