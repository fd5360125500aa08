// Hostile inputs and faults: crafted npz/npy/checkpoint/config files get a
// latco::Error naming the file (never a crash or a foreign exception); atomic and
// checked writes; the run-folder lock; resume from the stored config, refusing
// experiment changes; a killed run resumed equals an uninterrupted one with no
// duplicated metrics; the replay grows with its data; checked command-line numbers.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "agent/agent.h"
#include "agent/replay.h"
#include "app/command.h"
#include "core/thread_pool.h"
#include "env/env.h"
#include "env/episode.h"
#include "io/atomic_file.h"
#include "io/byte_reader.h"
#include "io/checkpoint.h"
#include "io/config.h"
#include "io/csv.h"
#include "io/npz.h"
#include "io/run_lock.h"
#include "nn/adam.h"
#include "nn/layers.h"
#include "nn/serialize.h"

using namespace latco;
namespace fs = std::filesystem;

namespace {

std::string fresh_dir(const std::string& name) {
  std::string d = (fs::temp_directory_path() / ("latco_test_rel_" + name)).string();
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

void write_all(const std::string& path, const std::vector<uint8_t>& b) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}
std::string read_text(const std::string& path) {
  std::ifstream f(path);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// The message of the latco::Error f throws ("" if it returns; any other exception fails the test).
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
#define EXPECT_ERROR_WITH(call, text)                                        \
  do {                                                                       \
    const std::string m_ = error_of([&] { call; });                          \
    EXPECT_NE(m_.find(text), std::string::npos) << "message: '" << m_ << "'"; \
  } while (0)

void put16(std::vector<uint8_t>& o, uint32_t v) { o.push_back(v & 0xFF); o.push_back((v >> 8) & 0xFF); }
void put32(std::vector<uint8_t>& o, uint32_t v) { put16(o, v & 0xFFFF); put16(o, v >> 16); }
void put64(std::vector<uint8_t>& o, uint64_t v) { put32(o, uint32_t(v)); put32(o, uint32_t(v >> 32)); }

// A one-member stored zip whose central entry takes sizes and offset from a ZIP64 extra
// field (as numpy writes them), with each 64-bit value given; `extra_declared` is the
// size the extra field claims; zip64_end adds a ZIP64 end record whose locator points
// at `locator_target` and whose directory offset is `z64_cd_off` (0: the true ones).
std::vector<uint8_t> zip64(uint64_t usize, uint64_t csize, uint64_t loff, uint16_t extra_declared = 24,
                           bool zip64_end = false, uint64_t locator_target = 0, uint64_t z64_cd_off = 0) {
  const std::vector<uint8_t> body = npy_encode(NpyArray{"<f4", {2}, std::vector<uint8_t>(8, 0)});
  const std::string name = "x.npy";
  const uint32_t crc = crc32(body.data(), body.size());
  std::vector<uint8_t> o;
  put32(o, 0x04034b50); put16(o, 45); put16(o, 0); put16(o, 0); put16(o, 0); put16(o, 0x21);
  put32(o, crc); put32(o, uint32_t(body.size())); put32(o, uint32_t(body.size()));
  put16(o, uint32_t(name.size())); put16(o, 0);
  o.insert(o.end(), name.begin(), name.end());
  o.insert(o.end(), body.begin(), body.end());
  const uint64_t cd_off = o.size();
  put32(o, 0x02014b50); put16(o, 45); put16(o, 45); put16(o, 0); put16(o, 0); put16(o, 0); put16(o, 0x21);
  put32(o, crc); put32(o, 0xFFFFFFFFu); put32(o, 0xFFFFFFFFu);
  put16(o, uint32_t(name.size())); put16(o, 4 + 24); put16(o, 0); put16(o, 0); put16(o, 0); put32(o, 0);
  put32(o, 0xFFFFFFFFu);
  o.insert(o.end(), name.begin(), name.end());
  put16(o, 1); put16(o, extra_declared); put64(o, usize); put64(o, csize); put64(o, loff);
  const uint64_t cd_size = o.size() - cd_off;
  if (zip64_end) {
    const uint64_t z = o.size();
    put32(o, 0x06064b50); put64(o, 44); put16(o, 45); put16(o, 45); put32(o, 0); put32(o, 0);
    put64(o, 1); put64(o, 1); put64(o, cd_size); put64(o, z64_cd_off ? z64_cd_off : cd_off);
    put32(o, 0x07064b50); put32(o, 0); put64(o, locator_target ? locator_target : z); put32(o, 1);
  }
  put32(o, 0x06054b50); put16(o, 0); put16(o, 0); put16(o, 1); put16(o, 1);
  put32(o, uint32_t(cd_size)); put32(o, zip64_end ? 0xFFFFFFFFu : uint32_t(cd_off)); put16(o, 0);
  return o;
}

}  // namespace

// ----- item 1: the ZIP64 path -----
TEST(Reliability, Zip64FieldsNearTwoToThe64AreErrorsNamingTheFile) {
  const std::string dir = fresh_dir("zip64");
  const std::string good = dir + "/good.npz";
  const uint64_t body = npy_encode(NpyArray{"<f4", {2}, std::vector<uint8_t>(8, 0)}).size();
  write_all(good, zip64(body, body, 0));
  ASSERT_EQ(read_npz(good).at("x").shape, (std::vector<int64_t>{2}));  // the builder makes a valid file
  const uint64_t huge = ~uint64_t(0) - 4;
  struct Case { const char* name; std::vector<uint8_t> bytes; } cases[] = {
      {"csize", zip64(huge, huge, 0)},
      {"loff", zip64(body, body, huge)},
      {"short_extra", zip64(body, body, 0, 60)},
      {"locator", zip64(body, body, 0, 24, true, huge)},
      {"cd_offset", zip64(body, body, 0, 24, true, 0, huge)},
  };
  for (auto& c : cases) {
    const std::string p = dir + "/" + c.name + ".npz";
    write_all(p, c.bytes);
    SCOPED_TRACE(c.name);
    EXPECT_ERROR_WITH(read_npz(p), p);
  }
}

// ----- item 2: shapes, dtypes and numbers in headers -----
TEST(Reliability, NpyShapesThatOverflowOrTruncateAreErrors) {
  auto npy = [](const std::string& descr, const std::string& shape) {
    std::string h = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
    h.append(64 - (10 + h.size() + 1) % 64, ' ');
    h += '\n';
    const std::string all = std::string("\x93NUMPY\x01\x00", 8) + char(h.size() & 0xFF) + char(h.size() >> 8) + h +
                            std::string(64, '\0');
    return std::vector<uint8_t>(all.begin(), all.end());
  };
  // (20, 2^61 + 16, 16, 3) used to wrap around to 20x16x16x3.
  auto b = npy("|u1", "(20, 2305843009213693968, 16, 3)");
  EXPECT_ERROR_WITH(npy_decode(b.data(), b.size(), "a.npz:image.npy"), "a.npz:image.npy");
  b = npy("|u1", "(99999999999999999999999,)");
  EXPECT_ERROR_WITH(npy_decode(b.data(), b.size(), "a.npz:image.npy"), "bad shape");
  b = npy("<f99999999999", "(2,)");
  EXPECT_ERROR_WITH(npy_decode(b.data(), b.size(), "a.npz:r.npy"), "a.npz:r.npy");
  b = npy("<f4", "(2,)");
  EXPECT_EQ(npy_decode(b.data(), b.size(), "ok").numel(), 2);

  // An image of (0, 2^32 + 1, 16, 3) used to load as a 1-pixel-high episode.
  const std::string dir = fresh_dir("dims");
  write_npz(dir + "/ep.npz", {{"image", NpyArray{"|u1", {0, 4294967297LL, 16, 3}, {}}},
                              {"action", NpyArray{"<f4", {0, 2}, {}}},
                              {"reward", NpyArray{"<f4", {0}, {}}},
                              {"success", NpyArray{"|b1", {0}, {}}}});
  EXPECT_ERROR_WITH(load_episode(dir + "/ep.npz"), dir + "/ep.npz");
}

TEST(Reliability, CheckpointNamesAndForgedCountersAreSafe) {
  const std::string dir = fresh_dir("ckpt_names");
  Checkpoint ck;
  ck.tensors["w"] = Tensor({2});
  save_checkpoint(checkpoint_path(dir, 5), ck);
  write_all(dir + "/ckpt-99999999999999999999999999.bin", {1, 2, 3});  // used to throw std::out_of_range
  EXPECT_EQ(latest_checkpoint(dir), checkpoint_path(dir, 5));

  // adam.step = (0, 2^40): the step count used to overflow a shift.
  Rng rng(1);
  nn::Linear lin(2, 2, rng, false);
  nn::Adam opt(lin.parameters());
  nn::NamedTensors state = opt.state();
  for (auto& [name, t] : state)
    if (name == "adam.step") t[1] = 1099511627776.0f;
  EXPECT_ERROR_WITH(opt.load_state(state, "forged.bin"), "forged.bin: tensor 'adam.step'");
}

TEST(Reliability, NewestCorruptCheckpointFallsBackWithAWarning) {
  const std::string dir = fresh_dir("ckpt_fallback");
  Checkpoint a, b;
  a.grad_steps = 10;
  b.grad_steps = 20;
  save_checkpoint(checkpoint_path(dir, 10), a);
  save_checkpoint(checkpoint_path(dir, 20), b);
  std::vector<uint8_t> bytes(100, 0xAB);
  write_all(checkpoint_path(dir, 20), bytes);
  Checkpoint got;
  std::vector<std::string> skipped;
  EXPECT_EQ(load_latest_intact(dir, got, &skipped), checkpoint_path(dir, 10));
  EXPECT_EQ(got.grad_steps, 10);
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_NE(skipped[0].find(checkpoint_path(dir, 20)), std::string::npos);
}

// ----- item 7: inputs that are not what they seem -----
TEST(Reliability, DirectoriesFifosAndDevicesAreRefusedByName) {
  const std::string dir = fresh_dir("notfiles");
  fs::create_directories(dir + "/x.npz");
  EXPECT_ERROR_WITH(read_npz(dir + "/x.npz"), dir + "/x.npz: is a directory");
  EXPECT_ERROR_WITH(load_episode_dir(dir), dir + "/x.npz");
  ASSERT_EQ(::mkfifo((dir + "/fifo.npz").c_str(), 0644), 0);
  EXPECT_ERROR_WITH(read_file(dir + "/fifo.npz", 100, "episode file"), "not a regular file");  // no hang
  fs::create_symlink("/dev/zero", dir + "/zero.npz");
  EXPECT_ERROR_WITH(read_npz(dir + "/zero.npz"), dir + "/zero.npz");  // no unbounded read

  EXPECT_ERROR_WITH(Config::load(dir), "is a directory");
  std::ofstream(dir + "/empty_include.yaml") << "include:\nseed: 1\n";
  EXPECT_ERROR_WITH(Config::load(dir + "/empty_include.yaml"), "key 'include': names no file");
  std::ofstream(dir + "/dir_include.yaml") << "include: x.npz\n";
  EXPECT_ERROR_WITH(Config::load(dir + "/dir_include.yaml"), "is a directory");
  std::ofstream(dir + "/zero_include.yaml") << "include: /dev/zero\n";
  EXPECT_ERROR_WITH(Config::load(dir + "/zero_include.yaml"), "not a regular file");
  write_all(dir + "/big.bin", std::vector<uint8_t>(2000, 1));
  EXPECT_ERROR_WITH(read_file(dir + "/big.bin", 1000, "thing"), "more than the 1000 allowed");
}

// ----- item 6: checked, atomic writes -----
TEST(Reliability, FailedWritesAreErrorsAndLeaveNoTemporaryFiles) {
  const std::string dir = fresh_dir("writes");
  write_file_atomic(dir + "/f.bin", std::string("old"));
  // A file-size limit makes write() fail as a full disk does.
  struct rlimit old_lim;
  getrlimit(RLIMIT_FSIZE, &old_lim);
  struct rlimit lim = old_lim;
  lim.rlim_cur = 1000;
  auto old_handler = signal(SIGXFSZ, SIG_IGN);
  setrlimit(RLIMIT_FSIZE, &lim);
  const std::string m = error_of([&] { write_file_atomic(dir + "/f.bin", std::string(5000, 'x')); });
  setrlimit(RLIMIT_FSIZE, &old_lim);
  signal(SIGXFSZ, old_handler);
  EXPECT_NE(m.find(dir + "/f.bin: write failed"), std::string::npos) << m;
  EXPECT_EQ(read_text(dir + "/f.bin"), "old");
  int files = 0;
  for (auto it = fs::directory_iterator(dir); it != fs::directory_iterator(); ++it) ++files;
  EXPECT_EQ(files, 1);  // no temporary file left behind

  // A device that is always full: the header write fails (it used to be silently lost).
  EXPECT_ERROR_WITH(CsvWriter("/dev/full", {"a", "b"}), "/dev/full: write failed");
}

TEST(Reliability, MetricsRowsAfterTheCheckpointAreDroppedOnResume) {
  const std::string dir = fresh_dir("csv");
  const std::string p = dir + "/metrics.csv";
  std::ofstream(p) << "step,x\n1,10\n2,20\n3,30\n4,4";  // the last line half-written
  CsvWriter w(p, {"step", "x"}, true, 2);
  EXPECT_EQ(w.dropped(), 2);
  w.row({3, 31});
  EXPECT_EQ(read_text(p), "step,x\n1,10\n2,20\n3,31\n");
}

// ----- item 3: one writer per run folder -----
TEST(Reliability, ASecondWriterIsRefusedNamingTheHolder) {
  const std::string dir = fresh_dir("lock");
  {
    RunLock first(dir, "train");
    const std::string m = error_of([&] { RunLock second(dir, "train"); });
    EXPECT_NE(m.find(dir + " is in use"), std::string::npos) << m;
    EXPECT_NE(m.find("pid " + std::to_string(::getpid())), std::string::npos) << m;
    EXPECT_ERROR_WITH(run_command("train", {"--out", dir}), "is in use");
  }
  RunLock again(dir, "train");  // released with its holder
}

// ----- item 9: the replay's memory follows its data -----
TEST(Reliability, ReplayGrowsWithItsData) {
  // The default capacity at 64x64 would be 12.3 GB if allocated up front.
  Replay r(1000000, 64, 64, 4, 1, false);
  EXPECT_EQ(r.bytes(), 0u);
  Episode e;
  e.H = 64, e.W = 64, e.A = 4;
  std::vector<uint8_t> img(64 * 64 * 3, 9);
  for (int t = 0; t < 51; ++t) e.append(img.data(), nullptr, 0.0f, false);
  r.add(e);
  r.add(e);
  EXPECT_GE(r.bytes(), size_t(102) * r.step_bytes());
  EXPECT_LE(r.bytes(), size_t(400) * r.step_bytes());
  EXPECT_EQ(r.frame(1, 50)[0], 9);
}

// ----- item 8: numbers on the command line -----
TEST(Reliability, CommandLineNumbersAreChecked) {
  const std::string dir = fresh_dir("cli");
  auto collect = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = {"--task", "reach", "--policy", "random", "--out", dir + "/eps"};
    a.insert(a.end(), extra.begin(), extra.end());
    return run_command("collect", a);
  };
  EXPECT_ERROR_WITH(collect({"--episodes", "0"}), "--episodes: 0 is out of range");
  EXPECT_ERROR_WITH(collect({"--episodes", "-3"}), "--episodes: -3 is out of range");
  EXPECT_ERROR_WITH(collect({"--episodes", "4294967297"}), "out of range");
  EXPECT_ERROR_WITH(collect({"--episodes", "99999999999999999999"}), "expected an integer");
  EXPECT_ERROR_WITH(collect({"--episodes", "1", "--noise", "nan"}), "--noise: expected a number");
  EXPECT_ERROR_WITH(collect({"--episodes", "1", "--noise", "-1"}), "out of range");
  EXPECT_ERROR_WITH(run_command("render", {"--task", "reach", "--cols", "200000000", "--out", dir + "/s.png"}),
                    "--cols: 200000000 is out of range");
  // A key=value after a flag that needs a value is an override, not the flag's value.
  EXPECT_ERROR_WITH(run_command("eval", {"--run", "seed=3"}), "--run needs a value");
}

