// Evaluation of a trained model with any planner: N noise-free episodes from
// fixed seeds (the same seeds for every planner), summarised with standard errors.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "agent/episode_runner.h"
#include "env/env.h"
#include "io/config.h"
#include "model/rssm.h"

namespace latco {

struct EvalSummary {
  std::string planner;
  int episodes = 0;
  double success_rate = 0, success_se = 0;  // mean and standard error over episodes
  double mean_return = 0, return_se = 0;
  double plan_s_per_step = 0;               // mean planning seconds per agent step
  double plan_s_per_plan = 0;               // mean seconds per planner call
  std::vector<EpisodeStats> runs;
};

class Progress;

// Where evaluate_planner counts its episodes on a caller's progress line (phase `phase`, after
// `done_before` episodes of it) instead of drawing its own.
struct ProgressSlot {
  Progress* progress = nullptr;
  int phase = 0;
  int64_t done_before = 0;
};

// Episode i uses seed Rng(seed).derive(i): the same for every planner.
// planner_cfg supplies the planner's settings; `records` (optional) receives the episodes.
// device CUDA: the planner's latent model is DeviceRssmLatentModel (it plans on the GPU).
EvalSummary evaluate_planner(Env& env, const Rssm& model, const std::string& planner, const Config& planner_cfg,
                             int horizon, int replan_every, int episodes, uint64_t seed,
                             std::vector<Episode>* records = nullptr, ProgressSlot slot = ProgressSlot(),
                             Device device = Device::CPU);

// A fixed-width table: planner | success | return | s/step | s/plan.
std::string format_eval_table(const std::vector<EvalSummary>& rows, bool markdown);

}  // namespace latco
