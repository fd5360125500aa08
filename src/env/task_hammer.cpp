// hammer: success (the fork's) when the nail head is within 0.05 of its goal
// (0.24, 0.74), i.e. driven more than 0.05 of its 0.1 travel, AND the hammer's head
// (its striking face) is within 0.1 of the nail head. Object a: hammer (handle
// centre); object b: nail head. The hammer starts at x U(-0.1, 0.3),
// y U(0.42, 0.56) (TASKS.md: U(0.3, 0.7); ours keeps the handle inside the hand
// bounds, y >= 0.4, and out of the nail block); the hand starts 0.1 behind and 0.16 above it. Action repeat 2.
// hammer_dense (the fork's): reach (-|hammer - tcp|, + max(grip, 0) / 50 within 0.05), pick
// (100 x the lift, the lift target 0.09 above the start, once reached kept until dropped) and
// hammer (shaped(|head - nail| + |nail - goal|_y, its start bound) while held) terms.
#include <algorithm>
#include <cmath>

#include "env/tabletop.h"

namespace latco {

class HammerEnv : public TabletopEnv {
 public:
  static constexpr double kThreshold = 0.05, kHeadTol = 0.1;
  static constexpr double kLift = 0.09;
  explicit HammerEnv(const EnvSettings& s, bool dense = false)
      : TabletopEnv(dense ? "hammer_dense" : "hammer", s, 2, 75, "hammer.xml", dense) {}
  bool success() const override {
    return dist3(obj_b(), goal()) <= kThreshold && dist3(site_pos("head_face"), obj_b()) <= kHeadTol;
  }

 protected:
  Vec3 obj_a() const override { return body_pos("hammer"); }
  Vec3 obj_b() const override { return site_pos("nail_head"); }
  Vec3 goal() const override { return {0.24, 0.74, 0.11}; }
  void reset_task(Rng& rng) override {
    Vec3 h = uniform(rng, {-0.1, 0.42, 0.025}, {0.3, 0.56, 0.025});
    place_slides("hammer", h);
    set_hand({h[0], h[1] - 0.1, h[2] + 0.16});
  }
  void dense_begin() override {
    const Vec3 h = obj_a(), nail = obj_b();
    height0_ = h[2];
    target_ = height0_ + kLift;
    picked_ = false;
    // The fork's bound, term by term: |(h_x, h_y, target) - nail + target + |goal_y - nail_y||.
    const double add = target_ + std::fabs(goal()[1] - nail[1]);
    const Vec3 v = {h[0] - nail[0] + add, h[1] - nail[1] + add, target_ - nail[2] + add};
    max_dist_ = std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
  }
  double dense_reward() override {
    const Vec3 hammer = obj_a(), nail = obj_b();
    const double head = dist3(nail, site_pos("head_face")), screw = std::fabs(nail[1] - goal()[1]);
    const double reach = dist3(hammer, tcp());
    const double reach_rew = -reach + (reach < 0.05 ? std::max(0.0f, grip_cmd_) / 50.0 : 0.0);
    if (hammer[2] >= target_ - 0.01) picked_ = true;
    const bool dropped = hammer[2] < height0_ + 0.005 && head > 0.02 && reach > 0.02;
    double pick = 0;
    if (picked_ && !dropped) pick = 100 * target_;
    else if (reach < 0.1 && hammer[2] > height0_ + 0.005) pick = 100 * std::min(target_, hammer[2]);
    const double drive = picked_ && reach < 0.1 && !dropped ? shaped(head + screw, max_dist_) : 0.0;
    return reach_rew + pick + drive;
  }

 private:
  double height0_ = 0, target_ = 0, max_dist_ = 0;
  bool picked_ = false;
};

struct HammerDenseEnv : HammerEnv {
  explicit HammerDenseEnv(const EnvSettings& s) : HammerEnv(s, true) {}
};

std::unique_ptr<Env> new_task_hammer(const EnvSettings& s) { return std::make_unique<HammerEnv>(s); }
std::unique_ptr<Env> new_task_hammer_dense(const EnvSettings& s) { return std::make_unique<HammerDenseEnv>(s); }

}  // namespace latco