// ----- items 3 and 4: resume -----
namespace {
const char* kTiny =
    "task: reach\nplanner: cem\nhorizon: 4\nreplan_every: 4\ntime_limit: 12\nprefill_episodes: 2\n"
    "pretrain_steps: 2\nepisodes: 4\nupdates_per_episode: 2\neval_every: 2\ncheckpoint_every_episodes: 1\n"
    "keep_checkpoints: 20\nmodel_image_size: 16\nmodel_stoch: 3\nmodel_deter: 6\nmodel_hidden: 6\nmodel_depth: 2\n"
    "model_reward_hidden: 6\nmodel_batch: 3\nmodel_length: 6\ncem_samples: 20\ncem_elites: 4\ncem_iterations: 2\n";

// metrics.csv without its timing columns (plan_s_per_step, seconds).
std::string metrics_without_times(const std::string& dir) {
  std::stringstream in(read_text(dir + "/metrics.csv")), out;
  for (std::string line; std::getline(in, line);) {
    for (int k = 0; k < 2; ++k) line = line.substr(0, line.find_last_of(','));
    out << line << "\n";
  }
  return out.str();
}

void expect_same_parameters(const std::string& a, const std::string& b) {
  Checkpoint x = load_checkpoint(latest_checkpoint(a + "/checkpoints"));
  Checkpoint y = load_checkpoint(latest_checkpoint(b + "/checkpoints"));
  EXPECT_EQ(x.grad_steps, y.grad_steps);
  EXPECT_EQ(x.episodes, y.episodes);
  ASSERT_EQ(x.tensors.size(), y.tensors.size());
  for (const auto& [name, t] : x.tensors) {
    ASSERT_TRUE(y.tensors.count(name)) << name;
    const std::vector<float> u = t.to_vector(), v = y.tensors.at(name).to_vector();
    ASSERT_EQ(u.size(), v.size()) << name;
    EXPECT_EQ(std::memcmp(u.data(), v.data(), u.size() * sizeof(float)), 0) << name << " differs bitwise";
  }
}
}  // namespace

