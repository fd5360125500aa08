// Run checkpoints: round trip of tensors, streams, counters and notes; atomic write;
// truncated, corrupted and wrong-version files give errors naming the file; keep-last-N;
// a model trained N steps, saved, loaded and trained M more equals one trained N + M;
// the train-model command end to end (files written, --resume, errors).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "agent/replay.h"
#include "app/command.h"
#include "core/error.h"
#include "env/episode.h"
#include "io/checkpoint.h"
#include "io/csv.h"
#include "model/elbo.h"

using namespace latco;
namespace fs = std::filesystem;

namespace {
std::string tmpdir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("latco_test_ckpt_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}
Checkpoint sample_checkpoint() {
  Checkpoint ck;
  ck.grad_steps = 1234;
  ck.env_steps = 56789;
  ck.episodes = 42;
  ck.tensors["model/w"] = Tensor::from({2, 3}, {1, 2, 3, 4, 5, -6.5f});
  ck.tensors["adam/step"] = Tensor::from({2}, {7, 0});
  ck.tensors["scalar"] = Tensor::scalar(3.25f);
  Rng r = Rng(5).derive(3);
  r.next_u64();
  r.next_u64();
  ck.rngs["replay"] = r;
  ck.notes["config"] = "model_stoch: 4\nmodel_deter: 8\n";
  return ck;
}
std::string expect_error(const std::string& path) {
  try {
    load_checkpoint(path);
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error loading " << path;
  return "";
}
}  // namespace

TEST(Checkpoint, RoundTrip) {
  const std::string dir = tmpdir("rt"), path = checkpoint_path(dir, 1234);
  Checkpoint ck = sample_checkpoint();
  save_checkpoint(path, ck);
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  Checkpoint back = load_checkpoint(path);
  EXPECT_EQ(back.grad_steps, 1234);
  EXPECT_EQ(back.env_steps, 56789);
  EXPECT_EQ(back.episodes, 42);
  ASSERT_EQ(back.tensors.size(), 3u);
  EXPECT_EQ(back.tensors["model/w"].shape(), (Shape{2, 3}));
  EXPECT_EQ(back.tensors["model/w"].to_vector(), ck.tensors["model/w"].to_vector());
  EXPECT_EQ(back.tensors["scalar"].dim(), 0);
  EXPECT_EQ(back.tensors["scalar"].item(), 3.25f);
  Rng a = ck.rngs["replay"], b = back.rng("replay", path);
  EXPECT_EQ(a.next_u64(), b.next_u64());
  EXPECT_EQ(back.notes["config"], ck.notes["config"]);
  Tensor dst({2, 3});
  back.read_into("model/w", dst, path);
  EXPECT_EQ(dst[5], -6.5f);
  Tensor wrong({3, 2});
  EXPECT_THROW(back.read_into("model/w", wrong, path), Error);
  EXPECT_THROW(back.tensor("model/missing", path), Error);
  fs::remove_all(dir);
}

TEST(Checkpoint, TruncatedCorruptedAndVersionErrorsNameTheFile) {
  const std::string dir = tmpdir("bad"), path = checkpoint_path(dir, 1);
  save_checkpoint(path, sample_checkpoint());
  std::string bytes;
  {
    std::ifstream f(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(f), {});
  }
  auto write = [&](const std::string& p, const std::string& b) {
    std::ofstream f(p, std::ios::binary);
    f.write(b.data(), b.size());
  };
  // Every truncation length: an error, never a crash.
  for (size_t n = 0; n < bytes.size(); n += 7) {
    const std::string p = dir + "/trunc.bin";
    write(p, bytes.substr(0, n));
    std::string m = expect_error(p);
    EXPECT_NE(m.find(p), std::string::npos) << m;
  }
  // Flipped bytes in the payload: the checksum catches them.
  for (size_t pos : {size_t(30), bytes.size() / 2, bytes.size() - 9}) {
    std::string b = bytes;
    b[pos] ^= 0x5a;
    const std::string p = dir + "/flip.bin";
    write(p, b);
    std::string m = expect_error(p);
    EXPECT_NE(m.find(p), std::string::npos) << m;
    EXPECT_TRUE(m.find("corrupted") != std::string::npos || m.find("truncated") != std::string::npos) << m;
  }
  {
    std::string b = bytes;
    b[8] = char(99);  // version field
    write(dir + "/ver.bin", b);
    std::string m = expect_error(dir + "/ver.bin");
    EXPECT_NE(m.find("version 99"), std::string::npos) << m;
  }
  {
    write(dir + "/magic.bin", "not a checkpoint at all, just some text");
    EXPECT_NE(expect_error(dir + "/magic.bin").find("not a latco checkpoint"), std::string::npos);
  }
  EXPECT_NE(expect_error(dir + "/absent.bin").find("absent.bin"), std::string::npos);
  fs::remove_all(dir);
}

TEST(Checkpoint, LatestAndKeepLastN) {
  const std::string dir = tmpdir("keep");
  EXPECT_EQ(latest_checkpoint(dir), "");
  Checkpoint ck = sample_checkpoint();
  for (int64_t s : {100, 900, 1000, 50, 20000}) {
    ck.grad_steps = s;
    save_checkpoint(checkpoint_path(dir, s), ck);
  }
  std::ofstream(dir + "/ckpt-notanumber.bin") << "x";  // ignored by the listing
  EXPECT_EQ(latest_checkpoint(dir), checkpoint_path(dir, 20000));
  prune_checkpoints(dir, 2);
  EXPECT_TRUE(fs::exists(checkpoint_path(dir, 20000)));
  EXPECT_TRUE(fs::exists(checkpoint_path(dir, 1000)));
  EXPECT_FALSE(fs::exists(checkpoint_path(dir, 900)));
  EXPECT_FALSE(fs::exists(checkpoint_path(dir, 50)));
  EXPECT_EQ(load_checkpoint(latest_checkpoint(dir)).grad_steps, 20000);
  fs::remove_all(dir);
}

TEST(Csv, HeaderRowsAndAppend) {
  const std::string dir = tmpdir("csv"), path = dir + "/m.csv";
  {
    CsvWriter w(path, {"grad_step", "loss"});
    w.row({1, 0.5});
    EXPECT_THROW(w.row({1}), Error);
  }
  {
    CsvWriter w(path, {"grad_step", "loss"}, true);
    w.row({2, 0.25});
  }
  EXPECT_THROW(CsvWriter(path, {"step", "loss"}, true), Error);
  std::ifstream f(path);
  std::string all((std::istreambuf_iterator<char>(f)), {});
  EXPECT_EQ(all, "grad_step,loss\n1,0.5\n2,0.25\n");
  fs::remove_all(dir);
}

TEST(Checkpoint, TrainSaveLoadTrainEqualsStraightRun) {
  RssmSettings st;
  st.stoch = 4;
  st.deter = 8;
  st.hidden = 8;
  st.depth = 2;
  st.image_size = 16;
  st.reward_hidden = 8;
  // Episodes of random frames; the replay stream decides which windows each step sees.
  auto fill = [](Replay& r) {
    Rng g(77);
    for (int e = 0; e < 3; ++e) {
      const int T = 10 + 3 * e;
      std::vector<uint8_t> im(size_t(T) * 16 * 16 * 3);
      std::vector<float> a(size_t(T) * 2), rew(T);
      for (auto& p : im) p = uint8_t(g.below(256));
      for (auto& x : a) x = g.uniform(-1, 1);
      for (auto& x : rew) x = g.uniform();
      r.add(T, im.data(), a.data(), rew.data());
    }
  };
  const int N = 3, M = 2, B = 2, L = 4;
  SequenceBatch batch;

  Rssm straight(st, 2, 1);
  ModelTrainer ts(straight, 2);
  Replay rs(100, 16, 16, 2, 3, false);
  fill(rs);
  for (int k = 0; k < N + M; ++k) {
    rs.sample(B, L, batch);
    ts.step(batch);
  }

  const std::string dir = tmpdir("resume");
  {
    Rssm first(st, 2, 1);
    ModelTrainer tf(first, 2);
    Replay rf(100, 16, 16, 2, 3, false);
    fill(rf);
    for (int k = 0; k < N; ++k) {
      rf.sample(B, L, batch);
      tf.step(batch);
    }
    Checkpoint ck;
    tf.save(ck);
    ck.rngs["replay"] = rf.rng();
    save_checkpoint(checkpoint_path(dir, ck.grad_steps), ck);
  }
  Rssm resumed(st, 2, 999);  // another init: loading must overwrite all of it
  ModelTrainer tr(resumed, 2);
  Replay rr(100, 16, 16, 2, 4, false);
  fill(rr);
  const std::string path = latest_checkpoint(dir);
  Checkpoint ck = load_checkpoint(path);
  EXPECT_EQ(ck.grad_steps, N);
  tr.load(ck, path);
  rr.rng() = ck.rng("replay", path);
  EXPECT_EQ(tr.steps(), N);
  for (int k = 0; k < M; ++k) {
    rr.sample(B, L, batch);
    tr.step(batch);
  }
  ASSERT_EQ(straight.parameters().size(), resumed.parameters().size());
  for (size_t i = 0; i < straight.parameters().size(); ++i)
    EXPECT_EQ(straight.parameters()[i].second.value().to_vector(), resumed.parameters()[i].second.value().to_vector())
        << straight.parameters()[i].first;
  // The planner's view (TransitionWeights) saw the loaded values too.
  EXPECT_EQ(resumed.transition().W_in.to_vector(), straight.transition().W_in.to_vector());

  // A checkpoint of another model size is refused with the tensor's name.
  RssmSettings other = st;
  other.deter = 9;
  Rssm wrong(other, 2, 1);
  ModelTrainer tw(wrong, 2);
  try {
    tw.load(ck, path);
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST(TrainModelCommand, WritesRunFolderAndResumes) {
  const std::string dir = tmpdir("cmd"), data = dir + "/data", out = dir + "/run";
  fs::create_directories(data);
  Rng g(5);
  for (int id = 0; id < 2; ++id) {
    Episode e;
    e.H = e.W = 16;
    e.A = 2;
    std::vector<uint8_t> img(16 * 16 * 3);
    for (int t = 0; t < 12; ++t) {
      for (auto& p : img) p = uint8_t(g.below(256));
      const float a[2] = {g.uniform(-1, 1), g.uniform(-1, 1)};
      e.append(img.data(), t == 0 ? nullptr : a, float(t % 2), false);
    }
    save_episode(data + "/ep" + std::to_string(id) + ".npz", e);
  }
  const std::vector<std::string> common = {"--data", data, "--out", out, "model_image_size=16", "model_stoch=4",
                                           "model_deter=8", "model_hidden=8", "model_depth=2",
                                           "model_reward_hidden=8", "model_batch=2", "model_length=6",
                                           "image_every=2", "checkpoint_every=2", "keep_checkpoints=2"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> v = common;
    v.insert(v.end(), extra.begin(), extra.end());
    return v;
  };
  ASSERT_EQ(run_command("train-model", with({"--steps", "3"})), 0);
  EXPECT_TRUE(fs::exists(out + "/config.yaml"));
  EXPECT_TRUE(fs::exists(out + "/images/step000000002_recon.png"));
  EXPECT_TRUE(fs::exists(out + "/images/step000000003_openloop.png"));
  EXPECT_EQ(load_checkpoint(latest_checkpoint(out + "/checkpoints")).grad_steps, 3);
  // A second run into the same folder must say --resume; --resume continues to 5 steps.
  EXPECT_THROW(run_command("train-model", with({"--steps", "5"})), Error);
  ASSERT_EQ(run_command("train-model", with({"--steps", "5", "--resume"})), 0);
  EXPECT_EQ(load_checkpoint(latest_checkpoint(out + "/checkpoints")).grad_steps, 5);
  std::ifstream f(out + "/metrics.csv");
  std::string line;
  int rows = -1;
  while (std::getline(f, line)) ++rows;
  EXPECT_EQ(rows, 5);  // header + steps 1..5
  // --resume --out alone: the stored config.yaml and data folder; --steps raises the total.
  ASSERT_EQ(run_command("train-model", {"--resume", "--out", out, "--steps", "6"}), 0);
  const Checkpoint resumed = load_checkpoint(latest_checkpoint(out + "/checkpoints"));
  EXPECT_EQ(resumed.grad_steps, 6);
  std::ifstream stored(out + "/config.yaml");
  std::string stored_text((std::istreambuf_iterator<char>(stored)), std::istreambuf_iterator<char>());
  EXPECT_NE(stored_text.find("model_deter: 8"), std::string::npos) << stored_text;
  // A mistyped key on the command line is an error naming it.
  try {
    run_command("train-model", with({"model_stoh=3"}));
    ADD_FAILURE() << "no throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model_stoh"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}
