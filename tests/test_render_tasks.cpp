// What the tasks' cameras show in the small observations a world model learns from:
// reach's goal is a visible marker at 32x32 and 64x64 with the hand at its start; hammer's
// camera keeps the gripper and the hammer in the frame over scripted-expert episodes; and
// on the lottery, `latco render` and evaluation name the goal reached, consistent with return
// and success.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>

#include "agent/evaluation.h"
#include "app/command.h"
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

TEST(LotteryOutcome, RenderNamesTheGoalConsistentWithReturnAndSuccess) {
  const std::string png = testing::TempDir() + "/lottery_outcome.png";
  int won = 0, lost = 0;
  for (const char* expert : {"lottery_paper", "lottery_paper_safe"}) {
    for (int seed = 0; seed < 8; ++seed) {
      testing::internal::CaptureStdout();
      const int rc = run_command("render", {"--task", "lottery_paper", "--expert", expert, "--seed",
                                            std::to_string(seed), "--size", "16", "--out", png});
      const std::string out = testing::internal::GetCapturedStdout();
      ASSERT_EQ(rc, 0) << out;
      double ret = 0;
      int success = -1;
      const size_t at = out.find("return ");
      ASSERT_NE(at, std::string::npos) << out;
      ASSERT_EQ(2, std::sscanf(out.c_str() + at, "return %lf, final success %d", &ret, &success)) << out;
      // The paper text's payoffs: safe +1 (the success), lottery +20 or -40 (never a success).
      if (std::string(expert) == "lottery_paper_safe") {
        EXPECT_EQ(ret, 1.0) << out;
        EXPECT_EQ(success, 1) << out;
        EXPECT_NE(out.find(", at the safe goal"), std::string::npos) << out;
      } else {
        EXPECT_EQ(success, 0) << out;
        const bool win = ret == 20.0;
        EXPECT_TRUE(win || ret == -40.0) << out;
        EXPECT_NE(out.find(win ? ", at the lottery goal (won)" : ", at the lottery goal (lost)"), std::string::npos)
            << out;
        (win ? won : lost)++;
      }
    }
  }
  EXPECT_GT(won, 0);  // both draws were seen, so both texts were checked
  EXPECT_GT(lost, 0);
}

// Evaluation keeps each episode's outcome and names it on its progress line.
TEST(LotteryOutcome, EvaluationRecordsAndPrintsTheGoalReached) {
  RssmSettings ms;
  ms.stoch = 4, ms.deter = 8, ms.hidden = 16, ms.depth = 2, ms.image_size = 16, ms.reward_hidden = 16;
  Rssm rssm(ms, 2, 5);
  EnvSettings es;
  es.image_size = 16;
  es.time_limit = 6;
  auto env = make_env("lottery_paper", es);
  Config cfg;
  for (auto [k, v] : {std::pair<const char*, const char*>{"cem_samples", "20"}, {"cem_elites", "4"}, {"cem_iterations", "2"}})
    cfg.set(k, v);
  testing::internal::CaptureStdout();
  EvalSummary sum = evaluate_planner(*env, rssm, "cem", cfg, 3, 3, 2, 7);
  const std::string out = testing::internal::GetCapturedStdout();
  ASSERT_EQ(sum.runs.size(), 2u);
  for (const EpisodeStats& st : sum.runs) {
    EXPECT_TRUE(st.outcome == "no goal" || st.outcome == "safe goal" || st.outcome == "lottery goal (won)" ||
                st.outcome == "lottery goal (lost)")
        << st.outcome;
    EXPECT_EQ(st.success, st.outcome == "safe goal");
  }
  EXPECT_NE(out.find("last: " + sum.runs.back().outcome), std::string::npos) << out;
}
