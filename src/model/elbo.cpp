// Eq. (2): the world model's negative ELBO with free nats, and one Adam step on it
// (see elbo.h). Left out: overshooting, KL balancing.
#include "model/elbo.h"

#include <cmath>

namespace latco {

using ad::Var;

namespace {
constexpr double kHalfLog2Pi = 0.91893853320467274178;  // 0.5 * ln(2 pi)

// Negative Gaussian log-likelihood with std sigma, summed over each row's elements and
// averaged over rows, without its constant:  0.5 * sum (x - m)^2 / (sigma^2 rows).  m, x: (rows, ...)
// The constant (0.5 ln(2 pi) + ln sigma) per element (const_nll) is added to the reported
// numbers only, which keeps the float loss precise enough for finite-difference checks.
Var gaussian_nll(const Var& m, const Tensor& x, double sigma) {
  const int64_t rows = m.size(0);
  Var sq = ad::sum(ad::square(m - ad::constant(x.reshape(m.shape()))));
  return ad::mul_scalar(sq, float(0.5 / (sigma * sigma * rows)));
}
double const_nll(const Var& m, double sigma) {
  return (kHalfLog2Pi + std::log(sigma)) * double(m.value().numel() / m.size(0));
}
}  // namespace

FreeNats parse_free_nats_mode(const std::string& mode) {
  if (mode == "per_step") return FreeNats::PerStep;
  if (mode == "batch_mean") return FreeNats::BatchMean;
  LATCO_FAIL("model_free_nats_mode: expected per_step or batch_mean, got '" << mode << "'");
}

void RewardStats::update(const Tensor& rewards) {
  // Batch mean and (population) std in double, stored as float.
  const int64_t n = rewards.numel();
  double m = 0, v = 0;
  for (int64_t i = 0; i < n; ++i) m += rewards[i];
  m /= double(n);
  for (int64_t i = 0; i < n; ++i) v += (rewards[i] - m) * (rewards[i] - m);
  const double sd = std::sqrt(v / double(n));
  mean = float(mean * kRoll + m * (1 - kRoll));
  std = float(std * kRoll + sd * (1 - kRoll));
}

// Eq. (2): E_q [ ln p(o_t, r_t | z_t) ] - KL(q(z_t | o_t, a_t, z_{t-1}) || p(z_t | z_{t-1}, a_t)), negated.
ElboTerms elbo_loss(const Rssm& model, const Tensor& images, const Tensor& actions, const Tensor& rewards,
                    const Tensor& eps, float free_nats, FreeNats mode) {
  ElboTerms out;
  out.seq = model.observe(images, actions, eps);
  const RssmSequence& q = out.seq;

  // ----- KL(posterior || prior), summed over latent dims, floored at the free nats -----
  Var kl = ad::sum(ad::kl_normal(q.post_m, q.post_sd, q.prior_m, q.prior_sd), 1);  // (L*B)
  Var kl_term = mode == FreeNats::PerStep ? ad::mean(ad::maximum(kl, free_nats))   // mean_{t,b} max(KL, fn)
                                          : ad::maximum(ad::mean(kl), free_nats);  // max(mean_{t,b} KL, fn)

  // ----- reconstruction log-likelihoods from the posterior samples z = [s, h] -----
  Var z = q.features();          // (L*B, Z)
  Var image = model.decode(z);   // (L*B, 3, H, W) means
  Var reward = model.reward(z);  // (L*B, 1) means
  const double sigma_o = model.settings().image_std;
  Var image_nll = gaussian_nll(image, images, sigma_o), reward_nll = gaussian_nll(reward, rewards, 1.0);

  out.loss = kl_term + image_nll + reward_nll;
  out.image_ll = -(image_nll.item() + const_nll(image, sigma_o));
  out.reward_ll = -(reward_nll.item() + const_nll(reward, 1.0));
  out.kl_term = kl_term.item();
  out.loss_value = out.kl_term - out.image_ll - out.reward_ll;
  double kl_sum = 0;
  const Tensor& klv = kl.value();
  for (int64_t i = 0; i < klv.numel(); ++i) kl_sum += klv[i];
  out.kl = kl_sum / double(klv.numel());
  return out;
}

namespace {
nn::AdamSettings adam_settings(const RssmSettings& s) {
  nn::AdamSettings a;
  a.lr = s.lr;
  a.eps = s.adam_eps;
  a.clip = s.grad_clip;
  return a;
}
}  // namespace

ModelTrainer::ModelTrainer(Rssm& model, uint64_t seed)
    : model_(model),
      adam_(model.parameters(), adam_settings(model.settings())),
      seed_(seed),
      free_nats_mode_(parse_free_nats_mode(model.settings().free_nats_mode)) {}

TrainMetrics ModelTrainer::step(const SequenceBatch& batch) {
  const int64_t k = adam_.step_count();
  Tensor images, actions, rewards;
  model_.batch_tensors(batch, images, actions, rewards);
  Tensor eps({batch.L, batch.B, model_.stoch()});
  Rng noise = Rng(seed_).derive(uint64_t(k));
  for (int64_t i = 0; i < eps.numel(); ++i) eps[i] = noise.normal();

  adam_.zero_grad();
  Tensor raw_rewards;
  if (model_.settings().reward_normalize) {
    // The released code: normalise with the statistics so far, then fold this batch into them.
    raw_rewards = rewards.clone();
    for (int64_t i = 0; i < rewards.numel(); ++i) rewards[i] = (rewards[i] - reward_stats_.mean) / reward_stats_.std;
  }
  ElboTerms terms = elbo_loss(model_, images, actions, rewards, eps, model_.settings().free_nats, free_nats_mode_);
  const double loss = terms.loss_value;
  if (!std::isfinite(loss))
    throw NonFiniteError("model training step " + std::to_string(k) + ": loss is " + std::to_string(loss) +
                             " (kl " + std::to_string(terms.kl) + ", image_ll " + std::to_string(terms.image_ll) +
                             ", reward_ll " + std::to_string(terms.reward_ll) + ")",
                         k, "loss");
  ad::backward(terms.loss);
  const std::string bad = nn::first_nonfinite_grad(model_.parameters());
  if (!bad.empty())
    throw NonFiniteError("model training step " + std::to_string(k) + ": gradient of parameter '" + bad +
                             "' holds NaN/Inf",
                         k, bad);
  if (model_.settings().reward_normalize) reward_stats_.update(raw_rewards);
  TrainMetrics m;
  m.grad_norm = adam_.step();
  m.grad_step = adam_.step_count();
  m.loss = loss;
  m.kl = terms.kl;
  m.image_ll = terms.image_ll;
  m.reward_ll = terms.reward_ll;
  return m;
}

void ModelTrainer::save(Checkpoint& ck) const {
  for (const auto& [name, v] : model_.parameters()) ck.tensors["model/" + name] = v.value().clone();
  for (auto& [name, t] : adam_.state()) ck.tensors["adam/" + name] = t;
  Tensor stats({2});
  stats[0] = reward_stats_.mean;
  stats[1] = reward_stats_.std;
  ck.tensors["trainer/reward_stats"] = stats;
  ck.grad_steps = adam_.step_count();
}

void ModelTrainer::load(const Checkpoint& ck, const std::string& source) {
  for (const auto& [name, v] : model_.parameters()) {
    Tensor dst = v.value();  // shares the parameter's storage
    ck.read_into("model/" + name, dst, source);
  }
  std::vector<std::pair<std::string, Tensor>> st;
  for (const auto& [name, t] : ck.tensors)
    if (name.rfind("adam/", 0) == 0) st.emplace_back(name.substr(5), t);
  adam_.load_state(st, source);
  // Checkpoints written before the statistics existed hold none: keep the initial (0, 1).
  if (ck.tensors.count("trainer/reward_stats")) {
    const Tensor& t = ck.tensor("trainer/reward_stats", source);
    LATCO_CHECK(t.numel() == 2) << source << ": tensor 'trainer/reward_stats' has " << t.numel() << " entries, expected 2";
    reward_stats_.mean = t[0];
    reward_stats_.std = t[1];
  }
}

}  // namespace latco
