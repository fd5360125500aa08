// The lottery LatentModel: closed-form mean, std, reward and their derivatives.
#include "model/lottery_model.h"

#include <cmath>

namespace latco {

namespace {
// exp(-|p - g|^2 / (2 s^2)) and its gradient in p.
inline float bump(float px, float py, float gx, float gy, float s, float* dx, float* dy) {
  const float ex = px - gx, ey = py - gy, s2 = s * s;
  const float b = std::exp(-(ex * ex + ey * ey) / (2 * s2));
  if (dx) *dx = -b * ex / s2;
  if (dy) *dy = -b * ey / s2;
  return b;
}
}  // namespace

void LotteryModel::start(float* z0) const {
  z0[0] = s_.start_x;
  z0[1] = s_.start_y;
  z0[2] = 0.0f;
}

int LotteryModel::goal_at(float px, float py) const {
  const float r2 = 4 * s_.goal_sigma * s_.goal_sigma;
  auto d2 = [&](float gx, float gy) { return (px - gx) * (px - gx) + (py - gy) * (py - gy); };
  if (d2(s_.safe_x, s_.safe_y) < r2) return 1;
  if (d2(s_.lottery_x, s_.lottery_y) < r2) return -1;
  return 0;
}

void LotteryModel::predict(int N, const float* z, const float* a, float* zn) const {
  for (int n = 0; n < N; ++n) {
    zn[3 * n + 0] = z[3 * n + 0] + s_.dt * a[2 * n + 0];
    zn[3 * n + 1] = z[3 * n + 1] + s_.dt * a[2 * n + 1];
    zn[3 * n + 2] = z[3 * n + 2];
  }
}

void LotteryModel::predict_jacobians(int N, const float* z, const float* a, float* mu, float* dz,
                                     float* da) const {
  if (mu) predict(N, z, a, mu);
  for (int n = 0; n < N; ++n) {
    if (dz)
      for (int i = 0; i < 9; ++i) dz[9 * n + i] = (i % 4 == 0) ? 1.0f : 0.0f;
    if (da) {
      float* d = da + 6 * n;  // (3 x 2)
      d[0] = s_.dt, d[1] = 0, d[2] = 0, d[3] = s_.dt, d[4] = 0, d[5] = 0;
    }
  }
}

void LotteryModel::predict_std(int N, const float* z, const float* a, float* sd, float* dz, float* da) const {
  for (int n = 0; n < N; ++n) {
    float gx, gy;
    const float b = bump(z[3 * n], z[3 * n + 1], s_.lottery_x, s_.lottery_y, s_.noise_sigma, &gx, &gy);
    if (sd) sd[3 * n] = 0, sd[3 * n + 1] = 0, sd[3 * n + 2] = s_.payout_std * b;
    if (dz) {
      float* d = dz + 9 * n;
      for (int i = 0; i < 9; ++i) d[i] = 0;
      d[6] = s_.payout_std * gx;
      d[7] = s_.payout_std * gy;
    }
    if (da)
      for (int i = 0; i < 6; ++i) da[6 * n + i] = 0;
  }
}

void LotteryModel::reward(int N, const float* z, float* r) const {
  for (int n = 0; n < N; ++n) {
    const float* x = z + 3 * n;
    const float bs = bump(x[0], x[1], s_.safe_x, s_.safe_y, s_.goal_sigma, nullptr, nullptr);
    const float bl = bump(x[0], x[1], s_.lottery_x, s_.lottery_y, s_.goal_sigma, nullptr, nullptr);
    r[n] = bs + bl * (60.0f * std::exp(-0.5f * x[2] * x[2]) - 40.0f);
  }
}

void LotteryModel::reward_gradient(int N, const float* z, float* r, float* dr) const {
  for (int n = 0; n < N; ++n) {
    const float* x = z + 3 * n;
    float sx, sy, lx, ly;
    const float bs = bump(x[0], x[1], s_.safe_x, s_.safe_y, s_.goal_sigma, &sx, &sy);
    const float bl = bump(x[0], x[1], s_.lottery_x, s_.lottery_y, s_.goal_sigma, &lx, &ly);
    const float e = std::exp(-0.5f * x[2] * x[2]), pay = 60.0f * e - 40.0f;
    if (r) r[n] = bs + bl * pay;
    dr[3 * n + 0] = sx + lx * pay;
    dr[3 * n + 1] = sy + ly * pay;
    dr[3 * n + 2] = bl * 60.0f * e * (-x[2]);
  }
}

}  // namespace latco
