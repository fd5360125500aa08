// The tasks' start distributions and success tests against the Meta-World fork the paper
// ran (envs/sparse_metaworld.py of the release, the fork's env files), the lottery's
// two payoff variants (the released code's and the paper text's), and the dense
// tabletop variants' shaped rewards against hand values.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "env/env.h"
#include "env/experts.h"
#include "env/tabletop.h"

using namespace latco;

namespace {

EnvSettings no_images() {
  EnvSettings s;
  s.render_images = false;
  return s;
}

// Per-coordinate range of a quantity over many resets.
struct Range {
  Vec3 lo{1e9, 1e9, 1e9}, hi{-1e9, -1e9, -1e9};
  void add(const Vec3& v) {
    for (int i = 0; i < 3; ++i) lo[i] = std::min(lo[i], v[i]), hi[i] = std::max(hi[i], v[i]);
  }
};

constexpr int kSeeds = 300;
constexpr double kTcpBelowHand = TabletopEnv::kTcpBelowHand;

Vec3 at(const std::vector<double>& s, int k) { return {s[k], s[k + 1], s[k + 2]}; }
Vec3 hand_of(const std::vector<double>& s) { return {s[kTcp], s[kTcp + 1], s[kTcp + 2] + kTcpBelowHand}; }

// Expects the samples to lie in [lo, hi] and to come within `reach` of both ends (uniform draws).
void expect_spans(const Range& r, const Vec3& lo, const Vec3& hi, const std::string& what, double reach = 0.03) {
  for (int i = 0; i < 3; ++i) {
    EXPECT_GE(r.lo[i], lo[i] - 1e-9) << what << " axis " << i;
    EXPECT_LE(r.hi[i], hi[i] + 1e-9) << what << " axis " << i;
    EXPECT_LT(r.lo[i], lo[i] + reach) << what << " axis " << i << ": the low end is never drawn";
    EXPECT_GT(r.hi[i], hi[i] - reach) << what << " axis " << i << ": the high end is never drawn";
  }
}

}  // namespace

// ----- start distributions -----

TEST(Starts, ReachHandUniformInTheHandBounds) {
  auto env = make_env("reach", no_images());
  Range hand;
  for (int seed = 0; seed < kSeeds; ++seed) {
    env->reset(seed);
    hand.add(hand_of(env->state()));
  }
  expect_spans(hand, {-0.5, 0.4, 0.05}, {0.5, 1.0, 0.5}, "reach hand", 0.06);
}

// The fork's button bounds are narrow: the hand starts in them and x and z stay in them.
TEST(Starts, ButtonHandInTheNarrowBoundsAndKeptThere) {
  auto env = make_env("button", no_images());
  Range hand;
  for (int seed = 0; seed < kSeeds; ++seed) {
    env->reset(seed);
    hand.add(hand_of(env->state()));
  }
  expect_spans(hand, {-0.2, 0.4, 0.05}, {0.2, 0.8, 0.3}, "button hand");
  for (float dir : {1.0f, -1.0f}) {
    env->reset(1);
    float a[4] = {dir, 0, dir, 0};
    StepResult r;
    for (int k = 0; k < 60; ++k) r = env->step(a);
    const Vec3 h = hand_of(r.state);
    EXPECT_NEAR(std::fabs(h[0]), 0.2, 0.005) << "x is held at the fork's bound";
    EXPECT_NEAR(h[2], dir > 0 ? 0.3 : 0.05, 0.01) << "z is held at the fork's bound";
  }
}

