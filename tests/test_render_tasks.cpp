// What the tasks' cameras show in the small observations a world model learns from:
// reach's goal is a visible marker at 32x32 and 64x64 with the hand at its start.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "env/env.h"

using namespace latco;

namespace {

// Pixels whose green clearly dominates red and blue: the goal's colour; the table, puck,
// gripper, floor and sky have none.
int goal_green_pixels(const Observation& o) {
  int n = 0;
  for (size_t i = 0; i + 2 < o.image.size(); i += 3) {
    const int r = o.image[i], g = o.image[i + 1], b = o.image[i + 2];
    n += g > r + 40 && g > b + 40;
  }
  return n;
}

}  // namespace

TEST(TaskImages, ReachGoalIsVisibleWithTheHandAtItsStart) {
  for (int size : {32, 64}) {
    EnvSettings s;
    s.image_size = size;
    auto env = make_env("reach", s);
    int fewest = 1 << 30;
    for (int seed = 0; seed < 12; ++seed) {
      const int n = goal_green_pixels(env->reset(seed));
      fewest = std::min(fewest, n);
      EXPECT_GE(n, size == 32 ? 4 : 16) << "size " << size << " seed " << seed;
    }
    RecordProperty("fewest_goal_pixels_" + std::to_string(size), fewest);
  }
}
