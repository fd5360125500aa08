// Tabletop tasks (Meta-World V2 as LatCo ran it): a mocap-driven two-finger
// gripper over a table, 4-D actions, frame skip 5, sparse reward = success.
// Each task also registers `<task>_dense` (paper Figure 10): the same scene and
// success test with the Meta-World fork's shaped reward (dense_reward()), summed
// over the action repeat as the released wrapper sums it.
// Each task is one MJCF file including tabletop_common.xml and one small .cpp
// deriving from TabletopEnv. Not modelled: the Sawyer arm and its joint limits.
#pragma once
#include <array>

#include "env/env.h"

namespace latco {

// State layout shared by every tabletop task (13 numbers):
//   [0..2] tcp (fingertip midpoint), [3] grip (mean finger closure, 0 open .. 0.034 shut),
//   [4..6] object a, [7..9] object b, [10..12] goal; what a and b are is task-specific.
enum TabletopState { kTcp = 0, kGrip = 3, kObjA = 4, kObjB = 7, kGoal = 10, kTabletopStateDim = 13 };

using Vec3 = std::array<double, 3>;

class TabletopEnv : public Env {
 public:
  static constexpr double kHandLow[3] = {-0.5, 0.4, 0.05};  // Meta-World's hand bounds (most tasks)
  static constexpr double kHandHigh[3] = {0.5, 1.0, 0.5};
  static constexpr double kTcpBelowHand = 0.04;  // tcp = hand origin - (0, 0, 0.04)
  static constexpr double kStepScale = 0.01;     // action xyz * 0.01 is added to the mocap target

  std::vector<double> state() const override;
  bool dense() const { return dense_; }
  // The reward a step would pay in the current state (tests; dense variants may update their state).
  float reward_now() { return reward_unit(); }
  Vec3 tcp() const;               // midpoint of the two fingertip sites
  void set_hand(const Vec3& tcp);  // teleports hand + mocap target so that tcp lands there
  // The task's hand bounds: the mocap target (hand origin) is clipped to them, at reset and every step.
  const Vec3& hand_low() const { return hand_low_; }
  const Vec3& hand_high() const { return hand_high_; }
  Vec3 body_pos(const std::string& body) const;
  Vec3 site_pos(const std::string& site) const;

 protected:
  // name: the task's name in env/tasks.cpp; scene: the MJCF file (a dense variant shares its task's scene).
  TabletopEnv(const std::string& name, const EnvSettings& s, int repeat = 1, int limit = 150,
              const std::string& scene = "", bool dense = false);
  int substeps() const override { return 5; }
  void begin_action(const float* a) override;
  void before_substep(const float* a, int k, int nsub) override;
  float reward_unit() override { return dense_ ? static_cast<float>(dense_reward()) : (success() ? 1.0f : 0.0f); }
  bool sum_rewards() const override { return dense_; }
  void after_reset() override {
    tcp0_ = tcp();
    grip_cmd_ = 0;
    dense_begin();
  }
  // The shaped reward of the current state (dense variants; may update per-episode state). A task
  // without one pays its sparse reward.
  virtual double dense_reward() { return success() ? 1.0 : 0.0; }
  // Per-episode constants of the shaped reward, once the start state is set.
  virtual void dense_begin() {}
  // Meta-World's shaping term: 1000 (d_max - d) + 1000 (exp(-d^2 / 0.01) + exp(-d^2 / 0.001)), floored at 0.
  static double shaped(double d, double d_max);
  Vec3 tcp0_{};           // the fingertips at the start (Meta-World's init_fingerCOM)
  float grip_cmd_ = 0;    // the last gripper command (the reach terms reward closing near the object)
  // Task parts of the state: object a, object b, goal.
  virtual Vec3 obj_a() const = 0;
  virtual Vec3 obj_b() const { return {0, 0, 0}; }
  virtual Vec3 goal() const = 0;
  // Sets the free joint of `body` (position, identity orientation, zero velocity).
  void place_free(const std::string& joint, const Vec3& p);
  // Sets slide joints <prefix>_x, _y, _z (world coordinates for a body at the origin) and zero velocity.
  void place_slides(const std::string& prefix, const Vec3& p);
  Vec3 uniform(Rng& rng, const Vec3& lo, const Vec3& hi) const;
  void set_hand_bounds(const Vec3& lo, const Vec3& hi) { hand_low_ = lo, hand_high_ = hi; }

 private:
  Vec3 target_{}, prev_target_{};
  Vec3 hand_low_{kHandLow[0], kHandLow[1], kHandLow[2]}, hand_high_{kHandHigh[0], kHandHigh[1], kHandHigh[2]};
  bool dense_ = false;
  int mocap_ = -1, hand_qpos_ = -1, hand_dof_ = -1, tip_l_ = -1, tip_r_ = -1;
};

double dist3(const Vec3& a, const Vec3& b);
double dist2(const Vec3& a, const Vec3& b);  // xy only

}  // namespace latco
