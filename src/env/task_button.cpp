// button: press the button (slide 0 .. 0.06 in +y, spring back to 0) until the
// remaining travel is at most 0.03. Object a: the button's front face; goal:
// where that face is when fully pressed. Hand starts U((-0.2, 0.4, 0.05)-(0.2, 0.8, 0.3)).
#include "env/tabletop.h"

namespace latco {

class ButtonEnv : public TabletopEnv {
 public:
  static constexpr double kTravel = 0.06, kThreshold = 0.03;
  explicit ButtonEnv(const EnvSettings& s) : TabletopEnv("button", s) {}
  bool success() const override { return kTravel - joint("button") <= kThreshold; }

 protected:
  Vec3 obj_a() const override { return site_pos("button_tip"); }
  Vec3 goal() const override { return {0, 0.85 + kTravel, 0.115}; }
  void reset_task(Rng& rng) override {
    Vec3 h = uniform(rng, {-0.2, 0.4, 0.05}, {0.2, 0.8, 0.3});
    set_hand({h[0], h[1], h[2] - kTcpBelowHand});
  }
};

LATCO_ENV(button, ButtonEnv);

}  // namespace latco
