// Pictures of episodes and plans on a learned model, for `latco eval` (and anyone else):
// an episode as an animated GIF, one titled frame per step, and a LatCo-family plan decoded
// to images after 0, 1, 2, 5, ... iterations, one GIF frame per iterate (paper Figure 1 moving).
#pragma once
#include <string>
#include <vector>

#include "env/env.h"
#include "env/episode.h"
#include "io/config.h"
#include "io/png.h"
#include "model/rssm.h"

namespace latco {

// One frame per step, upscaled by `scale`, under `title` and a line "t=.. return .. success".
std::vector<Image> episode_frames(const Episode& e, const std::string& title, int scale);

// The plan `planner` makes from the latent of the first observation of an episode started from
// `episode_seed`, stopped after k iterations for k = 0, 1, 2, 5, ... up to the planner's own count
// (`<planner>_iterations` is the iteration key: latco_iterations for every latco* planner),
// decoded to images z_0 .. z_H; one frame per k. Empty for planners without that key.
std::vector<Image> plan_iteration_frames(Env& env, const Rssm& model, const std::string& planner, const Config& cfg,
                                         int horizon, uint64_t episode_seed, uint64_t plan_seed);

}  // namespace latco
