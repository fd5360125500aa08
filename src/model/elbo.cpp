// Eq. (2): the world model's negative ELBO with free nats, and one Adam step on it
// (see elbo.h). Left out: overshooting, KL balancing.
#include "model/elbo.h"

#include <cmath>
#include <cstring>

#include "cuda/cuda_api.h"

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
  out.image_const = const_nll(image, sigma_o);
  out.reward_const = const_nll(reward, 1.0);
  if (out.loss.value().device() != Device::CPU) {  // read later, in one copy with the gradient norm
    ad::NoGradGuard no_grad;
    out.stats = ad::concat({ad::reshape(kl_term, {1}), ad::reshape(image_nll, {1}), ad::reshape(reward_nll, {1}),
                            ad::reshape(ad::mean(kl), {1})}, 0).value();
    return out;
  }
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

void ElboTerms::read(const float* v) {
  image_ll = -(v[1] + image_const);
  reward_ll = -(v[2] + reward_const);
  loss_value = v[0] - image_ll - reward_ll;
  kl = v[3];
}

namespace {
nn::AdamSettings adam_settings(const RssmSettings& s) {
  nn::AdamSettings a;
  a.lr = s.lr;
  a.eps = s.adam_eps;
  a.clip = s.grad_clip;
  return a;
}

// The GPU twin: the same architecture, the model's current parameters, moved to the device.
std::unique_ptr<Rssm> device_twin(const Rssm& model, Device device) {
  if (device == Device::CPU) return nullptr;
  LATCO_CHECK(device::cuda_available()) << "ModelTrainer on the GPU: " << device::cuda_status();
  auto twin = std::make_unique<Rssm>(model.settings(), model.action_dim(), 0);
  for (const auto& [name, v] : twin->parameters()) {
    Tensor dst = v.value();
    dst.copy_from(model.parameter(name).value());
  }
  twin->to(device);
  return twin;
}

std::string nonfinite_loss_message(int64_t k, double loss, const ElboTerms& terms) {
  return "model training step " + std::to_string(k) + ": loss is " + std::to_string(loss) + " (kl " +
         std::to_string(terms.kl) + ", image_ll " + std::to_string(terms.image_ll) + ", reward_ll " +
         std::to_string(terms.reward_ll) + ")";
}
std::string nonfinite_grad_message(int64_t k, const std::string& bad) {
  return "model training step " + std::to_string(k) + ": gradient of parameter '" + bad + "' holds NaN/Inf";
}
}  // namespace

ModelTrainer::ModelTrainer(Rssm& model, uint64_t seed, Device device)
    : model_(model),
      twin_(device_twin(model, device)),
      adam_(trained_model().parameters(), adam_settings(model.settings())),
      seed_(seed),
      free_nats_mode_(parse_free_nats_mode(model.settings().free_nats_mode)) {}

ModelTrainer::~ModelTrainer() = default;

void ModelTrainer::sync_model() {
  if (!twin_) return;
  for (const auto& [name, v] : model_.parameters()) {
    Tensor dst = v.value();  // shares the parameter's storage (and TransitionWeights')
    dst.copy_from(twin_->parameter(name).value());
  }
}

