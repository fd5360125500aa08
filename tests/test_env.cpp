// Tests of the environments: every task loads, resets deterministically and
// renders a non-degenerate image; success fires exactly at each criterion;
// scripted experts succeed and random actions mostly do not; tolerance()
// against hand-derived values; bad input gives clear errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>

#include "app/command.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "env/env.h"
#include "env/episode.h"
#include "env/experts.h"
#include "env/rewards.h"
#include "env/tabletop.h"

using namespace latco;

namespace {

const std::vector<std::string> kTabletop = {"reach", "button", "window", "drawer", "push", "thermos", "hammer"};

EnvSettings no_images() {
  EnvSettings s;
  s.render_images = false;
  return s;
}

TabletopEnv& tabletop(Env& e) { return dynamic_cast<TabletopEnv&>(e); }

int distinct_colours(const Observation& o) {
  std::set<uint32_t> c;
  for (size_t i = 0; i + 2 < o.image.size(); i += 3)
    c.insert((uint32_t(o.image[i]) << 16) | (uint32_t(o.image[i + 1]) << 8) | o.image[i + 2]);
  return static_cast<int>(c.size());
}

// Fraction of episodes whose last step is a success.
double expert_success_rate(const std::string& task, int seeds, float noise = 0) {
  auto env = make_env(task, no_images());
  auto ex = make_expert(task, noise);
  std::vector<float> a(env->action_dim());
  int ok = 0;
  for (int seed = 0; seed < seeds; ++seed) {
    env->reset(1000 + seed);
    ex->reset(1000 + seed);
    std::vector<double> s = env->state();
    StepResult r;
    do {
      ex->act(s, a.data());
      r = env->step(a.data());
      s = r.state;
    } while (!r.done);
    ok += r.success ? 1 : 0;
  }
  return ok / double(seeds);
}

}  // namespace

TEST(Env, EveryTaskLoadsStepsAndRenders) {
  std::vector<std::string> names = env_names();
  for (const char* t : {"reach", "button", "window", "drawer", "push", "thermos", "hammer", "reacher_easy",
                        "cheetah_run", "quadruped_walk", "lottery"})
    EXPECT_NE(std::find(names.begin(), names.end(), t), names.end()) << t << " is not in the task table";
  for (const auto& name : names) {
    auto env = make_env(name);
    Observation o = env->reset(3);
    ASSERT_EQ(o.height, 64);
    ASSERT_EQ(o.width, 64);
    ASSERT_EQ(o.image.size(), 64u * 64u * 3u);
    EXPECT_GE(distinct_colours(o), 8) << name << ": a nearly flat image";
    EXPECT_GE(env->time_limit(), 1);
    EXPECT_GE(env->action_repeat(), 1);
    std::vector<float> a(env->action_dim(), 0.0f);
    StepResult r = env->step(a);
    EXPECT_EQ(r.obs.image.size(), 64u * 64u * 3u) << name;
    EXPECT_TRUE(std::isfinite(r.reward)) << name;
    EXPECT_FALSE(r.state.empty()) << name;
  }
}

TEST(Env, TaskNumbersMatchTheSpec) {
  EXPECT_EQ(make_env("push")->action_dim(), 4);
  EXPECT_EQ(make_env("push")->time_limit(), 150);
  EXPECT_EQ(make_env("thermos")->action_repeat(), 2);
  EXPECT_EQ(make_env("hammer")->time_limit(), 75);
  EXPECT_EQ(make_env("cheetah_run")->action_repeat(), 2);
  EXPECT_EQ(make_env("cheetah_run")->time_limit(), 500);  // 1000 physics decisions
  EXPECT_EQ(make_env("cheetah_run")->action_dim(), 6);
  EXPECT_EQ(make_env("quadruped_walk")->action_dim(), 12);
  EXPECT_EQ(make_env("reacher_easy")->action_dim(), 2);
  EXPECT_EQ(make_env("lottery")->action_dim(), 2);
  EXPECT_DOUBLE_EQ(make_env("push")->model()->opt.timestep, 0.0025);
  EXPECT_DOUBLE_EQ(make_env("cheetah_run")->model()->opt.timestep, 0.01);
  EXPECT_DOUBLE_EQ(make_env("quadruped_walk")->model()->opt.timestep, 0.005);
  EXPECT_DOUBLE_EQ(make_env("reacher_easy")->model()->opt.timestep, 0.02);
  EnvSettings s;
  s.image_size = 32;
  s.time_limit = 7;
  auto e = make_env("push", s);
  EXPECT_EQ(e->reset(0).image.size(), 32u * 32u * 3u);
  EXPECT_EQ(e->time_limit(), 7);
}

