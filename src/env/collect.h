// One episode from a scripted expert or from uniform random actions, recorded
// Dreamer-aligned (see io/npz.h). Used by `latco collect`, `latco render` and
// the demo's dataset; model-based acting lives in agent/episode_runner.*.
#pragma once
#include <cstdint>

#include "env/env.h"
#include "env/episode.h"
#include "env/experts.h"

namespace latco {

// expert == nullptr: actions uniform in [-1, 1] from Rng(seed).derive(streams::kCollectActions), each drawn
// action held for `hold` steps (hold > 1 makes the random walk sweep the workspace
// instead of jittering in place, so a model also sees long directed motions).
Episode collect_episode(Env& env, Expert* expert, uint64_t seed, int hold = 1);

}  // namespace latco
