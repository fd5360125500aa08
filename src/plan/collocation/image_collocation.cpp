// Image collocation: the Lagrangian on planned images built on the autodiff graph
// (model/rssm.h), one backward sweep per Adam step.
#include "plan/collocation/image_collocation.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

#include "core/error.h"
#include "core/rng.h"
#include "core/timer.h"

namespace latco {

ImageCollocation::ImageCollocation(const Rssm& rssm, int horizon, const ImageCollocationSettings& s, float action_max)
    : rssm_(rssm), view_(rssm.transition(), action_max), H_(horizon), Z_(rssm.latent_dim()), A_(rssm.action_dim()),
      S_(rssm.stoch()), D_(rssm.deter()), P_(3 * rssm.image_size() * rssm.image_size()), s_(s), amax_(action_max) {
  const int size = rssm.image_size();
  images_ = Tensor({H_, 3, size, size});
  actions_ = Tensor({H_, A_});
  gi_.resize(static_cast<size_t>(H_) * P_);
  ga_.resize(H_ * A_);
  lambda_.resize(H_);
  nu_.resize(H_);
  dyn_.resize(H_);
  act_.resize(H_);
  latents_.resize(static_cast<size_t>(H_ + 1) * Z_);
  rewards_.resize(H_);
  adam_i_.resize(H_ * P_);
  adam_a_.resize(H_ * A_);
  adam_i_.lr = adam_a_.lr = s_.lr;
  lin_.resize(H_, Z_, A_);
  res_.actions = Tensor({H_, A_});
  res_.latents = Tensor({H_ + 1, Z_});
  res_.iters.reserve(s_.iterations);
}

double ImageCollocation::loss(const float* z0, const float* images, const float* actions, const double* lambda,
                              const double* nu, float* g_images, float* g_actions, double* dyn, double* act) {
  const bool need_grad = g_images || g_actions;
  std::unique_ptr<ad::NoGradGuard> no_grad;
  if (!need_grad) no_grad = std::make_unique<ad::NoGradGuard>();
  const int size = rssm_.image_size();
  Tensor it({H_, 3, size, size}), at({H_, A_}), zt({1, Z_}), lt({H_}), nt({H_});
  std::memcpy(it.data(), images, sizeof(float) * H_ * P_);
  std::memcpy(at.data(), actions, sizeof(float) * H_ * A_);
  std::memcpy(zt.data(), z0, sizeof(float) * Z_);
  for (int t = 0; t < H_; ++t) lt[t] = static_cast<float>(lambda[t]), nt[t] = static_cast<float>(nu[t]);
  ad::Var I = ad::leaf(it, need_grad), a = ad::leaf(at, need_grad), z0v = ad::constant(zt);

  // ----- filter the planned images: z_t from (detach(z_{t-1}), a_{t-1}, I_t), t = 1..H -----
  ad::Var e_proj = rssm_.project_embedding(rssm_.encode(I));  // (H, Hd)
  ad::Var s_prev = ad::slice(z0v, 1, 0, S_);
  ad::Var h_prev = D_ > 0 ? ad::slice(z0v, 1, S_, Z_) : ad::Var();
  std::vector<ad::Var> zs;
  for (int t = 1; t <= H_; ++t) {
    ad::Var hn, pm, psd, u, qm, qsd;
    rssm_.prior_step(ad::detach(s_prev), D_ > 0 ? ad::detach(h_prev) : ad::Var(), ad::slice(a, 0, t - 1, t), hn, pm,
                     psd, u);
    rssm_.posterior(u, ad::slice(e_proj, 0, t - 1, t), qm, qsd);
    zs.push_back(D_ > 0 ? ad::concat({qm, hn}, 1) : qm);  // (1, Z)
    s_prev = qm, h_prev = hn;
  }
  ad::Var zall = ad::concat(zs, 0);  // (H, Z): z_1..z_H

  // ----- Eq. (8) on images. Reward residuals softplus(-r(z_t)) (Section 4, plan/rollout.h) -----
  ad::Var r = ad::reshape(rssm_.reward(zall), {H_});
  ad::Var L = ad::sum(ad::square(softplus_neg(r)));

  // ----- image dynamics: mse(I_{t+1}, decode(mu(z_t, a_t))), t = 0..H-1 -----
  ad::Var zprev = H_ > 1 ? ad::concat({z0v, ad::slice(zall, 0, 0, H_ - 1)}, 0) : z0v;  // (H, Z)
  ad::Var hn, pm, psd, u;
  rssm_.prior_step(ad::slice(zprev, 1, 0, S_), D_ > 0 ? ad::slice(zprev, 1, S_, Z_) : ad::Var(), a, hn, pm, psd, u);
  ad::Var pred = rssm_.decode(D_ > 0 ? ad::concat({pm, hn}, 1) : pm);  // (H, 3, size, size)
  ad::Var mse = ad::mean(ad::reshape(ad::square(I - pred), {H_, P_}), 1);  // (H)
  L = L + ad::sum(ad::constant(lt) * mse);

  // ----- action bound nu_t |max(0, |a_t| - a_m)|^2 -----
  ad::Var actv = ad::sum(ad::square(ad::maximum(ad::abs(a) - amax_, 0.0f)), 1);  // (H)
  L = L + ad::sum(ad::constant(nt) * actv);

  if (need_grad) {
    ad::backward(L);
    if (g_images) std::memcpy(g_images, I.grad().data(), sizeof(float) * H_ * P_);
    if (g_actions) std::memcpy(g_actions, a.grad().data(), sizeof(float) * H_ * A_);
  }
  for (int t = 0; t < H_; ++t) {
    if (dyn) dyn[t] = mse.value()[t];
    if (act) act[t] = actv.value()[t];
    rewards_[t] = r.value()[t];
  }
  std::copy(z0, z0 + Z_, latents_.begin());
  std::copy(zall.value().data(), zall.value().data() + H_ * Z_, latents_.begin() + Z_);
  return L.item();
}

const PlanResult& ImageCollocation::plan(const float* z0, uint64_t seed) {
  Timer total;
  const int HP = H_ * P_, HA = H_ * A_;
  res_.iters.clear();
  res_.timing = {};
  // ----- init: actions N(0, init_std^2); every image decode(z_0) plus pixel noise -----
  Rng ra = Rng(seed).derive(0), ri = Rng(seed).derive(1);
  for (int k = 0; k < HA; ++k) actions_[k] = s_.init_std * ra.normal();
  {
    ad::NoGradGuard no_grad;
    Tensor zt({1, Z_});
    std::memcpy(zt.data(), z0, sizeof(float) * Z_);
    const Tensor frame = rssm_.decode(ad::constant(zt)).value();  // (1, 3, size, size)
    for (int t = 0; t < H_; ++t)
      for (int p = 0; p < P_; ++p)
        images_[t * P_ + p] = std::clamp(frame[p] + s_.init_noise * ri.normal(), -0.5f, 0.5f);
  }
  std::fill(lambda_.begin(), lambda_.end(), s_.lambda_init);
  std::fill(nu_.begin(), nu_.end(), s_.nu_init);
  adam_i_.reset();
  adam_a_.reset();

  for (int it = 0; it < s_.iterations; ++it) {
    // ----- loss and pairwise gradients (autodiff), Adam on images and actions -----
    Timer td;
    loss(z0, images_.data(), actions_.data(), lambda_.data(), nu_.data(), gi_.data(), ga_.data(), dyn_.data(),
         act_.data());
    res_.timing.derivatives += td.seconds();
    IterStats st;
    st.iter = it;
    for (int t = 0; t < H_; ++t) {
      st.reward += rewards_[t];
      st.dyn_violation += dyn_[t];
      st.act_violation += act_[t];
      st.mean_lambda += lambda_[t] / H_;
    }
    st.seconds = total.seconds();
    res_.iters.push_back(st);
    Timer ts;
    adam_i_.step(images_.data(), gi_.data());
    adam_a_.step(actions_.data(), ga_.data());
    for (int k = 0; k < HP; ++k) images_[k] = std::clamp(images_[k], -0.5f, 0.5f);  // images live in [-0.5, 0.5]
    res_.timing.solve += ts.seconds();

    // ----- multipliers: plain gradient rule every dual_every steps -----
    if ((it + 1) % s_.dual_every == 0)
      for (int t = 0; t < H_; ++t) {
        lambda_[t] = std::max(0.0, lambda_[t] + s_.dual_lr * (dyn_[t] - s_.eps_dyn));
        nu_[t] = std::max(0.0, nu_[t] + s_.dual_lr * (act_[t] - s_.eps_act));
      }
  }
  // The graph accumulated gradients into the model's parameters too: leave them clean.
  ad::zero_grad(rssm_.parameter_vars());

  // ----- result: filtered latents of the final images, clipped actions rolled through the model -----
  Timer tr;
  loss(z0, images_.data(), actions_.data(), lambda_.data(), nu_.data(), nullptr, nullptr, nullptr, nullptr);
  std::copy(latents_.begin(), latents_.end(), res_.latents.data());
  std::copy(actions_.data(), actions_.data() + HA, lin_.a.begin());
  clip_actions(HA, amax_, lin_.a.data());
  std::copy(lin_.a.begin(), lin_.a.end(), res_.actions.data());
  res_.predicted_return = rollout_forward(view_, z0, lin_.a.data(), &lin_);
  res_.timing.rollouts += tr.seconds();
  res_.timing.total = total.seconds();
  res_.timing.other = res_.timing.total - res_.timing.rollouts - res_.timing.derivatives - res_.timing.solve;
  return res_;
}

// Appendix D settings (released config.yaml image_colloc: 5000 steps, gd_lr 2e-2); keys ic_*.
std::unique_ptr<Planner> new_image_collocation(const Rssm& model, const LatentModel& latent, int H, const Config& cfg) {
  ImageCollocationSettings s;
  cfg.apply(s);
  return std::make_unique<ImageCollocation>(model, H, s, latent.action_max());
}

}  // namespace latco