TrainMetrics ModelTrainer::step(const SequenceBatch& batch) {
  if (twin_) return step_device(batch);
  const int64_t k = adam_.step_count();
  Tensor images, actions, rewards;
  model_.batch_tensors(batch, images, actions, rewards);
  Tensor eps(model_.noise_shape(batch.L, batch.B));
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
    throw NonFiniteError(nonfinite_loss_message(k, loss, terms), k, "loss");
  ad::backward(terms.loss);
  const std::string bad = nn::first_nonfinite_grad(model_.parameters());
  if (!bad.empty())
    throw NonFiniteError(nonfinite_grad_message(k, bad), k, bad);
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

// One step on the GPU twin: one upload, the ELBO and its gradient there, one download, Adam there.
TrainMetrics ModelTrainer::step_device(const SequenceBatch& b) {
#ifdef HAVE_CUDA
  const int64_t k = adam_.step_count();
  Rssm& m = *twin_;
  const int size = m.image_size(), A = m.action_dim(), S = m.stoch();
  if (b.H != size || b.W != size)
    LATCO_FAIL("rssm: batch images are " << b.H << "x" << b.W << ", the model expects model_image_size " << size
                                         << "x" << size);
  LATCO_CHECK(b.A == A) << "rssm: batch action size " << b.A << ", model " << A;
  const int64_t LB = int64_t(b.L) * b.B;
  // ----- the one upload: frames (uint8, padded to whole floats) | actions | rewards | noise eps -----
  const Shape eps_shape = m.noise_shape(b.L, b.B);  // (L, B, S) or, without D, (L, 2, B, S)
  const int64_t img_floats = (LB * size * size * 3 + 3) / 4, n_act = LB * A, n_eps = LB * S * m.noise_draws();
  const int64_t total = img_floats + n_act + LB + n_eps;
  staging_.resize(size_t(total));
  float* host = staging_.data();
  std::memcpy(host, b.image.data(), b.image.size());
  std::memcpy(host + img_floats, b.action.data(), sizeof(float) * n_act);
  std::memcpy(host + img_floats + n_act, b.reward.data(), sizeof(float) * LB);
  Rng noise = Rng(seed_).derive(uint64_t(k));  // the CPU step's draws, in its order
  float* eps_host = host + img_floats + n_act + LB;
  for (int64_t i = 0; i < n_eps; ++i) eps_host[i] = noise.normal();
  if (upload_.numel() < total) upload_ = Tensor({total}, Device::CUDA);
  cuda::copy_h2d(upload_.data(), host, sizeof(float) * total);

  // ----- converted on the device to the layout of Rssm::batch_tensors -----
  const float* dev = upload_.data();
  Tensor images({LB, 3, size, size}, Device::CUDA), actions({b.L, b.B, A}, Device::CUDA);
  Tensor rewards({LB, 1}, Device::CUDA), eps(eps_shape, Device::CUDA);
  cuda::unpack_sequence_batch(b.B, b.L, size, size, A, reinterpret_cast<const uint8_t*>(dev), dev + img_floats,
                              dev + img_floats + n_act, images.data(), actions.data(), rewards.data());
  cuda::copy_d2d(eps.data(), dev + img_floats + n_act + LB, sizeof(float) * n_eps);

  // ----- forward and backward on the device (the seed d loss = 1 made there, not uploaded) -----
  adam_.zero_grad();
  ElboTerms terms = elbo_loss(m, images, actions, rewards, eps, m.settings().free_nats, free_nats_mode_);
  Tensor one = Tensor::zeros({}, Device::CUDA);
  one.fill(1.0f);
  ad::backward(terms.loss, one.reshape(terms.loss.shape()));

  // ----- the one download: [kl term, image nll, reward nll, mean KL, gradient norm] -----
  std::vector<const float*> grads;
  std::vector<int64_t> sizes;
  for (const auto& [name, v] : m.parameters()) {
    grads.push_back(v.has_grad() ? v.node()->grad.data() : nullptr);
    sizes.push_back(v.value().numel());
  }
  Tensor stats({5}, Device::CUDA);
  cuda::copy_d2d(stats.data(), terms.stats.data(), 4 * sizeof(float));
  cuda::global_grad_norm_device(int(grads.size()), grads.data(), sizes.data(), stats.data() + 4);
  float got[5];
  cuda::copy_d2h(got, stats.data(), sizeof got);
  terms.read(got);
  const double loss = terms.loss_value, norm = got[4];
  if (!std::isfinite(loss)) throw NonFiniteError(nonfinite_loss_message(k, loss, terms), k, "loss");
  if (!std::isfinite(norm)) {  // find the culprit (copies, but only on the way to an error)
    const std::string bad = nn::first_nonfinite_grad(m.parameters());
    if (!bad.empty()) throw NonFiniteError(nonfinite_grad_message(k, bad), k, bad);
  }
  TrainMetrics out;
  out.grad_norm = adam_.step(norm);
  out.grad_step = adam_.step_count();
  out.loss = loss;
  out.kl = terms.kl;
  out.image_ll = terms.image_ll;
  out.reward_ll = terms.reward_ll;
  return out;
#else
  LATCO_FAIL("ModelTrainer: this build has no CUDA support");
#endif
}

void ModelTrainer::save(Checkpoint& ck) const {
  const Rssm& trained = twin_ ? *twin_ : model_;
  for (const auto& [name, v] : trained.parameters())
    ck.tensors["model/" + name] = v.value().device() == Device::CPU ? v.value().clone() : v.value().to(Device::CPU);
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
  if (twin_)
    for (const auto& [name, v] : twin_->parameters()) {
      Tensor dst = v.value();
      dst.copy_from(model_.parameter(name).value());
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