TEST(Env, SameSeedSameEpisode) {
  for (const std::string& name : env_names()) {
    auto a = make_env(name), b = make_env(name);
    Observation oa = a->reset(42), ob = b->reset(42);
    ASSERT_EQ(oa.image, ob.image) << name;
    Rng rng(5);
    std::vector<float> act(a->action_dim());
    for (int t = 0; t < 5; ++t) {
      for (float& x : act) x = rng.uniform(-1, 1);
      StepResult ra = a->step(act), rb = b->step(act);
      ASSERT_EQ(ra.obs.image, rb.obs.image) << name << " step " << t;
      ASSERT_EQ(ra.state, rb.state) << name;
      ASSERT_EQ(ra.reward, rb.reward) << name;
    }
    // Reusing an env after other episodes gives the same start again.
    a->reset(1);
    EXPECT_EQ(a->reset(42).image, oa.image) << name;
  }
  // Randomised starts differ between seeds.
  auto e = make_env("push");
  EXPECT_NE(e->reset(1).image, e->reset(2).image);
}

TEST(Env, UnknownTaskListsTheTasks) {
  try {
    make_env("pusj");
    FAIL() << "no error";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("pusj"), std::string::npos) << m;
    for (const char* t : {"push", "hammer", "cheetah_run", "lottery"}) EXPECT_NE(m.find(t), std::string::npos) << m;
  }
  EXPECT_THROW(make_expert("cheetah_run"), Error);
}

TEST(Env, BadActionsAreRejected) {
  auto env = make_env("push", no_images());
  env->reset(0);
  EXPECT_THROW(env->step(std::vector<float>{0, 0, 0}), Error);
  float nan_a[4] = {0, std::numeric_limits<float>::quiet_NaN(), 0, 0};
  float inf_a[4] = {0, 0, 0, std::numeric_limits<float>::infinity()};
  try {
    env->step(nan_a);
    FAIL() << "NaN accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("action[1]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(env->step(inf_a), Error);
  // After the time limit, step() asks for a reset.
  EnvSettings s = no_images();
  s.time_limit = 2;
  auto short_env = make_env("reach", s);
  short_env->reset(0);
  float z[4] = {0, 0, 0, 0};
  EXPECT_FALSE(short_env->step(z).done);
  EXPECT_TRUE(short_env->step(z).done);
  EXPECT_THROW(short_env->step(z), Error);
}

namespace {
// A task over an arbitrary scene file, to test loading errors.
class SceneOnlyEnv : public Env {
 public:
  SceneOnlyEnv(const std::string& file, const EnvSettings& s) : Env("scene_only", file, s, 1, 1, 10) {}
  std::vector<double> state() const override { return {}; }
  bool success() const override { return false; }

 protected:
  void reset_task(Rng&) override {}
  float reward_unit() override { return 0; }
};
}  // namespace

TEST(Env, MalformedSceneNamesTheFile) {
  std::string dir = ::testing::TempDir();
  std::ofstream(dir + "/broken.xml") << "<mujoco><worldbody><geom type=\"sphere\" size=\"0.1\"></worldbody>\n";
  EnvSettings s;
  s.task_dir = dir;
  try {
    SceneOnlyEnv e("broken.xml", s);
    FAIL() << "no error";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("broken.xml"), std::string::npos) << m;
    EXPECT_NE(m.find("XML"), std::string::npos) << m;  // MuJoCo's parser message
  }
  EXPECT_THROW(SceneOnlyEnv("missing.xml", s), Error);
}