// Window: sash open U(0, 0.2); the fingertips at the handle plus U(+-0.15, -0.3..0, +-0.15),
// clipped to the hand bounds.
TEST(Starts, WindowSashAndHandAroundTheHandle) {
  auto env = make_env("window", no_images());
  Range off, open;
  for (int seed = 0; seed < kSeeds; ++seed) {
    env->reset(seed);
    const std::vector<double> s = env->state();
    const Vec3 t = at(s, kTcp), handle = at(s, kObjA), h = hand_of(s);
    bool clipped = false;  // at a hand bound: the draw was clipped
    for (int i = 0; i < 3; ++i)
      clipped |= std::fabs(h[i] - TabletopEnv::kHandLow[i]) < 1e-9 || std::fabs(h[i] - TabletopEnv::kHandHigh[i]) < 1e-9;
    if (!clipped) off.add({t[0] - handle[0], t[1] - handle[1], t[2] - handle[2]});
    open.add({env->joint("window"), 0, 0});
  }
  expect_spans(off, {-0.15, -0.3, -0.15}, {0.15, 0.0, 0.15}, "window fingertips - handle", 0.04);
  EXPECT_LT(open.lo[0], 0.01);
  EXPECT_GT(open.hi[0], 0.19);
  EXPECT_LE(open.hi[0], 0.2);
}

// Drawer: open U(0, 0.15); the hand at the handle's x, y, height 0.15, plus
// U((-0.15, -0.15, 0), (0.15, 0.15, 0.3)).
TEST(Starts, DrawerHandJitterAsTheFork) {
  auto env = make_env("drawer", no_images());
  Range off, open;
  for (int seed = 0; seed < kSeeds; ++seed) {
    env->reset(seed);
    const std::vector<double> s = env->state();
    const Vec3 h = hand_of(s), handle = at(s, kObjA);
    off.add({h[0] - handle[0], h[1] - handle[1], h[2]});
    open.add({env->joint("drawer"), 0, 0});
  }
  expect_spans(off, {-0.15, -0.15, 0.15}, {0.15, 0.15, 0.45}, "drawer hand - handle (x, y), hand z");
  EXPECT_LT(open.lo[0], 0.01);
  EXPECT_GT(open.hi[0], 0.14);
  EXPECT_LE(open.hi[0], 0.15);
}

// Push: puck uniform, no rejection near the goal; the hand origin over the puck at height 0.05.
TEST(Starts, PushPuckAnywhereHandLowOverIt) {
  auto env = make_env("push", no_images());
  Range puck;
  int near_goal = 0;
  for (int seed = 0; seed < kSeeds; ++seed) {
    env->reset(seed);
    const std::vector<double> s = env->state();
    const Vec3 p = at(s, kObjA), h = hand_of(s);
    puck.add({p[0], p[1], 0});
    EXPECT_NEAR(h[0], p[0], 1e-6);
    EXPECT_NEAR(h[1], p[1], 1e-6);
    EXPECT_NEAR(h[2], 0.05, 1e-6);
    near_goal += dist2(p, at(s, kGoal)) < 0.15;
  }
  expect_spans(puck, {-0.2, 0.6, 0}, {0.4, 0.9, 0}, "puck");
  EXPECT_GT(near_goal, kSeeds / 10) << "starts within 0.15 of the goal are kept";
}

TEST(Starts, HammerAndThermos) {
  auto env = make_env("hammer", no_images());
  Range hammer;
  for (int seed = 0; seed < kSeeds; ++seed) {
    env->reset(seed);
    const std::vector<double> s = env->state();
    const Vec3 hm = at(s, kObjA), t = at(s, kTcp);
    hammer.add({hm[0], hm[1], 0});
    EXPECT_NEAR(t[1], std::max(hm[1] - 0.1, 0.4), 1e-6);  // 0.1 behind, clipped to the hand bounds
    EXPECT_NEAR(t[2] - hm[2], 0.16, 1e-6);
  }
  expect_spans(hammer, {-0.1, 0.42, 0}, {0.3, 0.56, 0}, "hammer");
  auto th = make_env("thermos", no_images());
  for (int seed : {0, 5}) {
    th->reset(seed);
    const std::vector<double> s = th->state();
    EXPECT_NEAR(s[kObjA], -0.1, 1e-6);
    EXPECT_NEAR(s[kObjA + 1], 0.6, 1e-6);
    EXPECT_NEAR(s[kObjB], 0.2, 1e-6);
    EXPECT_NEAR(s[kTcp + 2], 0.2 - kTcpBelowHand, 1e-6);
  }
}

