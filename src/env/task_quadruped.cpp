// quadruped_walk (dm_control-like): reward upright * move with upright =
// (1 + z_torso . z_world) / 2 and move = tolerance(v, (0.5, inf), margin 0.5,
// linear, 0.5) = clip(0.5 + v, 0, 1), v the torso's forward velocity in its own
// frame. Control every 0.02 s (4 substeps of 0.005), action repeat 2, 1000
// control steps. Reset: random orientation, lowered until a contact appears.
// State: [qpos (7 + 16), qvel (6 + 16)].
#include <limits>

#include "env/env.h"
#include "env/rewards.h"

namespace latco {

class QuadrupedEnv : public Env {
 public:
  static constexpr double kWalkSpeed = 0.5;
  explicit QuadrupedEnv(const EnvSettings& s) : Env("quadruped_walk", "quadruped_walk.xml", s, 12, 2, 500) {
    torso_ = id(mjOBJ_BODY, "torso");
  }
  bool success() const override { return false; }  // reward-only task
  std::vector<double> state() const override {
    std::vector<double> s(d_->qpos, d_->qpos + m_->nq);
    s.insert(s.end(), d_->qvel, d_->qvel + m_->nv);
    return s;
  }
  double upright() const { return d_->xmat[9 * torso_ + 8]; }  // z_torso . z_world
  double forward_speed() const {
    mjtNum v[6];
    mj_objectVelocity(m_, d_, mjOBJ_BODY, torso_, v, 1);  // local frame: [angular, linear]
    return v[3];
  }

 protected:
  int substeps() const override { return 4; }
  float reward_unit() override {
    double up = (1 + upright()) / 2;
    double move = tolerance(forward_speed(), kWalkSpeed, std::numeric_limits<double>::infinity(), kWalkSpeed,
                            Sigmoid::Linear, 0.5);
    return static_cast<float>(up * move);
  }
  void begin_action(const float* a) override {
    for (int i = 0; i < 12; ++i) d_->ctrl[i] = a[i];
  }
  void reset_task(Rng& rng) override {
    // Uniform random orientation: a normalised 4-D Gaussian.
    double q[4], n = 0;
    for (double& x : q) { x = rng.normal(); n += x * x; }
    n = std::sqrt(n);
    for (int i = 0; i < 4; ++i) d_->qpos[3 + i] = q[i] / n;
    d_->qpos[0] = d_->qpos[1] = 0;
    // Lower from 1.2 m in 1 cm steps until something touches the floor.
    for (double z = 1.2; z > 0; z -= 0.01) {
      d_->qpos[2] = z;
      mj_forward(m_, d_);
      if (d_->ncon > 0) break;
    }
  }

 private:
  int torso_ = -1;
};

std::unique_ptr<Env> new_task_quadruped_walk(const EnvSettings& s) { return std::make_unique<QuadrupedEnv>(s); }

}  // namespace latco
