// No-second-order LatCo: Adam on the Lagrangian's latents and actions, gradient
// from one batched Jacobian call per step (vector-Jacobian products with it).
#include "plan/collocation/latco_first_order.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/rng.h"
#include "core/timer.h"

namespace latco {

void LatcoFirstOrderSettings::load(const Config& cfg) {
  cfg.apply(*this);
  if (objective == "reward") reward_objective = true;
  else if (objective == "softplus2") reward_objective = false;
  else LATCO_FAIL((cfg.has("fo_objective") ? cfg.where("fo_objective") : std::string("fo_objective"))
                  << ": expected 'reward' or 'softplus2', got '" << objective << "'");
}

LatcoFirstOrder::LatcoFirstOrder(const LatentModel& model, int horizon, const LatcoFirstOrderSettings& s)
    : m_(model), H_(horizon), Z_(model.latent_dim()), A_(model.action_dim()), C_(state_residual_dim(model)), s_(s) {
  const size_t nx = static_cast<size_t>(H_) * (Z_ + A_);
  x_.resize(nx);
  g_.resize(nx);
  zfull_.resize(static_cast<size_t>(H_ + 1) * Z_);
  mu_.resize(static_cast<size_t>(H_) * Z_);
  fz_.resize(static_cast<size_t>(H_) * Z_ * Z_);
  fa_.resize(static_cast<size_t>(H_) * Z_ * A_);
  c_.resize(H_ * C_);
  dc_.resize(static_cast<size_t>(H_) * C_ * Z_);
  r_s_.resize(H_);
  dr_s_.resize(H_ * Z_);
  lambda_.resize(H_);
  nu_.resize(H_);
  dyn_.resize(H_);
  act_.resize(H_);
  lin_.resize(H_, Z_, A_);
  adam_.resize(static_cast<int>(nx));
  adam_.lr = s_.lr;
  res_.actions = Tensor({H_, A_});
  res_.latents = Tensor({H_ + 1, Z_});
  res_.iters.reserve(s_.iterations);
}

double LatcoFirstOrder::lagrangian(const float* z0, const float* x, const double* lambda, const double* nu,
                                   float* grad, double* dyn, double* act) {
  const int HZ = H_ * Z_;
  const float am = m_.action_max();
  const double w = m_.action_cost();
  const float* a = x + HZ;  // (H, A)
  std::copy(z0, z0 + Z_, zfull_.begin());
  std::copy(x, x + HZ, zfull_.begin() + Z_);

  // ----- model values and derivatives: one batched call each over the H steps -----
  Timer td;
  const bool rew = s_.reward_objective;
  if (grad) {
    m_.predict_jacobians(H_, zfull_.data(), a, mu_.data(), fz_.data(), fa_.data());
    if (rew) m_.reward_gradient(H_, zfull_.data() + Z_, r_s_.data(), dr_s_.data());
    else state_residuals(m_, H_, zfull_.data() + Z_, c_.data(), dc_.data(), r_s_.data(), dr_s_.data());
  } else {
    m_.predict(H_, zfull_.data(), a, mu_.data());
    if (rew) m_.reward(H_, zfull_.data() + Z_, r_s_.data());
    else state_residuals(m_, H_, zfull_.data() + Z_, c_.data(), nullptr, r_s_.data(), dr_s_.data());
  }
  if (timing_) timing_->derivatives += td.seconds();

  // ----- Eq. (8) as squared residuals: value and gradient (gradients accumulate with +=) -----
  if (grad) std::fill(grad, grad + static_cast<size_t>(H_) * (Z_ + A_), 0.0f);
  double L = 0;
  for (int t = 0; t < H_; ++t) {
    const float* zt1 = zfull_.data() + (t + 1) * Z_;  // z_{t+1}
    const float* mut = mu_.data() + t * Z_;
    const float* at = a + t * A_;
    // e_t = z_{t+1} - mu(z_t, a_t): d/dz_{t+1} = 2 lambda e,  d/dz_t = -2 lambda fz^T e,  d/da_t = -2 lambda fa^T e
    double e2 = 0;
    for (int i = 0; i < Z_; ++i) {
      const double e = double(zt1[i]) - mut[i];
      e2 += e * e;
      if (!grad) continue;
      const double ge = 2.0 * s_.dyn_scale * lambda[t] * e;
      grad[t * Z_ + i] += static_cast<float>(ge);
      if (t > 0) {  // z_t = x block t-1
        const float* row = fz_.data() + (static_cast<size_t>(t) * Z_ + i) * Z_;
        for (int j = 0; j < Z_; ++j) grad[(t - 1) * Z_ + j] -= static_cast<float>(ge * row[j]);
      }
      const float* arow = fa_.data() + (static_cast<size_t>(t) * Z_ + i) * A_;
      for (int j = 0; j < A_; ++j) grad[HZ + t * A_ + j] -= static_cast<float>(ge * arow[j]);
    }
    // state cost -r(z_{t+1}) (d/dz_{t+1} = -dr) or |c(z_{t+1})|^2 (d/dz_{t+1} = 2 dc^T c)
    double c2 = 0;
    if (rew) {
      c2 = -double(r_s_[t]);
      if (grad)
        for (int j = 0; j < Z_; ++j) grad[t * Z_ + j] -= dr_s_[t * Z_ + j];
    }
    for (int q = 0; q < C_ && !rew; ++q) {
      const double cq = c_[t * C_ + q];
      c2 += cq * cq;
      if (!grad) continue;
      const float* row = dc_.data() + (static_cast<size_t>(t) * C_ + q) * Z_;
      for (int j = 0; j < Z_; ++j) grad[t * Z_ + j] += static_cast<float>(2.0 * cq * row[j]);
    }
    // action cost w |a|^2 and bound nu max(0, |a| - a_m)^2
    double a2 = 0, v = 0;
    for (int j = 0; j < A_; ++j) {
      const double aj = at[j], over = std::max(0.0, std::fabs(aj) - am);
      a2 += aj * aj;
      v += over * over;
      if (grad) grad[HZ + t * A_ + j] += static_cast<float>(2.0 * w * aj + 2.0 * nu[t] * over * (aj > 0 ? 1 : -1));
    }
    L += c2 + w * a2 + s_.dyn_scale * lambda[t] * e2 + nu[t] * v;
    if (dyn) dyn[t] = e2;
    if (act) act[t] = v;
  }
  return L;
}

const PlanResult& LatcoFirstOrder::plan(const float* z0, uint64_t seed) {
  Timer total;
  const int HZ = H_ * Z_, HA = H_ * A_;
  res_.iters.clear();
  res_.timing = {};
  timing_ = &res_.timing;
  // Released-code initialisation: every planned z and a from N(0, 1); z_0 is given.
  Rng rng = Rng(seed).derive(0);
  for (auto& v : x_) v = s_.init_std * rng.normal();
  std::fill(lambda_.begin(), lambda_.end(), s_.lambda_init);
  std::fill(nu_.begin(), nu_.end(), s_.nu_init);
  adam_.reset();

  for (int it = 0; it < s_.iterations; ++it) {
    // ----- gradient of the Lagrangian, Adam step on latents and actions -----
    lagrangian(z0, x_.data(), lambda_.data(), nu_.data(), g_.data(), dyn_.data(), act_.data());
    IterStats st;
    st.iter = it;
    for (int t = 0; t < H_; ++t) {
      st.reward += r_s_[t];  // valid for the softplus residual; recomputed below otherwise
      st.dyn_violation += dyn_[t];
      st.act_violation += act_[t];
      st.mean_lambda += lambda_[t] / H_;
    }
    if (!s_.reward_objective && m_.cost_residual_dim() > 0) {
      m_.reward(H_, zfull_.data() + Z_, r_s_.data());
      st.reward = 0;
      for (int t = 0; t < H_; ++t) st.reward += r_s_[t];
    }
    st.seconds = total.seconds();
    res_.iters.push_back(st);
    Timer ts;
    adam_.step(x_.data(), g_.data());
    res_.timing.solve += ts.seconds();

    // ----- multipliers: Section 4's naive rule lambda += lr (|z_{t+1} - mu|^2 - eps), not Eq. (10) -----
    if ((it + 1) % s_.dual_every == 0)
      for (int t = 0; t < H_; ++t) {
        lambda_[t] = std::max(0.0, lambda_[t] + s_.dual_lr * (dyn_[t] - s_.eps_dyn));
        nu_[t] = std::max(0.0, nu_[t] + s_.dual_lr * (act_[t] - s_.eps_act));
      }
  }
  timing_ = nullptr;

  // ----- result: clipped actions, planned latents, the actions' return through the model -----
  std::copy(x_.begin() + HZ, x_.end(), lin_.a.begin());
  clip_actions(HA, m_.action_max(), lin_.a.data());
  std::copy(lin_.a.begin(), lin_.a.end(), res_.actions.data());
  std::copy(z0, z0 + Z_, res_.latents.data());
  std::copy(x_.begin(), x_.begin() + HZ, res_.latents.data() + Z_);
  Timer tr;
  res_.predicted_return = rollout_forward(m_, z0, lin_.a.data(), &lin_);
  res_.timing.rollouts += tr.seconds();
  res_.timing.total = total.seconds();
  res_.timing.other = res_.timing.total - res_.timing.rollouts - res_.timing.derivatives - res_.timing.solve;
  return res_;
}

std::unique_ptr<Planner> new_latco_no_second_order(const LatentModel& m, int H, const Config& c) {
  LatcoFirstOrderSettings s;
  s.load(c);
  return std::make_unique<LatcoFirstOrder>(m, H, s);
}

}  // namespace latco
