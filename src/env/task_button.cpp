// button: press the button (slide 0 .. 0.06 in +y, spring back to 0) until the
// remaining travel is at most 0.03. Object a: the button's front face; goal:
// where that face is when fully pressed. The fork's narrow hand bounds: the hand
// starts uniform in (-0.2, 0.4, 0.05)-(0.2, 0.8, 0.3) and stays within x +-0.2,
// z 0.05..0.3 all episode; in y it may go to 1.0, since our button's face sits at
// y 0.85..0.91 where the fork's is nearer (a y bound of 0.8 would leave it unreachable).
// button_dense (the fork's): -|face - left fingertip| + shaped(remaining travel, full
// travel) once that fingertip is within 0.05 of the face (the fork measures from the left finger).
#include "env/tabletop.h"

namespace latco {

class ButtonEnv : public TabletopEnv {
 public:
  static constexpr double kTravel = 0.06, kThreshold = 0.03;
  static constexpr double kStartLow[3] = {-0.2, 0.4, 0.05}, kStartHigh[3] = {0.2, 0.8, 0.3};
  explicit ButtonEnv(const EnvSettings& s, bool dense = false)
      : TabletopEnv(dense ? "button_dense" : "button", s, 1, 150, "button.xml", dense) {
    set_hand_bounds({kStartLow[0], kStartLow[1], kStartLow[2]}, {kStartHigh[0], kHandHigh[1], kStartHigh[2]});
  }
  bool success() const override { return kTravel - joint("button") <= kThreshold; }
  double dense_reward() override {
    const double reach = dist3(obj_a(), site_pos("tip_l")), press = kTravel - joint("button");
    return -reach + (reach < 0.05 ? shaped(press, kTravel) : 0.0);
  }

 protected:
  Vec3 obj_a() const override { return site_pos("button_tip"); }
  Vec3 goal() const override { return {0, 0.85 + kTravel, 0.115}; }
  void reset_task(Rng& rng) override {
    Vec3 h = uniform(rng, {kStartLow[0], kStartLow[1], kStartLow[2]}, {kStartHigh[0], kStartHigh[1], kStartHigh[2]});
    set_hand({h[0], h[1], h[2] - kTcpBelowHand});
  }
};

constexpr double ButtonEnv::kStartLow[3];
constexpr double ButtonEnv::kStartHigh[3];

struct ButtonDenseEnv : ButtonEnv {
  explicit ButtonDenseEnv(const EnvSettings& s) : ButtonEnv(s, true) {}
};

std::unique_ptr<Env> new_task_button(const EnvSettings& s) { return std::make_unique<ButtonEnv>(s); }
std::unique_ptr<Env> new_task_button_dense(const EnvSettings& s) { return std::make_unique<ButtonDenseEnv>(s); }

}  // namespace latco
