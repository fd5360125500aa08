// drawer: push the drawer shut (joint 0 .. 0.16 toward -y, starts open by
// U(0, 0.15)); success when the handle is within 0.03 of closed. Object a: the
// handle; goal: its closed position. The fork's start: the hand (origin, 0.04
// above the fingertips) at the handle's x and y, height 0.15, plus U((-0.15, -0.15, 0),
// (0.15, 0.15, 0.3)), clipped to the hand bounds.
// drawer_dense (the fork's): -|handle - tcp| + shaped(opening, opening at the start) once
// the fingertips are within 0.05 of the handle.
#include "env/tabletop.h"

namespace latco {

class DrawerEnv : public TabletopEnv {
 public:
  static constexpr double kThreshold = 0.03, kOpenMax = 0.15, kHandHeight = 0.15;
  static constexpr double kJitterLow[3] = {-0.15, -0.15, 0.0}, kJitterHigh[3] = {0.15, 0.15, 0.3};
  explicit DrawerEnv(const EnvSettings& s, bool dense = false)
      : TabletopEnv(dense ? "drawer_dense" : "drawer", s, 1, 150, "drawer.xml", dense) {}
  bool success() const override { return joint("drawer") <= kThreshold; }
  double dense_reward() override {
    const double reach = dist3(obj_a(), tcp());
    return -reach + (reach < 0.05 ? shaped(joint("drawer"), max_open_) : 0.0);
  }

 protected:
  Vec3 obj_a() const override { return site_pos("handle"); }
  Vec3 goal() const override { return {0, 0.855 - 0.11, 0.085}; }
  void reset_task(Rng& rng) override {
    d_->qpos[m_->jnt_qposadr[id(mjOBJ_JOINT, "drawer")]] = rng.uniform_double() * kOpenMax;
    forward();
    Vec3 h = site_pos("handle");
    Vec3 off = uniform(rng, {kJitterLow[0], kJitterLow[1], kJitterLow[2]}, {kJitterHigh[0], kJitterHigh[1], kJitterHigh[2]});
    set_hand({h[0] + off[0], h[1] + off[1], kHandHeight + off[2] - kTcpBelowHand});
  }
  void dense_begin() override { max_open_ = joint("drawer"); }

 private:
  double max_open_ = 0;
};

struct DrawerDenseEnv : DrawerEnv {
  explicit DrawerDenseEnv(const EnvSettings& s) : DrawerEnv(s, true) {}
};

constexpr double DrawerEnv::kJitterLow[3];
constexpr double DrawerEnv::kJitterHigh[3];

std::unique_ptr<Env> new_task_drawer(const EnvSettings& s) { return std::make_unique<DrawerEnv>(s); }
std::unique_ptr<Env> new_task_drawer_dense(const EnvSettings& s) { return std::make_unique<DrawerDenseEnv>(s); }

}  // namespace latco
