// The one world-model training loop (agent/train_loop.h) that train, train-model and the demo
// run: it takes exactly the trainer's steps on the replay's batches, keeps its step, time and
// checkpoint cadence, stops when asked, and a NaN saves the batch and a checkpoint, named in the
// error (through the loop, and through `latco train-model`).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "agent/train_loop.h"
#include "app/command.h"
#include "core/thread_pool.h"
#include "env/env.h"
#include "env/episode.h"
#include "io/checkpoint.h"
#include "io/npz.h"
#include "test_files.h"

using namespace latco;
namespace fs = std::filesystem;

namespace {

RssmSettings tiny_model() {
  RssmSettings ms;
  ms.image_size = 16, ms.stoch = 3, ms.deter = 6, ms.hidden = 6, ms.depth = 2, ms.reward_hidden = 6;
  ms.batch = 3, ms.length = 5;
  return ms;
}

// Three 13-step episodes of flat frames; rewards r(t) (NaN makes the first loss NaN).
std::vector<Episode> episodes(int A, float reward) {
  std::vector<Episode> v;
  for (int i = 0; i < 3; ++i) {
    Episode e;
    e.H = 16, e.W = 16, e.A = A;
    std::vector<uint8_t> img(16 * 16 * 3, uint8_t(40 * i));
    std::vector<float> act(A, 0.1f * i);
    for (int t = 0; t < 13; ++t) e.append(img.data(), act.data(), reward * t, false);
    v.push_back(e);
  }
  return v;
}

Replay replay_of(const std::vector<Episode>& eps, int A) {
  Replay r(1000, 16, 16, A, 11, false);
  for (const auto& e : eps) r.add(e);
  return r;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(TrainLoop, TakesTheTrainersStepsOnTheReplaysBatchesWithItsCadence) {
  set_num_threads(1);
  const RssmSettings ms = tiny_model();
  const int A = 2;
  const auto eps = episodes(A, 0.5f);
  // The loop: 5 steps, a checkpoint every 2 and at the last.
  Rssm a(ms, A, 5);
  ModelTrainer ta(a, 5);
  Replay ra = replay_of(eps, A);
  std::vector<int64_t> saved, seen;
  TrainLoop loop;
  loop.batch = ms.batch, loop.length = ms.length, loop.until = 5, loop.checkpoint_every = 2;
  loop.save_checkpoint = [&](bool failure) {
    EXPECT_FALSE(failure);
    saved.push_back(ta.steps());
    return std::string("ck");
  };
  std::vector<double> losses;
  loop.after_step = [&](const TrainMetrics& m, const SequenceBatch& b) {
    seen.push_back(m.grad_step);
    losses.push_back(m.loss);
    EXPECT_EQ(b.B, ms.batch);
    EXPECT_EQ(b.L, ms.length);
  };
  EXPECT_EQ(run_train_loop(ta, ra, loop), 5);
  EXPECT_EQ(seen, (std::vector<int64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(saved, (std::vector<int64_t>{2, 4, 5}));
  // By hand: the same batches, the same steps, bit for bit.
  Rssm b(ms, A, 5);
  ModelTrainer tb(b, 5);
  Replay rb = replay_of(eps, A);
  SequenceBatch batch;
  for (int i = 0; i < 5; ++i) {
    rb.sample(ms.batch, ms.length, batch);
    EXPECT_EQ(tb.step(batch).loss, losses[i]) << "step " << i;
  }
  const auto pa = a.parameters(), pb = b.parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t k = 0; k < pa.size(); ++k) {
    const Tensor& x = pa[k].second.value();
    const Tensor& y = pb[k].second.value();
    EXPECT_EQ(std::memcmp(x.data(), y.data(), x.numel() * sizeof(float)), 0) << pa[k].first;
  }
  // Continues to `until` from where the trainer is; stop() ends it before a step.
  int asked = 0;
  loop.until = 9;
  loop.checkpoint_every = 0;
  loop.stop = [&] { return ++asked > 2; };
  EXPECT_EQ(run_train_loop(ta, ra, loop), 2);
  EXPECT_EQ(ta.steps(), 7);
  EXPECT_EQ(saved.size(), 3u);  // no cadence: no checkpoint
  // A time cap already spent takes no step.
  Timer clock;
  loop.stop = nullptr;
  loop.clock = &clock;
  loop.max_seconds = 1e-12;
  EXPECT_EQ(run_train_loop(ta, ra, loop), 0);
  set_num_threads(2);
}

TEST(TrainLoop, NanSavesTheBatchAndACheckpointNamedInTheError) {
  set_num_threads(1);
  const std::string dir = fresh_test_dir("train_loop", "nan");
  const RssmSettings ms = tiny_model();
  const int A = 2;
  Rssm model(ms, A, 1);
  ModelTrainer trainer(model, 1);
  Replay replay = replay_of(episodes(A, std::nanf("")), A);
  TrainLoop loop;
  loop.batch = ms.batch, loop.length = ms.length, loop.until = 3;
  loop.failure_dir = dir;
  int failures = 0;
  loop.save_checkpoint = [&](bool failure) {
    failures += failure;
    return std::string("the/checkpoint.bin");
  };
  const std::string m = error_of([&] { run_train_loop(trainer, replay, loop); });
  EXPECT_NE(m.find("loss is"), std::string::npos) << m;
  EXPECT_NE(m.find("batch saved to " + dir + "/nonfinite_batch_step0.npz, checkpoint to the/checkpoint.bin"),
            std::string::npos)
      << m;
  EXPECT_EQ(failures, 1);
  EXPECT_EQ(read_npz(dir + "/nonfinite_batch_step0.npz").at("reward").shape, (std::vector<int64_t>{3, 5}));
  EXPECT_EQ(trainer.steps(), 0);
  set_num_threads(2);
}

// train-model runs the same loop: its NaN guard keeps the batch and a checkpoint too.
TEST(TrainLoop, TrainModelNanGuardSavesBatchAndCheckpoint) {
  set_num_threads(1);
  const std::string dir = fresh_test_dir("train_loop", "train_model_nan");
  EnvSettings es;
  es.image_size = 16;
  const int A = make_env("reach", es)->action_dim();
  fs::create_directories(dir + "/data");
  const auto eps = episodes(A, std::nanf(""));
  for (size_t i = 0; i < eps.size(); ++i) save_episode(dir + "/data/ep" + std::to_string(i) + ".npz", eps[i]);
  const std::string m = error_of([&] {
    run_command("train-model", {"--data", dir + "/data", "--out", dir + "/run", "--steps", "4", "model_image_size=16",
                                "model_stoch=3", "model_deter=6", "model_hidden=6", "model_depth=2",
                                "model_reward_hidden=6", "model_batch=3", "model_length=5", "image_every=0"});
  });
  EXPECT_NE(m.find("batch saved to " + dir + "/run/nonfinite_batch_step0.npz"), std::string::npos) << m;
  EXPECT_NE(m.find("checkpoint to " + dir + "/run/checkpoints/ckpt-"), std::string::npos) << m;
  EXPECT_FALSE(latest_checkpoint(dir + "/run/checkpoints").empty());
  set_num_threads(2);
}
