// thermos (stick push): success when the thermos is within 0.1 of the goal
// (0.4, 0.6) AND the stick within 0.05 of the fingertips AND the stick within
// 0.15 of the thermos. Object a: stick centre; object b: thermos. Fixed starts;
// action repeat 2 (75 decisions).
#include "env/tabletop.h"

namespace latco {

class ThermosEnv : public TabletopEnv {
 public:
  static constexpr double kGoalTol = 0.1, kHoldTol = 0.05, kToolTol = 0.15;
  explicit ThermosEnv(const EnvSettings& s) : TabletopEnv("thermos", s, 2, 75) {}
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
};

LATCO_ENV(thermos, ThermosEnv);

}  // namespace latco
