// `eval` and `demo` plan through evaluate_planner (agent/evaluation.h); with device CUDA its
// planner gets the device model (DeviceRssmLatentModel: CEM's rollouts, LatCo's Jacobians and its
// LM step on the GPU). Episodes of a small model on a real task: the same success and, within
// tolerance, the same return as the CPU path. Skips without a device; cuda/emu/run_tests.sh
// runs it on the CPU emulation.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "agent/evaluation.h"
#include "core/tensor.h"
#include "env/env.h"
#include "io/config.h"
#include "model/rssm.h"

using namespace latco;

TEST(CudaEval, EvaluatePlannerOnTheDeviceGivesTheCpuSuccessAndReturn) {
  if (!device::cuda_available()) GTEST_SKIP() << "no CUDA device: " << device::cuda_status();
  EnvSettings es;
  es.image_size = 16, es.time_limit = 4, es.shadows = false, es.supersample = 1;
  auto env = make_env("reach_dense", es);  // shaped rewards: returns that can differ
  RssmSettings ms;
  ms.image_size = 16, ms.stoch = 4, ms.deter = 8, ms.hidden = 16, ms.depth = 4, ms.reward_hidden = 8;
  Rssm model(ms, env->action_dim(), 5);
  const Config cfg = Config::parse("cem_samples: 24\ncem_elites: 4\ncem_iterations: 2\nlatco_iterations: 3\n",
                                   "test settings");
  for (const char* planner : {"cem", "latco"}) {
    const EvalSummary c = evaluate_planner(*env, model, planner, cfg, 4, 2, 2, 77, nullptr, ProgressSlot(), Device::CPU);
    const EvalSummary g = evaluate_planner(*env, model, planner, cfg, 4, 2, 2, 77, nullptr, ProgressSlot(), Device::CUDA);
    ASSERT_EQ(g.runs.size(), c.runs.size()) << planner;
    EXPECT_GT(std::fabs(c.mean_return), 1e-3) << planner;
    for (size_t i = 0; i < c.runs.size(); ++i) {
      EXPECT_EQ(g.runs[i].success, c.runs[i].success) << planner << ", episode " << i;
      EXPECT_EQ(g.runs[i].steps, c.runs[i].steps) << planner << ", episode " << i;
      EXPECT_NEAR(g.runs[i].ret, c.runs[i].ret, 1e-3 + 1e-3 * std::fabs(c.runs[i].ret)) << planner << ", episode " << i;
      EXPECT_NEAR(g.runs[i].predicted_return, c.runs[i].predicted_return,
                  1e-3 + 1e-3 * std::fabs(c.runs[i].predicted_return))
          << planner << ", episode " << i;
    }
    EXPECT_EQ(g.success_rate, c.success_rate) << planner;
  }
}
