// lottery (paper Section 5.5): a 2-D point mass under x/y position servos (the
// action is the target position in [-1, 1]^2; kp 100, timestep 0.01, frame
// skip 5) starts near (-0.5, 0). The safe goal pays +1; the lottery goal pays
// +20 with probability 0.65, else -40 (expected -1), drawn from the episode's
// seeded stream at reset. Paid once, on first arrival; the episode ends there.
// State: [x, y, vx, vy, safe goal xy, lottery goal xy]. Success: arrived at a goal.
#include "env/env.h"

namespace latco {

class LotteryEnv : public Env {
 public:
  static constexpr double kGoalRadius = 0.25, kSafe[2] = {0.5, 0.6}, kLottery[2] = {0.5, -0.6};
  static constexpr float kSafeReward = 1, kWin = 20, kLose = -40;
  static constexpr double kWinProbability = 0.65;
  explicit LotteryEnv(const EnvSettings& s) : Env("lottery", "lottery.xml", s, 2, 1, 50) {}
  bool success() const override { return arrived_ != Goal::None; }
  std::vector<double> state() const override {
    return {d_->qpos[0], d_->qpos[1], d_->qvel[0], d_->qvel[1], kSafe[0], kSafe[1], kLottery[0], kLottery[1]};
  }

 protected:
  enum class Goal { None, Safe, Lottery };
  int substeps() const override { return 5; }
  bool terminal() const override { return arrived_ != Goal::None; }
  void begin_action(const float* a) override {
    d_->ctrl[0] = a[0];
    d_->ctrl[1] = a[1];
  }
  float reward_unit() override {
    if (arrived_ != Goal::None) return 0;
    double x = d_->qpos[0], y = d_->qpos[1];
    if (std::hypot(x - kSafe[0], y - kSafe[1]) <= kGoalRadius) {
      arrived_ = Goal::Safe;
      return kSafeReward;
    }
    if (std::hypot(x - kLottery[0], y - kLottery[1]) <= kGoalRadius) {
      arrived_ = Goal::Lottery;
      return win_ ? kWin : kLose;
    }
    return 0;
  }
  void reset_task(Rng& rng) override {
    arrived_ = Goal::None;
    d_->qpos[0] = -0.5 + rng.uniform(-0.05f, 0.05f);
    d_->qpos[1] = rng.uniform(-0.05f, 0.05f);
    d_->ctrl[0] = d_->qpos[0];
    d_->ctrl[1] = d_->qpos[1];
    win_ = episode_rng_.uniform_double() < kWinProbability;
  }

 private:
  Goal arrived_ = Goal::None;
  bool win_ = false;
};

constexpr double LotteryEnv::kSafe[2];
constexpr double LotteryEnv::kLottery[2];

LATCO_ENV(lottery, LotteryEnv);

}  // namespace latco
