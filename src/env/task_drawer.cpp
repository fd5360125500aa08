// drawer: push the drawer shut (joint 0 .. 0.16 toward -y, starts open by
// U(0, 0.15)); success when the handle is within 0.03 of closed. Object a: the
// handle; goal: its closed position. Hand starts 0.1 above the handle, jittered.
#include "env/tabletop.h"

namespace latco {

class DrawerEnv : public TabletopEnv {
 public:
  static constexpr double kThreshold = 0.03;
  explicit DrawerEnv(const EnvSettings& s) : TabletopEnv("drawer", s) {}
  bool success() const override { return joint("drawer") <= kThreshold; }

 protected:
  Vec3 obj_a() const override { return site_pos("handle"); }
  Vec3 goal() const override { return {0, 0.855 - 0.11, 0.085}; }
  void reset_task(Rng& rng) override {
    d_->qpos[m_->jnt_qposadr[id(mjOBJ_JOINT, "drawer")]] = rng.uniform_double() * 0.15;
    forward();
    Vec3 h = site_pos("handle");
    Vec3 off = uniform(rng, {-0.05, -0.05, 0.08}, {0.05, 0.02, 0.12});
    set_hand({h[0] + off[0], h[1] + off[1], h[2] + off[2]});
  }
};

LATCO_ENV(drawer, DrawerEnv);

}  // namespace latco