TEST(Reliability, ResumeTakesTheStoredConfigAndRefusesExperimentChanges) {
  set_num_threads(1);
  const std::string dir = fresh_dir("resume_cfg");
  std::ofstream(dir + "/tiny.yaml") << kTiny;
  const std::string run = dir + "/run";
  ASSERT_EQ(run_command("train", {"--config", dir + "/tiny.yaml", "--out", run, "episodes=1", "eval_every=0"}), 0);
  // No --config: the run's own config.yaml; a finished run says so and succeeds.
  testing::internal::CaptureStdout();
  EXPECT_EQ(run_command("train", {"--resume", "--out", run}), 0);
  EXPECT_NE(testing::internal::GetCapturedStdout().find("already finished"), std::string::npos);
  EXPECT_ERROR_WITH(run_command("train", {"--resume", "--out", run, "task=push"}), "--force-changes task");
  EXPECT_ERROR_WITH(run_command("train", {"--resume", "--out", run, "model_deter=8"}), "model_deter");
  EXPECT_ERROR_WITH(run_command("train", {"--resume", "--out", run, "seed=1"}), "seed");
  // Extending a run is no change of the experiment.
  EXPECT_EQ(run_command("train", {"--resume", "--out", run, "episodes=2"}), 0);
  EXPECT_EQ(load_checkpoint(latest_checkpoint(run + "/checkpoints")).episodes, 4);
  set_num_threads(2);
}

