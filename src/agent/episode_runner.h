// One episode of model-predictive control from pixels (Algorithm 1, lines 3-11):
// filter the latent from each image with the RSSM posterior, re-plan every
// T_cache steps from the filtered latent, execute the cached actions (plus
// exploration noise when training), record the episode. Also the random policy
// used for prefill. Left out: training (agent.cpp) and file output.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "env/env.h"
#include "env/episode.h"
#include "model/rssm.h"
#include "plan/planner.h"

namespace latco {

struct EpisodeStats {
  double ret = 0;             // sum of rewards
  bool success = false;       // the success criterion held at some step
  int steps = 0;              // agent decisions
  int env_steps = 0;          // decisions x action repeat
  int plans = 0;              // calls to the planner
  double plan_seconds = 0;    // total planning time
  double predicted_return = 0;  // the planner's own estimate at the first plan
  double seconds = 0;         // wall time of the episode
  std::string outcome;        // env.outcome() at the end (lottery: the goal reached); "" on most tasks
};

struct ActSettings {
  int replan_every = 30;      // T_cache: actions executed per plan
  float action_noise = 0.0f;  // std of N(0, s) exploration noise, clipped to the bounds
};

// Runs one episode. planner == nullptr: uniform random actions in [-1, 1].
// The episode's randomness: env reset from `seed`, noise from Rng(seed).derive(1),
// plan k from seed Rng(seed).derive(2).derive(k). record (optional) gets the episode.
// first_plan (optional) gets a copy of the first PlanResult (for visualisation).
EpisodeStats run_episode(Env& env, const Rssm& model, Planner* planner, const ActSettings& s, uint64_t seed,
                         Episode* record, PlanResult* first_plan = nullptr);

}  // namespace latco