TEST(Render, GripperIsVisibleAndMovesTheImage) {
  auto env = make_env("push");
  auto& tt = tabletop(*env);
  env->reset(0);
  tt.set_hand({-0.15, 0.75, 0.12});
  Observation before = env->render();
  // A point on the forearm, above the palm, projects onto a yellow pixel (blue well under
  // red); the table there would be brown (blue about 0.6 of red).
  auto arm_pixel = [&](int* row, int* col) {
    Vec3 p = tt.body_pos("hand");
    p[2] += 0.15;
    ASSERT_TRUE(env->renderer().project(env->data(), env->camera(), 64, 64, p.data(), row, col));
    ASSERT_TRUE(*row >= 0 && *row < 64 && *col >= 0 && *col < 64) << *row << " " << *col;
  };
  int row, col;
  arm_pixel(&row, &col);
  const uint8_t* p = &before.image[3 * (row * 64 + col)];
  EXPECT_LT(3 * p[2], p[0]) << "arm pixel " << int(p[0]) << "," << int(p[1]) << "," << int(p[2]);
  // Move the hand 0.25 m in +x: the pixel where the arm was now shows something else,
  // and the arm is drawn at its new place, to the right, not in the far corner.
  tt.set_hand({0.10, 0.75, 0.12});
  Observation after = env->render();
  const uint8_t* q = &after.image[3 * (row * 64 + col)];
  EXPECT_FALSE(q[0] == p[0] && q[1] == p[1] && q[2] == p[2]);
  int r2, c2;
  arm_pixel(&r2, &c2);
  EXPECT_GT(c2, col);  // +x is to the right in this camera
  const uint8_t* n = &after.image[3 * (r2 * 64 + c2)];
  EXPECT_LT(3 * n[2], n[0]);
  EXPECT_EQ(0, std::memcmp(&before.image[3 * (63 * 64)], &after.image[3 * (63 * 64)], 3));  // bottom-left corner
}

TEST(Render, ASceneCanDrawTheArmThicker) {
  // reach.xml sets arm_radius 0.045; push keeps the default 0.025. The renderer's bounding
  // sphere follows, or rays through the thicker arm's edge would be culled.
  for (auto [task, radius] : {std::pair<const char*, double>{"reach", 0.045}, {"push", 0.025}}) {
    auto env = make_env(task);
    const int g = env->id(mjOBJ_GEOM, "wrist");
    EXPECT_DOUBLE_EQ(env->model()->geom_size[3 * g], radius) << task;
    EXPECT_DOUBLE_EQ(env->model()->geom_rbound[g], radius + env->model()->geom_size[3 * g + 1]) << task;
  }
}

TEST(Render, SupersampledObservationIsTheBoxMeanOfAFinerRender) {
  EnvSettings s;
  s.image_size = 16;
  s.supersample = 3;
  auto env = make_env("reach", s);
  env->reset(4);
  Observation o = env->render();
  const int k = 3, H = 16 * k;
  std::vector<uint8_t> fine(H * H * 3);
  mj_camlight(env->model(), env->data());
  env->renderer().render(env->data(), env->camera(), H, H, fine.data());
  int differ = 0, edges = 0;
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 16; ++c)
      for (int ch = 0; ch < 3; ++ch) {
        double sum = 0;
        bool flat = true;
        for (int i = 0; i < k; ++i)
          for (int j = 0; j < k; ++j) {
            uint8_t v = fine[3 * ((r * k + i) * H + c * k + j) + ch];
            sum += v;
            flat = flat && v == fine[3 * ((r * k) * H + c * k) + ch];
          }
        differ += o.image[3 * (r * 16 + c) + ch] != static_cast<int>(std::lround(sum / (k * k)));
        edges += !flat;
      }
  EXPECT_EQ(differ, 0);
  EXPECT_GT(edges, 20);  // the averaging was exercised: many blocks straddle an edge
  // Rounding to nearest: a 2x2 block {0, 1, 2, 3} averages 1.5 -> 2; {0, 0, 0, 1} -> 0.
  const uint8_t in[2 * 2 * 3] = {0, 0, 0, 1, 0, 0, 2, 0, 0, 3, 1, 0};
  uint8_t out[3];
  box_downsample(in, 1, 1, 2, out);
  EXPECT_EQ(out[0], 2);
  EXPECT_EQ(out[1], 0);
  EXPECT_EQ(out[2], 0);
}

TEST(Render, DefaultSupersamplingRendersAtLeast64Pixels) {
  // supersample 0: a 32-pixel image is rendered at 64 and averaged, a 64-pixel one directly.
  for (auto [size, k] : {std::pair<int, int>{32, 2}, {64, 1}, {16, 4}}) {
    EnvSettings automatic, explicit_k;
    automatic.image_size = explicit_k.image_size = size;
    explicit_k.supersample = k;
    auto a = make_env("reach", automatic), b = make_env("reach", explicit_k);
    a->reset(2);
    b->reset(2);
    EXPECT_EQ(a->render().image, b->render().image) << size;
  }
}