TEST(Reliability, KilledThenResumedEqualsUninterrupted) {
  set_num_threads(1);
  const std::string dir = fresh_dir("killed");
  std::ofstream(dir + "/tiny.yaml") << kTiny;
  const std::string straight = dir + "/straight", killed = dir + "/killed", stopped = dir + "/stopped";
  ASSERT_EQ(run_command("train", {"--config", dir + "/tiny.yaml", "--out", straight}), 0);
  const std::string want = metrics_without_times(straight);

  // SIGKILL after episode 5 was logged, before its checkpoint: the run folder as it was left.
  fs::copy(straight, killed, fs::copy_options::recursive);
  fs::remove(killed + "/.lock");
  for (int ep = 4; ep <= 6; ++ep) fs::remove(checkpoint_path(killed + "/checkpoints", ep));
  ASSERT_EQ(latest_checkpoint(killed + "/checkpoints"), checkpoint_path(killed + "/checkpoints", 3));
  ASSERT_EQ(run_command("train", {"--resume", "--out", killed}), 0);
  expect_same_parameters(straight, killed);
  EXPECT_EQ(metrics_without_times(killed), want);  // no duplicated rows

  // SIGTERM in the middle: the run writes a checkpoint, stops, and resumes to the same end.
  std::atomic<bool> done{false};
  std::thread killer([&] {
    while (!done && !fs::exists(stopped + "/episodes/ep000002.npz"))
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    if (!done) ::kill(::getpid(), SIGTERM);
  });
  const int rc = run_command("train", {"--config", dir + "/tiny.yaml", "--out", stopped});
  done = true;
  killer.join();
  EXPECT_EQ(rc, 128 + SIGTERM);
  EXPECT_LT(load_checkpoint(latest_checkpoint(stopped + "/checkpoints")).episodes, 6);
  ASSERT_EQ(run_command("train", {"--resume", "--out", stopped}), 0);
  expect_same_parameters(straight, stopped);
  EXPECT_EQ(metrics_without_times(stopped), want);
  set_num_threads(2);
}

