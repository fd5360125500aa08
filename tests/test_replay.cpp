// Sequence replay: uint8 storage, episode alignment, eviction of whole episodes,
// reproducible and in-bounds sampling, uniformity over valid (episode, start) pairs.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <map>
#include <vector>

#include "agent/replay.h"
#include "core/error.h"
#include "core/thread_pool.h"

using namespace latco;

namespace {
// Episode `id` of T steps, 4x4 frames: every pixel of frame t holds (id * 16 + t) % 256,
// action[t] = (id, t), reward[t] = id + 0.01 t: a window can be traced to its origin.
struct Fake {
  std::vector<uint8_t> image;
  std::vector<float> action, reward;
};
Fake fake(int id, int T) {
  Fake e;
  for (int t = 0; t < T; ++t) {
    for (int p = 0; p < 4 * 4 * 3; ++p) e.image.push_back(uint8_t((id * 16 + t) % 256));
    e.action.push_back(float(id));
    e.action.push_back(float(t));
    e.reward.push_back(id + 0.01f * t);
  }
  return e;
}
void add(Replay& r, int id, int T) {
  Fake e = fake(id, T);
  r.add(T, e.image.data(), e.action.data(), e.reward.data());
}
}  // namespace

TEST(Replay, StoresUint8AndKeepsAlignment) {
  Replay r(100, 4, 4, 2, 7, false);
  static_assert(std::is_same<decltype(r.frame(0, 0)), const uint8_t*>::value, "frames are uint8");
  EXPECT_EQ(r.step_bytes(), size_t(48) + 3 * sizeof(float));
  EXPECT_EQ(r.bytes(), 0u);  // memory grows with the data
  add(r, 3, 20);
  EXPECT_EQ(r.bytes(), size_t(20) * r.step_bytes());
  SequenceBatch b;
  b.resize(1, 5, 4, 4, 2);
  r.window(0, 10, 5, b);
  for (int t = 0; t < 5; ++t) {
    EXPECT_EQ(b.image[t * 48], uint8_t(3 * 16 + 10 + t));
    EXPECT_EQ(b.action[t * 2 + 1], float(10 + t));
    EXPECT_FLOAT_EQ(b.reward[t], 3 + 0.01f * (10 + t));
  }
}

TEST(Replay, EvictsOldestWholeEpisodesAndWraps) {
  Replay r(50, 4, 4, 2, 7, false);
  add(r, 0, 20);
  add(r, 1, 20);
  add(r, 2, 20);  // needs 10 more steps than free: evicts episode 0 entirely
  EXPECT_EQ(r.episodes(), 2);
  EXPECT_EQ(r.steps(), 40);
  EXPECT_EQ(r.total_steps(), 60);
  // Episode 2 wrapped around the ring end (positions 40..49, 0..9): still contiguous to readers.
  SequenceBatch b;
  b.resize(1, 20, 4, 4, 2);
  r.window(1, 0, 20, b);
  for (int t = 0; t < 20; ++t) {
    EXPECT_EQ(b.image[t * 48 + 47], uint8_t(2 * 16 + t));
    EXPECT_EQ(b.action[t * 2], 2.0f);
  }
  EXPECT_THROW(add(r, 9, 51), Error);
}

