// window: slide the sash shut (joint 0 .. 0.2 in +x, starts U(0, 0.2)); success
// when the handle is within 0.05 of its closed position. Object a: the handle;
// goal: the handle's closed position. Hand starts at handle + U(+-0.15, -0.3..0, +-0.15)
// (the fork's range around the handle).
// window_dense (Meta-World's): -|handle - tcp| + shaped(remaining travel, 0.2) once the
// fingertips are within 0.05 of the handle.
#include "env/tabletop.h"

namespace latco {

class WindowEnv : public TabletopEnv {
 public:
  static constexpr double kThreshold = 0.05;
  static constexpr double kJitterLow[3] = {-0.15, -0.3, -0.15}, kJitterHigh[3] = {0.15, 0.0, 0.15};
  static constexpr double kTravel = 0.2;
  explicit WindowEnv(const EnvSettings& s, bool dense = false)
      : TabletopEnv(dense ? "window_dense" : "window", s, 1, 150, "window.xml", dense) {}
  bool success() const override { return joint("window") <= kThreshold; }
  double dense_reward() override {
    const double reach = dist3(obj_a(), tcp());
    return -reach + (reach < 0.05 ? shaped(joint("window"), kTravel) : 0.0);
  }

 protected:
  Vec3 obj_a() const override { return site_pos("handle"); }
  Vec3 goal() const override { return {-0.095 + 0.07, 0.8, 0.15}; }
  void reset_task(Rng& rng) override {
    d_->qpos[m_->jnt_qposadr[id(mjOBJ_JOINT, "window")]] = rng.uniform_double() * 0.2;
    forward();
    Vec3 h = site_pos("handle");
    Vec3 off = uniform(rng, {kJitterLow[0], kJitterLow[1], kJitterLow[2]}, {kJitterHigh[0], kJitterHigh[1], kJitterHigh[2]});
    set_hand({h[0] + off[0], h[1] + off[1], h[2] + off[2]});
  }
};

constexpr double WindowEnv::kJitterLow[3];
constexpr double WindowEnv::kJitterHigh[3];

struct WindowDenseEnv : WindowEnv {
  explicit WindowDenseEnv(const EnvSettings& s) : WindowEnv(s, true) {}
};

std::unique_ptr<Env> new_task_window(const EnvSettings& s) { return std::make_unique<WindowEnv>(s); }
std::unique_ptr<Env> new_task_window_dense(const EnvSettings& s) { return std::make_unique<WindowDenseEnv>(s); }

}  // namespace latco