// ----- item 5: the NaN guard of train keeps the batch and a checkpoint -----
TEST(Reliability, TrainNanGuardSavesBatchAndCheckpoint) {
  set_num_threads(1);
  const std::string dir = fresh_dir("nan");
  // Offline episodes whose rewards are NaN make the first gradient step's loss NaN.
  EnvSettings es;
  es.image_size = 16;
  const int A = make_env("reach", es)->action_dim();
  fs::create_directories(dir + "/offline");
  for (int i = 0; i < 3; ++i) {
    Episode e;
    e.H = 16, e.W = 16, e.A = A;
    std::vector<uint8_t> img(16 * 16 * 3, uint8_t(40 * i));
    for (int t = 0; t < 13; ++t) e.append(img.data(), nullptr, std::nanf(""), false);
    save_episode(dir + "/offline/ep" + std::to_string(i) + ".npz", e);
  }
  std::ofstream(dir + "/tiny.yaml") << kTiny << "offline_data: " << dir << "/offline\n";
  const std::string m = error_of([&] { run_command("train", {"--config", dir + "/tiny.yaml", "--out", dir + "/run"}); });
  EXPECT_NE(m.find("loss is"), std::string::npos) << m;
  EXPECT_NE(m.find("batch saved to " + dir + "/run/nonfinite_batch_step0.npz"), std::string::npos) << m;
  EXPECT_EQ(read_npz(dir + "/run/nonfinite_batch_step0.npz").at("reward").shape, (std::vector<int64_t>{3, 6}));
  EXPECT_FALSE(latest_checkpoint(dir + "/run/checkpoints").empty());
  set_num_threads(2);
}

