// What the tasks' cameras show in the small observations a world model learns from:
// reach's goal is a visible marker at 32x32 and 64x64 with the hand at its start; hammer's
// camera keeps the gripper and the hammer in the frame over scripted-expert episodes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "env/env.h"
#include "env/experts.h"
#include "env/tabletop.h"

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

TEST(TaskImages, HammerKeepsGripperAndHammerInTheFrame) {
  EnvSettings s;
  s.render_images = false;  // projection only
  auto env = make_env("hammer", s);
  auto& tt = dynamic_cast<TabletopEnv&>(*env);
  auto expert = make_expert("hammer");
  const int H = 64;
  // Points that must stay one pixel or more inside a 64x64 frame: the palm, both fingertips, the
  // top of the visible forearm stub, both ends of the handle and the hammer's head.
  auto check = [&](int seed, int t) {
    mj_camlight(env->model(), env->data());
    const Vec3 hammer = tt.body_pos("hammer"), hand = tt.body_pos("hand");
    const std::vector<std::pair<const char*, Vec3>> points = {
        {"palm", hand},
        {"left fingertip", tt.site_pos("tip_l")},
        {"right fingertip", tt.site_pos("tip_r")},
        {"forearm above the palm", {hand[0], hand[1], hand[2] + 0.06}},
        {"handle end", {hammer[0] - 0.14, hammer[1], hammer[2]}},
        {"hammer head", {hammer[0] + 0.185, hammer[1], hammer[2]}},
    };
    for (const auto& [what, p] : points) {
      int row = -1, col = -1;
      ASSERT_TRUE(env->renderer().project(env->data(), env->camera(), H, H, p.data(), &row, &col)) << what;
      EXPECT_TRUE(row >= 1 && row < H - 1 && col >= 1 && col < H - 1)
          << what << " at pixel (" << row << ", " << col << "), seed " << seed << " step " << t;
    }
  };
  int successes = 0;
  for (int seed = 0; seed < 6; ++seed) {
    env->reset(seed);
    expert->reset(seed);
    std::vector<float> a(env->action_dim());
    check(seed, 0);
    StepResult r;
    for (int t = 1; t <= env->time_limit(); ++t) {
      expert->act(env->state(), a.data());
      r = env->step(a);
      check(seed, t);
    }
    successes += r.success;
  }
  EXPECT_GE(successes, 4);  // the episodes checked are ones where the expert does the task
}
