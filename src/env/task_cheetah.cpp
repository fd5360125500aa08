// cheetah_run (dm_control): reward tolerance(v, (10, inf), margin 10, linear,
// value_at_margin 0) = clip(v / 10, 0, 1), v the torso subtree's forward COM
// velocity; action repeat 2, 1000 physics steps. Reset: joints uniform in their
// ranges, then 200 settling steps. State: [qpos (9), qvel (9)].
#include <limits>

#include "env/env.h"
#include "env/rewards.h"

namespace latco {

class CheetahEnv : public Env {
 public:
  static constexpr double kRunSpeed = 10;
  explicit CheetahEnv(const EnvSettings& s) : Env("cheetah_run", "cheetah_run.xml", s, 6, 2, 500) {
    torso_ = id(mjOBJ_BODY, "torso");
  }
  bool success() const override { return false; }  // no success criterion: a reward-only task
  std::vector<double> state() const override {
    std::vector<double> s(d_->qpos, d_->qpos + m_->nq);
    s.insert(s.end(), d_->qvel, d_->qvel + m_->nv);
    return s;
  }
  double speed() const {
    mj_subtreeVel(m_, d_);
    return d_->subtree_linvel[3 * torso_];
  }

 protected:
  float reward_unit() override {
    return static_cast<float>(
        tolerance(speed(), kRunSpeed, std::numeric_limits<double>::infinity(), kRunSpeed, Sigmoid::Linear, 0));
  }
  void begin_action(const float* a) override {
    for (int i = 0; i < 6; ++i) d_->ctrl[i] = a[i];
  }
  void reset_task(Rng& rng) override {
    for (int j = 0; j < m_->njnt; ++j)
      if (m_->jnt_limited[j]) d_->qpos[m_->jnt_qposadr[j]] = rng.uniform(m_->jnt_range[2 * j], m_->jnt_range[2 * j + 1]);
    for (int k = 0; k < 200; ++k) mj_step(m_, d_);
    d_->time = 0;
  }

 private:
  int torso_ = -1;
};

std::unique_ptr<Env> new_task_cheetah_run(const EnvSettings& s) { return std::make_unique<CheetahEnv>(s); }

}  // namespace latco