// ----- item 10: a second demo into the same folder starts afresh -----
TEST(Reliability, SecondDemoReplacesThePreviousDataAndPrintsTheSameTable) {
  set_num_threads(1);
  const std::string dir = fresh_dir("demo");
  std::ofstream(dir + "/demo.yaml")
      << "task: reach\nhorizon: 4\nreplan_every: 2\ntime_limit: 8\n"
         "demo_expert_episodes: 2\ndemo_random_episodes: 1\ndemo_train_steps: 3\ndemo_online_rounds: 1\n"
         "demo_online_steps: 2\ndemo_eval_episodes: 2\ndemo_planners: latco,cem\n"
         "model_image_size: 16\nmodel_stoch: 3\nmodel_deter: 6\nmodel_hidden: 6\nmodel_depth: 2\n"
         "model_reward_hidden: 6\nmodel_batch: 2\nmodel_length: 4\n"
         "latco_iterations: 3\ncem_samples: 20\ncem_elites: 4\ncem_iterations: 2\ngd_iterations: 3\n";
  // The table without its timing columns.
  auto table = [&] {
    std::stringstream in(read_text(dir + "/results/results.md")), out;
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("| ", 0) != 0) continue;
      for (int k = 0; k < 3; ++k) line = line.substr(0, line.find_last_of('|'));
      out << line << "\n";
    }
    return out.str();
  };
  const std::vector<std::string> args = {"--config", dir + "/demo.yaml", "demo_out=" + dir + "/results"};
  ASSERT_EQ(run_command("demo", args), 0);
  const std::string first = table();
  ASSERT_NE(first.find("| latco |"), std::string::npos);
  testing::internal::CaptureStdout();
  ASSERT_EQ(run_command("demo", args), 0);
  EXPECT_NE(testing::internal::GetCapturedStdout().find("replacing the previous demo's " + dir + "/results/data"),
            std::string::npos);
  EXPECT_EQ(table(), first);
  int files = 0;
  for (auto it = fs::directory_iterator(dir + "/results/data"); it != fs::directory_iterator(); ++it) ++files;
  EXPECT_EQ(files, 3 + 2);  // the dataset and one online round of two planners, not twice that
  set_num_threads(2);
}

