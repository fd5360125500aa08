// push: the puck (object a) must end within 0.07 (xy) of the goal (0.1, 0.8).
// Starts: puck x U(-0.2, 0.4), y U(0.6, 0.9), redrawn while already within 0.15
// of the goal; the hand starts 0.08 above the puck.
#include "env/tabletop.h"

namespace latco {

class PushEnv : public TabletopEnv {
 public:
  static constexpr double kThreshold = 0.07;
  explicit PushEnv(const EnvSettings& s) : TabletopEnv("push", s) {}
  bool success() const override { return dist2(obj_a(), goal()) <= kThreshold; }

 protected:
  Vec3 obj_a() const override { return body_pos("puck"); }
  Vec3 goal() const override { return {0.1, 0.8, 0.02}; }
  void reset_task(Rng& rng) override {
    Vec3 p;
    do p = uniform(rng, {-0.2, 0.6, 0.02}, {0.4, 0.9, 0.02});
    while (dist2(p, goal()) < 0.15);
    place_slides("puck", p);
    set_hand({p[0], p[1], p[2] + 0.08});
  }
};

LATCO_ENV(push, PushEnv);

}  // namespace latco
