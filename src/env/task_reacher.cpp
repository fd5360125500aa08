// reacher_easy (dm_control): reward 1 when the finger is within 0.06 of the
// target centre (target r 0.05 + finger r 0.01), else 0; action repeat 2, 1000
// physics steps. State: [shoulder, wrist, shoulder vel, wrist vel, finger xy, target xy].
#include "env/env.h"
#include "env/rewards.h"

namespace latco {

class ReacherEnv : public Env {
 public:
  static constexpr double kRadius = 0.06;
  explicit ReacherEnv(const EnvSettings& s) : Env("reacher_easy", "reacher_easy.xml", s, 2, 2, 500) {
    finger_ = id(mjOBJ_BODY, "finger");
    target_ = id(mjOBJ_BODY, "target");
  }
  bool success() const override { return finger_distance() <= kRadius; }
  std::vector<double> state() const override {
    const double* f = d_->xpos + 3 * finger_;
    const double* t = d_->xpos + 3 * target_;
    return {joint("shoulder"), joint("wrist"), d_->qvel[0], d_->qvel[1], f[0], f[1], t[0], t[1]};
  }
  double finger_distance() const {
    const double* f = d_->xpos + 3 * finger_;
    const double* t = d_->xpos + 3 * target_;
    return std::sqrt((f[0] - t[0]) * (f[0] - t[0]) + (f[1] - t[1]) * (f[1] - t[1]));
  }

 protected:
  float reward_unit() override { return static_cast<float>(tolerance(finger_distance(), 0, kRadius)); }
  void begin_action(const float* a) override {
    d_->ctrl[0] = a[0];
    d_->ctrl[1] = a[1];
  }
  void reset_task(Rng& rng) override {
    d_->qpos[m_->jnt_qposadr[id(mjOBJ_JOINT, "shoulder")]] = rng.uniform(-M_PI, M_PI);
    int w = id(mjOBJ_JOINT, "wrist");
    d_->qpos[m_->jnt_qposadr[w]] = rng.uniform(m_->jnt_range[2 * w], m_->jnt_range[2 * w + 1]);
    double angle = rng.uniform(0, 2 * M_PI), radius = rng.uniform(0.05, 0.20);
    d_->qpos[m_->jnt_qposadr[id(mjOBJ_JOINT, "target_x")]] = radius * std::cos(angle);
    d_->qpos[m_->jnt_qposadr[id(mjOBJ_JOINT, "target_y")]] = radius * std::sin(angle);
  }

 private:
  int finger_ = -1, target_ = -1;
};

std::unique_ptr<Env> new_task_reacher_easy(const EnvSettings& s) { return std::make_unique<ReacherEnv>(s); }

}  // namespace latco
