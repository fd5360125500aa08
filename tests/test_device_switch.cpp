// The device switch through the real commands: `device=cuda` on train, demo and bench runs on
// the GPU when one is usable and otherwise falls back to the CPU with one line; with
// `require_device=true` and no GPU it is an error naming the key; an unknown device name is an
// error. Runs on every machine (the GPU paths themselves are in tests/test_cuda_*.cpp).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "app/command.h"
#include "core/error.h"
#include "core/tensor.h"
#include "model/elbo.h"

using namespace latco;
namespace fs = std::filesystem;

namespace {

// `latco <cmd> args...`, or `latco bench <name> args...` for cmd "bench" (as main.cpp runs it).
int run(const std::string& cmd, std::vector<std::string> args) {
  if (cmd != "bench") return run_command(cmd, args);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(&a[0]);
  return find_bench(args.at(0))(Args::parse(int(argv.size()), argv.data(), 1));
}

// Runs the command; when there is no GPU and the device is required, expects the error instead.
void expect_runs_or_requires(const std::string& cmd, std::vector<std::string> args, bool required) {
  if (required) args.push_back("require_device=true");
  if (!required || device::cuda_available()) {
    EXPECT_EQ(run(cmd, args), 0) << cmd;
    return;
  }
  try {
    run(cmd, args);
    ADD_FAILURE() << cmd << " with require_device=true and no GPU did not throw";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("require_device"), std::string::npos) << m;
    EXPECT_NE(m.find("CUDA"), std::string::npos) << m;  // says why there is no device
  }
}

}  // namespace

TEST(DeviceSwitch, TrainAndDemoTakeDeviceCuda) {
  ASSERT_TRUE(fs::is_directory("configs")) << "run the tests from the repository root";
  const std::string out = (fs::temp_directory_path() / "latco_test_device_switch").string();
  for (bool required : {false, true}) {
    SCOPED_TRACE(required ? "required" : "fallback");
    expect_runs_or_requires("train", {"--config", "configs/cpu/reach_latco.yaml", "--dry-run", "--out", out,
                                      "device=cuda"}, required);
    expect_runs_or_requires("demo", {"--config", "configs/demo.yaml", "--dry-run", "demo_out=" + out, "device=cuda"},
                            required);
  }
  EXPECT_FALSE(fs::exists(out));
}

TEST(DeviceSwitch, BenchTakesDeviceCuda) {
  for (bool required : {false, true}) {
    SCOPED_TRACE(required ? "required" : "fallback");
    expect_runs_or_requires("bench", {"rssm", "device=cuda", "bench_batch=2", "bench_length=2", "bench_steps=1",
                                      "model_image_size=16", "model_depth=2", "model_stoch=4", "model_deter=8",
                                      "model_hidden=8", "model_reward_hidden=8"},
                            required);
    expect_runs_or_requires("bench", {"planners", "--planner", "cem", "--horizon", "4", "device=cuda",
                                      "cem_samples=20", "cem_elites=4", "cem_iterations=1"},
                            required);
  }
}

TEST(DeviceSwitch, AnUnknownDeviceIsAnErrorNamingTheKey) {
  for (const char* cmd : {"train", "bench"}) {
    std::vector<std::string> args =
        std::string(cmd) == "train"
            ? std::vector<std::string>{"--config", "configs/cpu/reach_latco.yaml", "--dry-run", "device=gpu"}
            : std::vector<std::string>{"rssm", "device=gpu"};
    try {
      run(cmd, args);
      ADD_FAILURE() << cmd << " device=gpu did not throw";
    } catch (const Error& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find("key 'device'"), std::string::npos) << m;
      EXPECT_NE(m.find("'gpu'"), std::string::npos) << m;
    }
  }
}

TEST(DeviceSwitch, ATrainerOnTheGpuWithoutOneSaysWhy) {
  if (device::cuda_available()) GTEST_SKIP() << "a device is present: tests/test_cuda_training.cpp covers it";
  RssmSettings s;
  s.image_size = 16, s.depth = 2, s.stoch = 4, s.deter = 8, s.hidden = 8, s.reward_hidden = 8;
  Rssm model(s, 2, 1);
  try {
    ModelTrainer trainer(model, 1, Device::CUDA);
    ADD_FAILURE() << "a GPU trainer without a GPU did not throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("CUDA"), std::string::npos) << e.what();
  }
}