TEST(Render, FastPathMatchesMjRayReference) {
  for (const char* name : {"push", "hammer", "cheetah_run", "quadruped_walk"}) {
    auto env = make_env(name);
    env->reset(9);
    std::vector<float> a(env->action_dim(), 0.3f);
    env->step(a);
    const int h = 48, w = 40;  // non-square on purpose
    std::vector<uint8_t> fast(h * w * 3), ref(h * w * 3);
    mj_camlight(env->model(), env->data());
    env->renderer().render(env->data(), env->camera(), h, w, fast.data());
    env->renderer().render_reference(env->data(), env->camera(), h, w, ref.data());
    int differ = 0;
    for (size_t i = 0; i < fast.size(); ++i) differ += fast[i] != ref[i];
    EXPECT_LE(differ, static_cast<int>(fast.size() / 200)) << name;  // ties between touching geoms only
  }
}

TEST(Render, ConcurrentRendersOnSeparateDataMatchSerial) {
  auto env = make_env("hammer");
  env->reset(1);
  const mjModel* m = env->model();
  // Four states: the reset one and three after further steps.
  std::vector<mjData*> states;
  std::vector<float> a = {0.5f, 0.5f, -0.5f, 1.0f};
  for (int k = 0; k < 4; ++k) {
    states.push_back(mj_copyData(mj_makeData(m), m, env->data()));
    mj_camlight(m, states.back());
    env->step(a);
  }
  std::vector<std::vector<uint8_t>> serial(4, std::vector<uint8_t>(64 * 64 * 3)), par = serial;
  for (int k = 0; k < 4; ++k) env->renderer().render(states[k], env->camera(), 64, 64, serial[k].data());
  int old = num_threads();
  set_num_threads(2);
  parallel_tasks(4, [&](int64_t k) { env->renderer().render(states[k], env->camera(), 64, 64, par[k].data()); });
  set_num_threads(old);
  for (int k = 0; k < 4; ++k) EXPECT_EQ(serial[k], par[k]) << k;
  EXPECT_NE(serial[0], serial[3]);
  for (mjData* d : states) mj_deleteData(d);
}

TEST(Render, NormalsOfPrimitiveGeoms) {
  auto env = make_env("push");
  env->reset(0);
  const mjModel* m = env->model();
  int puck = env->id(mjOBJ_GEOM, "puck");
  const double* c = env->data()->geom_xpos + 3 * puck;
  double n[3];
  double side[3] = {c[0] + 0.02, c[1], c[2]};  // on the cylinder's side, +x
  RaycastRenderer::geom_normal(m, env->data(), puck, side, n);
  EXPECT_NEAR(n[0], 1, 1e-9);
  double top[3] = {c[0], c[1] + 0.005, c[2] + 0.02};  // on the top cap
  RaycastRenderer::geom_normal(m, env->data(), puck, top, n);
  EXPECT_NEAR(n[2], 1, 1e-9);
}

// ----- success criteria at their thresholds (TASKS.md numbers) -----
TEST(Success, ReachAtThreshold) {
  auto env = make_env("reach", no_images());
  auto& tt = tabletop(*env);
  env->reset(0);
  tt.set_hand({-0.1 + 0.049, 0.8, 0.2});
  EXPECT_TRUE(env->success());
  tt.set_hand({-0.1 + 0.051, 0.8, 0.2});
  EXPECT_FALSE(env->success());
}

TEST(Success, PushAtThreshold) {
  auto env = make_env("push", no_images());
  env->reset(0);
  for (double off : {0.069, 0.071}) {
    env->set_joint("puck_x", 0.1 + off * 0.6);
    env->set_joint("puck_y", 0.8 + off * 0.8);
    EXPECT_EQ(env->success(), off < 0.07) << off;
  }
}

TEST(Success, JointTasksAtThreshold) {
  struct Case { const char* task; const char* joint; double threshold; bool success_above; };
  for (Case c : {Case{"button", "button", 0.03, true}, Case{"window", "window", 0.05, false},
                 Case{"drawer", "drawer", 0.03, false}}) {
    auto env = make_env(c.task, no_images());
    env->reset(0);
    env->set_joint(c.joint, c.threshold + 0.001);
    EXPECT_EQ(env->success(), c.success_above) << c.task;
    env->set_joint(c.joint, c.threshold - 0.001);
    EXPECT_EQ(env->success(), !c.success_above) << c.task;
  }
}