// ----- success tests -----

// Hammer (the fork): the nail within 0.05 of its goal AND the hammer's head within 0.1 of the nail.
TEST(Success, HammerNeedsTheNailDrivenAndTheHeadAtIt) {
  auto env = make_env("hammer", no_images());
  auto& tt = dynamic_cast<TabletopEnv&>(*env);
  env->reset(0);
  auto place_head = [&](double dy) {  // head face = hammer origin + (0.16, 0.045, 0), dy before the nail head
    const Vec3 n = tt.site_pos("nail_head");
    env->set_joint("hammer_x", n[0] - 0.16);
    env->set_joint("hammer_y", n[1] - 0.045 - dy);
    env->set_joint("hammer_z", n[2]);
  };
  env->set_joint("nail", 0.051);
  place_head(0.099);
  EXPECT_TRUE(env->success());
  place_head(0.101);
  EXPECT_FALSE(env->success()) << "the nail is driven but the head is away";
  env->set_joint("nail", 0.049);
  place_head(0.05);
  EXPECT_FALSE(env->success()) << "the head is at the nail but it is not driven far enough";
}

// ----- lottery -----

namespace {
struct LotteryCase {
  const char* task;
  float win, lose;
  double p_win;
  bool ends;
  int time_limit;
};

void check_lottery(const LotteryCase& c) {
  SCOPED_TRACE(c.task);
  auto env = make_env(c.task, no_images());
  EXPECT_EQ(env->time_limit(), c.time_limit);
  const std::string lottery = c.task, safe = std::string(c.task) + "_safe";
  int wins = 0, n = 200;
  for (int seed = 0; seed < n; ++seed) {
    for (const std::string& which : {lottery, safe}) {
      auto ex = make_expert(which);
      env->reset(seed);
      ex->reset(seed);
      std::vector<double> s = env->state();
      float a[2];
      float total = 0;
      int paid = 0, arrived_at = -1;
      StepResult r;
      do {
        ex->act(s, a);
        r = env->step(a);
        s = r.state;
        total += r.reward;
        paid += r.reward != 0;
        if (env->outcome() != "no goal" && arrived_at < 0) arrived_at = env->steps();
        ASSERT_EQ(r.success, env->outcome() == "safe goal") << "success: at the safe goal, and only there";
      } while (!r.done);
      ASSERT_GE(arrived_at, 0) << "did not arrive";
      ASSERT_EQ(paid, 1) << "paid once, on arrival";
      if (c.ends) {
        ASSERT_EQ(env->steps(), arrived_at) << "the episode ends on arrival";
      } else {
        ASSERT_EQ(env->steps(), c.time_limit) << "the episode goes on after arrival";
      }
      // The goal reached and the draw are the outcome; success is the safe goal (Figure 7's
      // correct choice), so a lottery episode never succeeds, won or lost.
      if (which == safe) {
        EXPECT_EQ(total, 1.0f);
        EXPECT_TRUE(r.success);
        EXPECT_EQ(env->outcome(), "safe goal");
      } else {
        ASSERT_TRUE(total == c.win || total == c.lose) << total;
        wins += total == c.win;
        EXPECT_FALSE(r.success);
        EXPECT_EQ(env->outcome(), total == c.win ? "lottery goal (won)" : "lottery goal (lost)");
      }
    }
  }
  // 200 draws: 4 standard deviations of the win rate are at most 0.14.
  EXPECT_NEAR(wins / double(n), c.p_win, 4 * std::sqrt(c.p_win * (1 - c.p_win) / n));
}
}  // namespace

// Both variants: paid once on arrival, the draw's frequency, success only at the safe goal.
// The released code (envs/pointmass): +2 w.p. 0.8, else -10, not ending on arrival, 150 steps.
TEST(Lottery, ReleasedPayoffs) { check_lottery({"lottery", 2, -10, 0.8, false, 150}); }

// The paper's text (Section 5.5): +20 w.p. 0.65, else -40, ending on arrival.
TEST(Lottery, PaperTextPayoffs) { check_lottery({"lottery_paper", 20, -40, 0.65, true, 50}); }

