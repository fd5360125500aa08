// Shooting GD: Adam on a_0..a_{H-1} maximising J(a) - sum_t nu_t max(0,|a_t|-a_m)^2,
// gradient of J by backprop through time (plan/rollout.h).
#include "plan/shooting/shooting_gd.h"

#include <cmath>

#include "core/error.h"
#include "core/rng.h"
#include "core/timer.h"
#include "plan/collocation/latco_device.h"  // latent_model_on_device
#include "plan/rollout_device.h"

namespace latco {

ShootingGd::ShootingGd(const LatentModel& model, int horizon, const ShootingGdSettings& s)
    : m_(model), H_(horizon), Z_(model.latent_dim()), A_(model.action_dim()), s_(s) {
  lin_.resize(H_, Z_, A_);
  a_.resize(H_ * A_);
  g_.resize(H_ * A_);
  nu_.resize(H_);
  best_.resize(H_ * A_);
  adam_.resize(H_ * A_);
  adam_.lr = s_.lr;
  res_.actions = Tensor({H_, A_});
  res_.latents = Tensor({H_ + 1, Z_});
  res_.iters.reserve(s_.iterations);
  if (latent_model_on_device(model)) device_bptt_ = std::make_shared<DeviceBackprop>(H_, Z_, A_);
}

const PlanResult& ShootingGd::plan(const float* z0, uint64_t seed) {
  Timer total;
  res_.iters.clear();
  res_.timing = {};
  double best = -1e300;
  for (int k = 0; k < s_.restarts; ++k) {
    const double J = optimise(z0, seed, k, total);
    if (k == 0 || J > best) {
      best = J;
      std::copy(a_.begin(), a_.end(), best_.begin());
    }
  }
  // ----- result: the best plan, clipped, rolled out -----
  std::copy(best_.begin(), best_.end(), res_.actions.data());
  Timer tr;
  res_.predicted_return = rollout_forward(m_, z0, best_.data(), &lin_);
  res_.timing.rollouts += tr.seconds();
  std::copy(lin_.z.begin(), lin_.z.end(), res_.latents.data());
  res_.timing.total = total.seconds();
  res_.timing.other = res_.timing.total - res_.timing.rollouts - res_.timing.derivatives;
  return res_;
}

double ShootingGd::optimise(const float* z0, uint64_t seed, int restart, Timer& total) {
  const int HA = H_ * A_;
  const float am = m_.action_max(), w = m_.action_cost();
  Rng rng = Rng(seed).derive(restart);
  for (int i = 0; i < HA; ++i) a_[i] = s_.init_std * rng.normal();
  clip_actions(HA, am, a_.data());
  std::fill(nu_.begin(), nu_.end(), s_.nu_init);
  adam_.reset();

  for (int it = 0; it < s_.iterations; ++it) {
    // ----- rollout and derivatives -----
    Timer tr;
    rollout_forward(m_, z0, a_.data(), &lin_);
    res_.timing.rollouts += tr.seconds();
    Timer td;
    rollout_jacobians(m_, &lin_);
    if (device_bptt_) device_bptt_->run(lin_, w, g_.data());  // g = dJ/da
    else backprop_return(&lin_, w, g_.data());
    res_.timing.derivatives += td.seconds();

    // ----- loss gradient: -dJ/da + d/da sum_t nu_t max(0, |a| - a_m)^2 -----
    double act_viol = 0;
    for (int t = 0; t < H_; ++t)
      for (int j = 0; j < A_; ++j) {
        const int k = t * A_ + j;
        const double over = std::max(0.0, std::fabs(double(a_[k])) - am);
        act_viol += over * over;
        g_[k] = static_cast<float>(-g_[k] + 2.0 * nu_[t] * over * (a_[k] > 0 ? 1 : -1));
      }

    IterStats st;
    st.iter = it;
    for (int t = 1; t <= H_; ++t) st.reward += lin_.r[t];
    st.act_violation = act_viol;
    for (int t = 0; t < H_; ++t) st.mean_lambda += nu_[t] / H_;
    st.seconds = total.seconds();
    if (restart == 0) res_.iters.push_back(st);  // IterStats of the first restart only

    // ----- Adam step, clip -----
    adam_.step(a_.data(), g_.data());
    if (s_.clip) clip_actions(HA, am, a_.data());

    // ----- dual ascent on the action multipliers every dual_every steps -----
    if ((it + 1) % s_.dual_every == 0)
      for (int t = 0; t < H_; ++t) nu_[t] += s_.dual_lr * static_cast<float>(action_violation(A_, am, &a_[t * A_]));
  }
  clip_actions(HA, am, a_.data());
  Timer tr;
  const double J = rollout_forward(m_, z0, a_.data(), &lin_);
  res_.timing.rollouts += tr.seconds();
  return J;
}

std::unique_ptr<Planner> new_shooting_gd(const LatentModel& m, int H, const Config& c) {
  ShootingGdSettings s;
  c.apply(s);
  return std::make_unique<ShootingGd>(m, H, s);
}

}  // namespace latco