TEST(Success, ThermosNeedsAllThreeConditions) {
  auto env = make_env("thermos", no_images());
  auto& tt = tabletop(*env);
  env->reset(0);
  // Thermos 0.09 from the goal (slide +0.11 from its start at 0.2), stick held at the tcp, touching the thermos.
  env->set_joint("thermos_x", 0.11);
  tt.set_hand({0.18, 0.6, 0.03});
  Vec3 tcp = tt.tcp();
  env->set_joint("stick_x", tcp[0]);
  env->set_joint("stick_y", tcp[1]);
  env->set_joint("stick_z", tcp[2]);
  EXPECT_TRUE(env->success());
  env->set_joint("thermos_x", 0.09);  // 0.11 from the goal
  EXPECT_FALSE(env->success());
  env->set_joint("thermos_x", 0.11);
  env->set_joint("stick_z", tcp[2] + 0.06);  // stick out of the hand
  EXPECT_FALSE(env->success());
  env->set_joint("stick_z", tcp[2]);
  tt.set_hand({0.14, 0.6, 0.03});  // stick 0.17 from the thermos
  tcp = tt.tcp();
  env->set_joint("stick_x", tcp[0]);
  EXPECT_FALSE(env->success());
}

TEST(Success, RewardIsSuccessOnTabletop) {
  auto env = make_env("button", no_images());
  env->reset(0);
  float a[4] = {0, 0, 0, 0};
  StepResult r = env->step(a);
  EXPECT_EQ(r.reward, r.success ? 1.0f : 0.0f);
  env->set_joint("button", 0.059);
  r = env->step(a);  // the spring pushes back only a little in one step
  EXPECT_TRUE(r.success);
  EXPECT_EQ(r.reward, 1.0f);
}

// ----- experts and random actions -----
TEST(Experts, EasyTasksAtLeast90Percent) {
  for (const char* t : {"reach", "button", "window", "drawer", "push"})
    EXPECT_GE(expert_success_rate(t, 20), 0.9) << t;
}

TEST(Experts, ToolTasksAtLeast70Percent) {
  for (const char* t : {"thermos", "hammer"}) EXPECT_GE(expert_success_rate(t, 20), 0.7) << t;
}

TEST(Experts, NoiseIsSeededAndChangesActions) {
  auto e1 = make_expert("push", 0.3f), e2 = make_expert("push", 0.3f), e0 = make_expert("push", 0.0f);
  std::vector<double> s(kTabletopStateDim, 0.0);
  s[kObjA + 0] = 0.2; s[kObjA + 1] = 0.7; s[kGoal + 0] = 0.1; s[kGoal + 1] = 0.8; s[kTcp + 2] = 0.2;
  e1->reset(3); e2->reset(3); e0->reset(3);
  float a1[4], a2[4], a0[4];
  e1->act(s, a1); e2->act(s, a2); e0->act(s, a0);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(a1[i], a2[i]);
    EXPECT_GE(a1[i], -1); EXPECT_LE(a1[i], 1);
  }
  EXPECT_NE(std::memcmp(a1, a0, sizeof a1), 0);
}

TEST(Experts, RandomActionsRarelySucceed) {
  for (const char* t : {"push", "thermos", "hammer"}) {
    auto env = make_env(t, no_images());
    std::vector<float> a(env->action_dim());
    int ok = 0;
    for (int seed = 0; seed < 10; ++seed) {
      env->reset(seed);
      if (env->success()) continue;  // push may start at the goal (the fork draws the puck anywhere)
      Rng rng(seed + 100);
      StepResult r;
      do {
        for (float& x : a) x = rng.uniform(-1, 1);
        r = env->step(a);
      } while (!r.done);
      ok += r.success;
    }
    EXPECT_LE(ok, 1) << t;
  }
}

