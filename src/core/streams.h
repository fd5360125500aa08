// The keys of the random streams a run derives from its seed (core/rng.h), named in one place:
// Rng(seed).derive(streams::kReplay) rather than a bare number. A key only has to differ from its
// siblings under the same parent; the values are those the code has always used, so runs repeat.
#pragma once
#include <cstdint>

namespace latco::streams {

// ----- from a training run's seed (agent/agent.cpp) -----
constexpr uint64_t kTrainEpisodes = 11;  // .derive(episode index): the seed of training episode i
constexpr uint64_t kEvalEpisodes = 12;   // .derive(episode index): the seed of evaluation episode i
constexpr uint64_t kReplay = 13;         // the replay buffer's seed
// ----- from the demo's seed (app/demo.cpp) -----
constexpr uint64_t kDemoCollect = 101;    // the demo's dataset episodes
constexpr uint64_t kDemoReplay = 102;     // the replay the demo's model trains from
constexpr uint64_t kDemoPlanSeeds = 103;  // .derive(round * planners + i): seeds of the progress plans
constexpr uint64_t kDemoEvalSeedOffset = 1000;  // evaluation episodes start at seed + this
// ----- from an episode's seed -----
constexpr uint64_t kEnvReset = 0;         // env/env.cpp: the task's reset draws
constexpr uint64_t kEnvEpisode = 1;       // env/env.cpp: draws during the episode
constexpr uint64_t kActionNoise = 1;      // agent/episode_runner.cpp: exploration noise
constexpr uint64_t kPlanSeeds = 2;        // agent/episode_runner.cpp: the seed of each plan
constexpr uint64_t kRandomPolicy = 3;     // agent/episode_runner.cpp: the random policy's actions
constexpr uint64_t kExpertNoise = 0x5EED;    // env/experts.h: a scripted expert's noise
constexpr uint64_t kCollectActions = 0xAC7;  // env/collect.cpp: random actions of `latco collect`
// ----- from the replay's seed (agent/replay.cpp) -----
constexpr uint64_t kReplaySampling = 0x5e9;  // which sequences a batch holds
// ----- from a plan's seed (plan/) -----
constexpr uint64_t kGaussianNoise = uint64_t(1) << 20;      // Gaussian LatCo: its reparameterisation noise
constexpr uint64_t kGaussianEvalReturn = uint64_t(1) << 21; // Gaussian LatCo: the chosen plan's expected return
constexpr uint64_t kSampledWinner = uint64_t(1) << 22;      // LatCo latco_winner: sample, .derive(plan k)
constexpr uint64_t kGaussianIteration = uint64_t(1) << 40;  // Gaussian LatCo: | iteration, fresh noise per iteration

}  // namespace latco::streams
