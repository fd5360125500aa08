// Episode files that name what produced them: the episode's arrays (env/episode.h save_episode)
// plus `task` and `policy` (uint8 arrays of their characters; numpy: bytes(f["task"]).decode())
// and `seed` (uint64 (1), the seed the episode was reset with). Readers of episodes ignore them.
#pragma once
#include <cstdint>
#include <string>

#include "env/episode.h"

namespace latco {

void save_episode_with_origin(const std::string& path, const Episode& e, const std::string& task, uint64_t seed,
                              const std::string& policy);

}  // namespace latco