// The draw is a function of the seed.
TEST(Lottery, SameSeedSameDraw) {
  for (const char* task : {"lottery", "lottery_paper"}) {
    auto env = make_env(task, no_images());
    auto ex = make_expert(task);
    float t1 = 0, t2 = 0;
    for (float* t : {&t1, &t2}) {
      env->reset(77);
      ex->reset(77);
      StepResult r;
      std::vector<double> s = env->state();
      float act[2];
      do {
        ex->act(s, act);
        r = env->step(act);
        s = r.state;
        *t += r.reward;
      } while (!r.done);
    }
    EXPECT_EQ(t1, t2) << task;
    EXPECT_NE(t1, 0.0f) << task;
  }
}

// ----- dense variants (Figure 10): the fork's shaped rewards -----

namespace {
double shaped(double d, double d_max) {
  return std::max(0.0, 1000 * (d_max - d) + 1000 * (std::exp(-d * d / 0.01) + std::exp(-d * d / 0.001)));
}
}  // namespace

// Same scene, start and success test as the sparse task; only the reward differs.
TEST(Dense, SameStartsAndSuccessAsTheSparseTask) {
  for (const std::string t : {"reach", "button", "window", "drawer", "push", "thermos", "hammer"}) {
    auto sparse = make_env(t, no_images()), dense = make_env(t + "_dense", no_images());
    EXPECT_EQ(dense->time_limit(), sparse->time_limit()) << t;
    EXPECT_EQ(dense->action_repeat(), sparse->action_repeat()) << t;
    for (uint64_t seed : {3u, 8u}) {
      sparse->reset(seed);
      dense->reset(seed);
      EXPECT_EQ(sparse->state(), dense->state()) << t;
      float a[4] = {0.3f, -0.2f, 0.1f, 0.5f};
      StepResult rs = sparse->step(a), rd = dense->step(a);
      EXPECT_EQ(rs.state, rd.state) << t;
      EXPECT_EQ(rs.success, rd.success) << t;
      EXPECT_EQ(rs.reward, rs.success ? 1.0f : 0.0f) << t;
    }
  }
  // The task's expert drives its dense variant.
  auto env = make_env("drawer_dense", no_images());
  auto ex = make_expert("drawer_dense");
  env->reset(5);
  ex->reset(5);
  std::vector<double> s = env->state();
  float a[4];
  StepResult r;
  double total = 0;
  do {
    ex->act(s, a);
    r = env->step(a);
    s = r.state;
    total += r.reward;
  } while (!r.done);
  EXPECT_TRUE(r.success);
  EXPECT_GT(total, 1000.0) << "the shaped terms pay once the handle is reached";
}

TEST(Dense, ReachAndPushAgainstHandValues) {
  auto env = make_env("reach_dense", no_images());
  auto& tt = dynamic_cast<TabletopEnv&>(*env);
  env->reset(4);
  const std::vector<double> s0 = env->state();
  const Vec3 goal = at(s0, kGoal);
  const double d0 = dist3(at(s0, kTcp), goal);
  tt.set_hand(goal);
  EXPECT_NEAR(tt.reward_now(), 1000 * d0 + 2000, 1e-2);
  tt.set_hand({goal[0] + 0.1, goal[1], goal[2]});
  EXPECT_NEAR(tt.reward_now(), 1000 * (d0 - 0.1) + 1000 * (std::exp(-1.0) + std::exp(-10.0)), 1e-2);
  tt.set_hand({goal[0], goal[1], goal[2] + 1.0});  // clipped to the hand bounds; far: floored at 0
  EXPECT_GE(tt.reward_now(), 0.0f);

  auto push = make_env("push_dense", no_images());
  auto& pt = dynamic_cast<TabletopEnv&>(*push);
  push->reset(6);
  const std::vector<double> p0 = push->state();
  const double push0 = dist2(at(p0, kObjA), at(p0, kGoal));
  // The fingertips 0.03 beside the puck: reach term and push term.
  const Vec3 puck = at(p0, kObjA);
  pt.set_hand({puck[0], puck[1] - 0.03, puck[2]});
  double reach = dist3(pt.tcp(), puck);
  ASSERT_LT(reach, 0.05);
  EXPECT_NEAR(pt.reward_now(), -reach + shaped(push0, push0), 1e-2);
  // 0.3 away: the reach term alone.
  pt.set_hand({puck[0], puck[1], puck[2] + 0.3});
  reach = dist3(pt.tcp(), puck);
  EXPECT_NEAR(pt.reward_now(), -reach, 1e-5);
}

