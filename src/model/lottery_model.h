// An analytic stochastic LatentModel of the lottery task (paper Section 5.5): a
// 2-D point mass with a safe goal and a lottery goal. Near the lottery the latent
// "payout" o diffuses, and the lottery pays 60 exp(-o^2/2) - 40: +20 at the mean
// o = 0, but about -1 in expectation once o has spread by one step's noise
// (65/35-like odds), so planning on the mean (certainty equivalence) prefers the
// lottery while planning on the distribution prefers the safe goal (+1).
// Not here: episode termination or one-off payouts (rewards accrue per step).
#pragma once
#include "model/latent_model.h"

namespace latco {

struct LotterySettings {
  float dt = 0.1f;             // p' = p + dt a,  |a| <= 1
  float start_x = -0.5f;       // where plans start (tests, `latco plan`)
  float start_y = 0.0f;
  float safe_x = 0.5f, safe_y = 0.5f;        // safe goal: +1 per step there
  float lottery_x = 0.5f, lottery_y = -0.5f; // lottery goal: 60 exp(-o^2/2) - 40 per step there
  float goal_sigma = 0.15f;    // width of the goal reward bumps exp(-|p - g|^2 / (2 sigma^2))
  float noise_sigma = 0.3f;    // width of the region where the payout diffuses (wider than the bump)
  float payout_std = 1.2f;     // per-step std of o at the lottery centre: E[payout] = 60/sqrt(1+1.44) - 40 = -1.6
};

// z = (px, py, o), a = (ax, ay) in [-1, 1]^2.
//   mu(z, a) = (px + dt ax, py + dt ay, o)
//   std(z, a) = (0, 0, payout_std * exp(-|p - lottery|^2 / (2 noise_sigma^2)))
//   r(z) = bump_safe(p) + bump_lottery(p) * (60 exp(-o^2 / 2) - 40)
class LotteryModel : public LatentModel {
 public:
  explicit LotteryModel(LotterySettings s = {}) : s_(s) {}
  int latent_dim() const override { return 3; }
  int action_dim() const override { return 2; }
  void predict(int N, const float* z, const float* a, float* z_next) const override;
  void reward(int N, const float* z, float* r) const override;
  void predict_jacobians(int N, const float* z, const float* a, float* mu, float* dmu_dz,
                         float* dmu_da) const override;
  void reward_gradient(int N, const float* z, float* r, float* dr_dz) const override;
  bool stochastic() const override { return true; }
  void predict_std(int N, const float* z, const float* a, float* std, float* dstd_dz,
                   float* dstd_da) const override;

  const LotterySettings& settings() const { return s_; }
  // The start latent (start_x, start_y, 0).  z0: (3)
  void start(float* z0) const;
  // Which goal a position is at: +1 safe, -1 lottery, 0 neither (within 2 goal_sigma).
  int goal_at(float px, float py) const;

 private:
  LotterySettings s_;
};

}  // namespace latco