// ----- locomotion -----
TEST(Locomotion, ReacherRewardWhenTouching) {
  auto env = make_env("reacher_easy", no_images());
  env->reset(0);
  // Put the target on the finger: reward 1 for each of the two repeats.
  std::vector<double> s = env->state();
  env->set_joint("target_x", s[4]);
  env->set_joint("target_y", s[5]);
  float a[2] = {0, 0};
  StepResult r = env->step(a);
  EXPECT_TRUE(r.success);
  EXPECT_FLOAT_EQ(r.reward, 2.0f);
  env->set_joint("target_x", s[4] + 0.2);
  r = env->step(a);
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reward, 0.0f);
}

TEST(Locomotion, CheetahRewardFollowsSpeed) {
  auto env = make_env("cheetah_run", no_images());
  env->reset(0);
  std::vector<float> a(6, 0.0f);
  float sum = 0;
  for (int t = 0; t < 20; ++t) {
    StepResult r = env->step(a);
    EXPECT_GE(r.reward, 0.0f);
    EXPECT_LE(r.reward, 2.0f);
    sum += r.reward;
  }
  EXPECT_LT(sum, 2.0f);  // standing still earns little
  // A forward push of the root: reward = clip(v / 10, 0, 1) per physics step.
  env->data()->qvel[0] = 5.0;
  float z[6] = {0};
  StepResult r = env->step(z);
  EXPECT_GT(r.reward, 0.5f);
  EXPECT_LT(r.reward, 1.1f);
}

TEST(Locomotion, QuadrupedStartsTouchingAndUprightRewardBounds) {
  auto env = make_env("quadruped_walk", no_images());
  env->reset(4);
  mj_forward(env->model(), env->data());
  EXPECT_GT(env->data()->ncon, 0);  // lowered until it touches
  std::vector<float> a(12, 0.0f);
  for (int t = 0; t < 10; ++t) {
    StepResult r = env->step(a);
    EXPECT_GE(r.reward, 0.0f);
    EXPECT_LE(r.reward, 2.0f);  // two repeats of a reward in [0, 1]
  }
}

// ----- tolerance() against hand-derived values (value_at_margin v = 0.1, d = distance / margin) -----
TEST(Tolerance, InsideOutsideAndMarginZero) {
  EXPECT_EQ(tolerance(0.5, 0, 1), 1.0);
  EXPECT_EQ(tolerance(1.0, 0, 1), 1.0);
  EXPECT_EQ(tolerance(1.01, 0, 1), 0.0);
  EXPECT_EQ(tolerance(-0.01, 0, 1), 0.0);
  EXPECT_EQ(tolerance(3.0, 0, 1, 2.0), tolerance(-2.0, 0, 1, 2.0));  // symmetric about the bounds
  EXPECT_THROW(tolerance(0, 1, 0), Error);
}

TEST(Tolerance, EverySigmoidEqualsValueAtMarginAtDistanceOne) {
  for (Sigmoid k : {Sigmoid::Gaussian, Sigmoid::Linear, Sigmoid::LongTail, Sigmoid::Quadratic, Sigmoid::Hyperbolic,
                    Sigmoid::Reciprocal, Sigmoid::Cosine, Sigmoid::TanhSquared}) {
    EXPECT_NEAR(tolerance(3.0, 0, 1, 2.0, k, 0.1), 0.1, 1e-12) << int(k);
    EXPECT_NEAR(tolerance(1.0, 0, 1, 2.0, k, 0.1), 1.0, 1e-12) << int(k);
  }
}