TEST(Dense, JointTasksAgainstHandValues) {
  struct Case { const char* task; const char* joint; double value, full; bool left_finger; };
  for (Case c : {Case{"drawer_dense", "drawer", 0.05, -1, false}, Case{"window_dense", "window", 0.05, 0.2, false},
                 Case{"button_dense", "button", 0.02, 0.06, true}}) {
    SCOPED_TRACE(c.task);
    auto env = make_env(c.task, no_images());
    auto& tt = dynamic_cast<TabletopEnv&>(*env);
    env->reset(11);
    const double full = c.full > 0 ? c.full : env->joint(c.joint);  // drawer: the opening at the start
    env->set_joint(c.joint, c.value);
    const Vec3 handle = at(env->state(), kObjA);
    // The measuring point (the fingertips, or the left fingertip) 0.02 in front of the handle.
    tt.set_hand(handle);
    const Vec3 p = c.left_finger ? tt.site_pos("tip_l") : tt.tcp(), t = tt.tcp();
    tt.set_hand({handle[0] - (p[0] - t[0]), handle[1] - (p[1] - t[1]) - 0.02, handle[2] - (p[2] - t[2])});
    const double remaining = std::string(c.task) == "button_dense" ? 0.06 - c.value : c.value;
    const double reach = dist3(handle, c.left_finger ? tt.site_pos("tip_l") : tt.tcp());
    ASSERT_LT(reach, 0.05);
    EXPECT_NEAR(tt.reward_now(), -reach + shaped(remaining, full), 1e-2);
    tt.set_hand({handle[0], handle[1] - 0.2, handle[2] + 0.1});
    const double far = dist3(handle, c.left_finger ? tt.site_pos("tip_l") : tt.tcp());
    EXPECT_NEAR(tt.reward_now(), -far, 1e-5);
  }
}

// Hammer: the pick term pays 100 x the lift target once the hammer reaches it, and keeps paying
// while it is held; dense rewards are summed over the action repeat.
TEST(Dense, HammerPickTermAndRepeatSum) {
  auto env = make_env("hammer_dense", no_images());
  auto& tt = dynamic_cast<TabletopEnv&>(*env);
  env->reset(2);
  const Vec3 h0 = at(env->state(), kObjA);
  const double target = h0[2] + 0.09;
  const Vec3 tcp0 = tt.tcp();
  const double r0 = tt.reward_now();
  EXPECT_NEAR(r0, -dist3(h0, tcp0), 1e-5) << "at rest: the reach term alone";
  // Lift the hammer to the target with the hand at its handle: picked.
  env->set_joint("hammer_z", target);
  const Vec3 h = at(env->state(), kObjA);
  tt.set_hand({h[0], h[1], h[2]});
  const double reach = dist3(h, tt.tcp());
  const double r = tt.reward_now();
  EXPECT_GE(r, -reach + 100 * target - 1e-3);  // reach + pick (+ the drive term, >= 0)
  // Summed over the repeat: a step far from everything pays twice the reach term.
  auto far = make_env("thermos_dense", no_images());
  auto& ft = dynamic_cast<TabletopEnv&>(*far);
  far->reset(0);
  const float per_unit = ft.reward_now();
  float a[4] = {0, 0, 0, 0};
  StepResult st = far->step(a);
  EXPECT_EQ(far->action_repeat(), 2);
  EXPECT_NEAR(st.reward, 2 * per_unit, 2e-3 * std::fabs(per_unit) + 1e-4);
}