// ----- train-model: SIGTERM writes a checkpoint; a killed run's extra metrics rows are dropped -----
TEST(Reliability, TrainModelStopsOnSigtermAndResumesWithoutDuplicateRows) {
  set_num_threads(1);
  const std::string dir = fresh_dir("train_model"), data = dir + "/data";
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
  auto args = [&](const std::string& out, std::vector<std::string> extra) {
    std::vector<std::string> v = {"--data", data, "--out", out, "model_image_size=16", "model_stoch=4",
                                  "model_deter=8", "model_hidden=8", "model_depth=2", "model_reward_hidden=8",
                                  "model_batch=2", "model_length=6", "image_every=0", "checkpoint_every=5",
                                  "keep_checkpoints=100", "--steps", "400"};
    v.insert(v.end(), extra.begin(), extra.end());
    return v;
  };
  // grad_step column of metrics.csv, in order.
  auto steps = [&](const std::string& out) {
    std::stringstream in(read_text(out + "/metrics.csv"));
    std::vector<int> s;
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) s.push_back(std::atoi(line.c_str()));
    return s;
  };
  const std::string out = dir + "/run";
  std::atomic<bool> done{false};
  std::thread killer([&] {
    while (!done && !fs::exists(checkpoint_path(out + "/checkpoints", 10)))
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (!done) ::kill(::getpid(), SIGTERM);
  });
  const int rc = run_command("train-model", args(out, {}));
  done = true;
  killer.join();
  ASSERT_EQ(rc, 128 + SIGTERM);
  const int64_t stopped = load_checkpoint(latest_checkpoint(out + "/checkpoints")).grad_steps;
  EXPECT_GE(stopped, 10);
  EXPECT_LT(stopped, 400);
  EXPECT_EQ(int64_t(steps(out).size()), stopped);  // the stop's checkpoint follows the last row

  // A kill between checkpoints leaves rows after the newest one: a resume drops them.
  for (const auto& e : fs::directory_iterator(out + "/checkpoints"))
    if (e.path() != checkpoint_path(out + "/checkpoints", 10)) fs::remove(e.path());
  ASSERT_EQ(run_command("train-model", args(out, {"--resume", "--steps", "20"})), 0);
  std::vector<int> want(20);
  for (int i = 0; i < 20; ++i) want[i] = i + 1;
  EXPECT_EQ(steps(out), want);
  set_num_threads(2);
}