TEST(Tolerance, HalfMarginValues) {
  // x = 2, bounds (0, 1), margin 2 -> d = 0.5.
  auto t = [](Sigmoid k) { return tolerance(2.0, 0, 1, 2.0, k, 0.1); };
  EXPECT_NEAR(t(Sigmoid::Gaussian), std::pow(0.1, 0.25), 1e-12);          // exp(-(d s)^2/2) = v^(d^2)
  EXPECT_NEAR(t(Sigmoid::Linear), 1 - 0.5 * 0.9, 1e-12);                 // 1 - d (1 - v)
  EXPECT_NEAR(t(Sigmoid::LongTail), 1 / (0.25 * 9 + 1), 1e-12);          // s^2 = 1/v - 1 = 9
  EXPECT_NEAR(t(Sigmoid::Quadratic), 1 - 0.25 * 0.9, 1e-12);             // 1 - d^2 (1 - v)
  EXPECT_NEAR(t(Sigmoid::Hyperbolic), 1 / std::sqrt(5.5), 1e-12);        // 1/cosh(acosh(10)/2) = 1/sqrt((10+1)/2)
  EXPECT_NEAR(t(Sigmoid::Reciprocal), 1 / (0.5 * 9 + 1), 1e-12);         // s = 1/v - 1 = 9
  EXPECT_NEAR(t(Sigmoid::Cosine), (1 + std::sqrt(0.1)) / 2, 1e-12);      // cos(acos(-0.8)/2) = sqrt(0.1)
  double th = std::sqrt(0.9) / (1 + std::sqrt(0.1));                     // tanh(atanh(sqrt(0.9))/2)
  EXPECT_NEAR(t(Sigmoid::TanhSquared), 1 - th * th, 1e-12);
  // Beyond reach: linear, quadratic and cosine hit 0.
  EXPECT_EQ(tolerance(30.0, 0, 1, 2.0, Sigmoid::Linear, 0.1), 0.0);
  EXPECT_EQ(tolerance(30.0, 0, 1, 2.0, Sigmoid::Quadratic, 0.1), 0.0);
  EXPECT_EQ(tolerance(30.0, 0, 1, 2.0, Sigmoid::Cosine, 0.1), 0.0);
  // The cheetah's run reward: tolerance(v, (10, inf), 10, linear, 0) = v / 10.
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_NEAR(tolerance(5.0, 10, inf, 10, Sigmoid::Linear, 0), 0.5, 1e-12);
  EXPECT_EQ(tolerance(-1.0, 10, inf, 10, Sigmoid::Linear, 0), 0.0);
  EXPECT_EQ(tolerance(12.0, 10, inf, 10, Sigmoid::Linear, 0), 1.0);
  // The quadruped's move reward: tolerance(v, (0.5, inf), 0.5, linear, 0.5) = 0.5 + v for v in (-0.5, 0.5).
  EXPECT_NEAR(tolerance(0.2, 0.5, inf, 0.5, Sigmoid::Linear, 0.5), 0.7, 1e-12);
  EXPECT_NEAR(tolerance(-0.3, 0.5, inf, 0.5, Sigmoid::Linear, 0.5), 0.2, 1e-12);
}

// ----- commands -----
TEST(Commands, CollectWritesDreamerAlignedEpisodes) {
  std::string dir = ::testing::TempDir() + "/collect_push";
  ASSERT_EQ(0, run_command("collect", {"--task", "push", "--policy", "scripted", "--episodes", "2", "--size", "16",
                                       "--out", dir, "--seed", "3"}));
  std::vector<Episode> eps = load_episode_dir(dir);
  ASSERT_EQ(eps.size(), 2u);
  for (const Episode& e : eps) {
    EXPECT_EQ(e.T, 151);  // 150 steps + the reset observation
    EXPECT_EQ(e.H, 16);
    EXPECT_EQ(e.A, 4);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(e.action[i], 0.0f);
    EXPECT_EQ(e.reward[0], 0.0f);
    for (int t = 1; t < e.T; ++t) EXPECT_EQ(e.reward[t], e.success[t] ? 1.0f : 0.0f) << t;
    EXPECT_TRUE(e.success.back());  // the scripted expert solves push
  }
  EXPECT_NE(eps[0].image, eps[1].image);
  // Same seed, same files.
  std::string dir2 = ::testing::TempDir() + "/collect_push2";
  ASSERT_EQ(0, run_command("collect", {"--task", "push", "--policy", "scripted", "--episodes", "2", "--size", "16",
                                       "--out", dir2, "--seed", "3"}));
  EXPECT_EQ(load_episode_dir(dir2)[1].image, eps[1].image);
  EXPECT_THROW(run_command("collect", {"--task", "push", "--policy", "clever", "--out", dir}), Error);
  EXPECT_THROW(run_command("collect", {"--task", "push", "--out", dir, "--episods", "3"}), Error);
}

TEST(Commands, RenderWritesAContactSheet) {
  std::string png = ::testing::TempDir() + "/sheet.png";
  std::remove(png.c_str());
  ASSERT_EQ(0, run_command("render", {"--task", "lottery", "--policy", "random", "--size", "16", "--out", png}));
  std::ifstream f(png, std::ios::binary);
  char sig[4] = {0};
  f.read(sig, 4);
  EXPECT_EQ(std::string(sig + 1, 3), "PNG");
}