TEST(Replay, SamplingReproducibleInBoundsAndUniform) {
  Replay r1(1000, 4, 4, 2, 11, false), r2(1000, 4, 4, 2, 11, false), r3(1000, 4, 4, 2, 12, false);
  const int lens[3] = {10, 30, 3};  // the 3-step episode has no valid start for L = 5
  for (int i = 0; i < 3; ++i) {
    add(r1, i, lens[i]);
    add(r2, i, lens[i]);
    add(r3, i, lens[i]);
  }
  const int L = 5;
  EXPECT_EQ(r1.valid_starts(L), (10 - 5 + 1) + (30 - 5 + 1));
  SequenceBatch a, b, c;
  std::map<std::pair<int, int>, int> counts;
  const int rounds = 400, B = 8;
  bool differs = false;
  for (int k = 0; k < rounds; ++k) {
    r1.sample(B, L, a);
    r2.sample(B, L, b);
    r3.sample(B, L, c);
    EXPECT_EQ(a.image, b.image);
    EXPECT_EQ(a.action, b.action);
    differs |= a.action != c.action;
    for (int i = 0; i < B; ++i) {
      const int ep = int(a.action[(i * L) * 2]), start = int(a.action[(i * L) * 2 + 1]);
      ASSERT_TRUE(ep == 0 || ep == 1) << "sampled from a too-short episode";
      ASSERT_LE(start + L, lens[ep]);
      for (int t = 1; t < L; ++t) {  // consecutive steps of one episode
        ASSERT_EQ(a.action[(i * L + t) * 2], float(ep));
        ASSERT_EQ(a.action[(i * L + t) * 2 + 1], float(start + t));
      }
      counts[{ep, start}]++;
    }
  }
  EXPECT_TRUE(differs) << "another seed should give other windows";
  // 32 valid pairs, 3200 draws: each expects 100; a pair off by more than 45 % is a bug, not chance.
  EXPECT_EQ(counts.size(), 32u);
  for (const auto& [key, n] : counts) EXPECT_NEAR(n, 100, 45) << "episode " << key.first << " start " << key.second;
}

// sample() draws every window from the stream first, then copies them in parallel: the same
// batches on 1 and 2 threads, each slot the window its draw names.
TEST(Replay, SampleSameBatchesOnOneAndTwoThreads) {
  auto batches = [](int threads) {
    set_num_threads(threads);
    Replay r(2000, 4, 4, 2, 13, false);
    for (int i = 0; i < 12; ++i) add(r, i, 40 + i);
    std::vector<SequenceBatch> out(5);
    for (auto& b : out) r.sample(64, 7, b);
    return out;
  };
  const auto one = batches(1), two = batches(2);
  set_num_threads(2);
  for (size_t k = 0; k < one.size(); ++k) {
    EXPECT_EQ(one[k].image, two[k].image);
    EXPECT_EQ(one[k].action, two[k].action);
    EXPECT_EQ(one[k].reward, two[k].reward);
    for (int i = 0; i < 64; ++i) {  // a slot's frames and actions come from one window
      const int ep = int(two[k].action[(i * 7) * 2]), start = int(two[k].action[(i * 7) * 2 + 1]);
      for (int t = 0; t < 7; ++t) ASSERT_EQ(two[k].image[(i * 7 + t) * 48], uint8_t((ep * 16 + start + t) % 256));
    }
  }
}

TEST(Replay, NoValidWindowIsAClearError) {
  Replay r(100, 4, 4, 2, 1, false);
  add(r, 0, 4);
  SequenceBatch b;
  try {
    r.sample(2, 10, b);
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no episode has 10 steps"), std::string::npos) << e.what();
  }
}

TEST(Replay, LoadsEpisodeFilesFromADirectory) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("latco_test_replay_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (int id = 0; id < 2; ++id) {
    Episode e;
    e.H = 4;
    e.W = 4;
    e.A = 2;
    Fake f = fake(id + 5, 12);
    for (int t = 0; t < 12; ++t) e.append(&f.image[t * 48], &f.action[t * 2], f.reward[t], false);
    save_episode((dir / ("ep" + std::to_string(id) + ".npz")).string(), e);
  }
  Replay r(100, 4, 4, 2, 3, false);
  EXPECT_EQ(r.load_dir(dir.string()), 2);
  EXPECT_EQ(r.steps(), 24);
  EXPECT_EQ(*r.frame(1, 7), uint8_t(6 * 16 + 7));
  Replay wrong(100, 8, 8, 2, 3, false);
  try {
    wrong.load_dir(dir.string());
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("ep0.npz"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}
