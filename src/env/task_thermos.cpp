// thermos (stick push): success when the thermos is within 0.1 of the goal
// (0.4, 0.6) AND the stick within 0.05 of the fingertips AND the stick within
// 0.15 of the thermos. Object a: stick centre; object b: thermos. Fixed starts;
// action repeat 2 (75 decisions).
// thermos_dense (the fork's stick push): reach and pick terms as hammer_dense's (lift 0.04,
// not kept), and while the stick is held, shaped(|stick - contact|) plus, once the stick is
// within 0.05 of the contact point, 1000 (d0 - d) + 2000 (exp(-d^2/0.001) + exp(-d^2/0.0001))
// for the thermos-goal distance d. The contact point, where the stick's centre sits when its
// end touches the thermos from -x, stands in for the fork's insertion site.
#include <algorithm>
#include <cmath>

#include "env/tabletop.h"

namespace latco {

class ThermosEnv : public TabletopEnv {
 public:
  static constexpr double kGoalTol = 0.1, kHoldTol = 0.05, kToolTol = 0.15;
  static constexpr double kLift = 0.04, kContact = 0.11;  // stick half-length + thermos radius
  explicit ThermosEnv(const EnvSettings& s, bool dense = false)
      : TabletopEnv(dense ? "thermos_dense" : "thermos", s, 2, 75, "thermos.xml", dense) {}
  bool success() const override {
    Vec3 stick = obj_a(), thermos = obj_b();
    return dist2(thermos, goal()) <= kGoalTol && dist3(stick, tcp()) <= kHoldTol && dist2(stick, thermos) <= kToolTol;
  }

 protected:
  Vec3 obj_a() const override { return body_pos("stick"); }
  Vec3 obj_b() const override { return body_pos("thermos"); }
  Vec3 goal() const override { return {0.4, 0.6, 0.101}; }
  void reset_task(Rng&) override {
    place_slides("stick", {-0.1, 0.6, 0.02});
    set_hand({0, 0.6, 0.2 - kTcpBelowHand});
  }
  Vec3 contact() const {
    const Vec3 t = obj_b();
    return {t[0] - kContact, t[1], t[2]};
  }
  void dense_begin() override {
    const Vec3 stick = obj_a(), c = contact();
    height0_ = stick[2];
    target_ = height0_ + kLift;
    max_place_ = dist3({c[0], c[1], target_}, stick) + target_;
    max_push_ = dist2(obj_b(), goal());
  }
  double dense_reward() override {
    const Vec3 stick = obj_a();
    const double push = dist2(obj_b(), goal()), place = dist2(stick, contact()), reach = dist3(stick, tcp());
    const double reach_rew = -reach + (reach < 0.05 ? std::max(0.0f, grip_cmd_) / 50.0 : 0.0);
    const bool picked = stick[2] >= target_ - 0.01;
    const bool dropped = stick[2] < height0_ + 0.005 && push > 0.02 && reach > 0.02;
    double pick = 0;
    if (picked && !dropped) pick = 100 * target_;
    else if (reach < 0.1 && stick[2] > height0_ + 0.005) pick = 100 * std::min(target_, stick[2]);
    double move = 0;
    if (picked && reach < 0.1 && !dropped) {
      move = 1000 * (max_place_ - place) + 1000 * (std::exp(-place * place / 0.01) + std::exp(-place * place / 0.001));
      if (place < 0.05)
        move += 1000 * (max_push_ - push) + 2000 * (std::exp(-push * push / 0.001) + std::exp(-push * push / 0.0001));
      move = std::max(move, 0.0);
    }
    return reach_rew + pick + move;
  }

 private:
  double height0_ = 0, target_ = 0, max_place_ = 0, max_push_ = 0;
};

struct ThermosDenseEnv : ThermosEnv {
  explicit ThermosDenseEnv(const EnvSettings& s) : ThermosEnv(s, true) {}
};

std::unique_ptr<Env> new_task_thermos(const EnvSettings& s) { return std::make_unique<ThermosEnv>(s); }
std::unique_ptr<Env> new_task_thermos_dense(const EnvSettings& s) { return std::make_unique<ThermosDenseEnv>(s); }

}  // namespace latco
