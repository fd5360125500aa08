// lottery (paper Section 5.5): a 2-D point mass under x/y position servos (the
// action is the target position in [-1, 1]^2; kp 100, timestep 0.01, frame
// skip 5) starts near (-0.5, 0). The safe goal pays +1; the lottery goal pays a
// win or a loss drawn from the episode's seeded stream at reset, once, on first
// arrival (within 0.25 of a goal's centre). Two payoff variants:
//   lottery        the released code's (envs/pointmass, the payoffs its wrapper hard-codes):
//                  +2 w.p. 0.8, else -10 (expected -0.4); the episode goes on after
//                  arrival, to 150 steps;
//   lottery_paper  the paper's text: +20 w.p. 0.65, else -40 (expected -1); the
//                  episode ends on arrival (50 steps at most).
// State: [x, y, vx, vy, safe goal xy, lottery goal xy]. Success: arrived at the safe goal, the
// paper's "correct solution" (Section 5.5, Figure 7: only Gaussian LatCo prefers it); the goal
// reached, and at the lottery goal the draw, is outcome(), so a -40 episode is never a success.
#include <cmath>

#include "env/env.h"

namespace latco {

struct LotteryPayoff {
  float win, lose;
  double win_probability;
  bool ends_on_arrival;
  int time_limit;
};

class LotteryEnv : public Env {
 public:
  static constexpr double kGoalRadius = 0.25, kSafe[2] = {0.5, 0.6}, kLottery[2] = {0.5, -0.6};
  static constexpr float kSafeReward = 1;
  static constexpr LotteryPayoff kReleased{2, -10, 0.8, false, 150}, kPaperText{20, -40, 0.65, true, 50};
  LotteryEnv(const std::string& name, const EnvSettings& s, const LotteryPayoff& p)
      : Env(name, "lottery.xml", s, 2, 1, p.time_limit), payoff_(p) {}
  bool success() const override { return arrived_ == Goal::Safe; }
  std::string outcome() const override {
    switch (arrived_) {
      case Goal::Safe: return "safe goal";
      case Goal::Lottery: return win_ ? "lottery goal (won)" : "lottery goal (lost)";
      default: return "no goal";
    }
  }
  std::vector<double> state() const override {
    return {d_->qpos[0], d_->qpos[1], d_->qvel[0], d_->qvel[1], kSafe[0], kSafe[1], kLottery[0], kLottery[1]};
  }

 protected:
  enum class Goal { None, Safe, Lottery };
  int substeps() const override { return 5; }
  bool terminal() const override { return payoff_.ends_on_arrival && arrived_ != Goal::None; }
  void begin_action(const float* a) override {
    d_->ctrl[0] = a[0];
    d_->ctrl[1] = a[1];
  }
  float reward_unit() override {
    if (arrived_ != Goal::None) return 0;
    double x = d_->qpos[0], y = d_->qpos[1];
    if (std::hypot(x - kSafe[0], y - kSafe[1]) < kGoalRadius) {
      arrived_ = Goal::Safe;
      return kSafeReward;
    }
    if (std::hypot(x - kLottery[0], y - kLottery[1]) < kGoalRadius) {
      arrived_ = Goal::Lottery;
      return win_ ? payoff_.win : payoff_.lose;
    }
    return 0;
  }
  void reset_task(Rng& rng) override {
    arrived_ = Goal::None;
    d_->qpos[0] = -0.5 + rng.uniform(-0.05f, 0.05f);
    d_->qpos[1] = rng.uniform(-0.05f, 0.05f);
    d_->ctrl[0] = d_->qpos[0];
    d_->ctrl[1] = d_->qpos[1];
    win_ = episode_rng_.uniform_double() < payoff_.win_probability;
  }

 private:
  LotteryPayoff payoff_;
  Goal arrived_ = Goal::None;
  bool win_ = false;
};

constexpr double LotteryEnv::kSafe[2];
constexpr double LotteryEnv::kLottery[2];
constexpr LotteryPayoff LotteryEnv::kReleased;
constexpr LotteryPayoff LotteryEnv::kPaperText;

struct ReleasedLottery : LotteryEnv {
  explicit ReleasedLottery(const EnvSettings& s) : LotteryEnv("lottery", s, kReleased) {}
};
struct PaperTextLottery : LotteryEnv {
  explicit PaperTextLottery(const EnvSettings& s) : LotteryEnv("lottery_paper", s, kPaperText) {}
};

std::unique_ptr<Env> new_task_lottery(const EnvSettings& s) { return std::make_unique<ReleasedLottery>(s); }
std::unique_ptr<Env> new_task_lottery_paper(const EnvSettings& s) { return std::make_unique<PaperTextLottery>(s); }

}  // namespace latco
