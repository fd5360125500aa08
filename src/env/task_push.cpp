// push: the puck (object a) must end within 0.07 (xy) of the goal (0.1, 0.8).
// Starts (the fork's): puck x U(-0.2, 0.4), y U(0.6, 0.9), no rejection (a start
// may already succeed); the hand origin above the puck at height 0.05, the lowest the
// hand bounds allow, so the open fingers straddle the puck.
// push_dense (Meta-World's push reward): -|tcp - puck| + shaped(|puck - goal|_xy, its
// start value) once the fingertips are within 0.05 of the puck.
#include "env/tabletop.h"

namespace latco {

class PushEnv : public TabletopEnv {
 public:
  static constexpr double kThreshold = 0.07, kHandHeight = 0.05;
  static constexpr double kPuckLow[2] = {-0.2, 0.6}, kPuckHigh[2] = {0.4, 0.9};
  explicit PushEnv(const EnvSettings& s, bool dense = false)
      : TabletopEnv(dense ? "push_dense" : "push", s, 1, 150, "push.xml", dense) {}
  bool success() const override { return dist2(obj_a(), goal()) <= kThreshold; }
  double dense_reward() override {
    const double reach = dist3(tcp(), obj_a()), push = dist2(obj_a(), goal());
    return -reach + (reach < 0.05 ? shaped(push, max_push_) : 0.0);
  }

 protected:
  Vec3 obj_a() const override { return body_pos("puck"); }
  Vec3 goal() const override { return {0.1, 0.8, 0.02}; }
  void reset_task(Rng& rng) override {
    Vec3 p = uniform(rng, {kPuckLow[0], kPuckLow[1], 0.02}, {kPuckHigh[0], kPuckHigh[1], 0.02});
    place_slides("puck", p);
    set_hand({p[0], p[1], kHandHeight - kTcpBelowHand});
  }
  void dense_begin() override { max_push_ = dist2(obj_a(), goal()); }

 private:
  double max_push_ = 0;
};

struct PushDenseEnv : PushEnv {
  explicit PushDenseEnv(const EnvSettings& s) : PushEnv(s, true) {}
};

constexpr double PushEnv::kPuckLow[2];
constexpr double PushEnv::kPuckHigh[2];

std::unique_ptr<Env> new_task_push(const EnvSettings& s) { return std::make_unique<PushEnv>(s); }
std::unique_ptr<Env> new_task_push_dense(const EnvSettings& s) { return std::make_unique<PushDenseEnv>(s); }

}  // namespace latco
