// hammer: success (the fork's) when the nail head is within 0.05 of its goal
// (0.24, 0.74), i.e. driven more than 0.05 of its 0.1 travel, AND the hammer's head
// (its striking face) is within 0.1 of the nail head. Object a: hammer (handle
// centre); object b: nail head. The hammer starts at x U(-0.1, 0.3),
// y U(0.42, 0.56) (TASKS.md: U(0.3, 0.7); ours keeps the handle inside the hand
// bounds, y >= 0.4, and out of the nail block); the hand starts 0.1 behind and 0.16 above it. Action repeat 2.
#include "env/tabletop.h"

namespace latco {

class HammerEnv : public TabletopEnv {
 public:
  static constexpr double kThreshold = 0.05, kHeadTol = 0.1;
  explicit HammerEnv(const EnvSettings& s) : TabletopEnv("hammer", s, 2, 75) {}
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
};

LATCO_ENV(hammer, HammerEnv);

}  // namespace latco
