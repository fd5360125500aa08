// The world model's training objective, Eq. (2) with PlaNet's free nats, and one
// Adam step on it. Every term is averaged over the batch and the time steps:
//   loss = mean_{b,t} [ max(KL(q_t || p_t), free_nats) - ln p(o_t | z_t) - ln p(r_t | z_t) ]
// (free nats per step), or with the floor on the mean, max(mean_{b,t} KL, free_nats), as the
// released code (Dreamer's) has it (model_free_nats_mode: batch_mean).
// KL summed over the S latent dims; the image term is a Gaussian with std image_std
// (model_image_std, 1 in PlaNet and Dreamer) summed over the 3*H*W pixels in
// [-0.5, 0.5], the reward term a unit-variance Gaussian. Below the free
// nats the KL term is constant (no gradient), as in PlaNet and Dreamer.
// Left out: latent overshooting, KL balancing.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/checkpoint.h"
#include "model/rssm.h"
#include "nn/adam.h"

namespace latco {

struct ElboTerms {
  ad::Var loss;            // scalar to minimise (the negative ELBO less its constant terms)
  double loss_value = 0;   // the negative ELBO itself: loss + its constants (0.5 ln(2 pi) + ln sigma per element)
  double kl = 0;           // mean KL per step, before the free-nats floor
  double kl_term = 0;      // the KL term of the loss, after the free-nats floor
  double image_ll = 0;     // mean image log-likelihood per step
  double reward_ll = 0;    // mean reward log-likelihood per step
  RssmSequence seq;        // the filtered sequence (for diagnostics)
  // On the GPU the numbers above are left unread (each would be a copy to the host): stats holds
  // [kl term, image nll, reward nll, mean KL] (4) on the device, and read() fills them from its host copy.
  Tensor stats;
  double image_const = 0, reward_const = 0;  // the nll constants (0.5 ln(2 pi) + ln sigma per element)
  void read(const float* host_stats);
};

enum class FreeNats { PerStep, BatchMean };
// "per_step" or "batch_mean"; anything else -> Error naming model_free_nats_mode.
FreeNats parse_free_nats_mode(const std::string& mode);

// Eq. (2) on a batch in the model's layout (Rssm::batch_tensors):
//   images (L*B, 3, H, W), actions (L, B, A), rewards (L*B, 1), eps (L, B, S) standard normals.
ElboTerms elbo_loss(const Rssm& model, const Tensor& images, const Tensor& actions, const Tensor& rewards,
                    const Tensor& eps, float free_nats, FreeNats mode = FreeNats::PerStep);

// Running reward statistics (the released code's reward normalisation for dense rewards):
// after each batch, mean <- 0.99 mean + 0.01 batch mean, std <- 0.99 std + 0.01 batch std;
// the reward head is trained on (r - mean) / std with the statistics from before the update.
struct RewardStats {
  float mean = 0, std = 1;  // float, as the released code keeps them (and as checkpoints store them)
  static constexpr float kRoll = 0.99f;
  void update(const Tensor& rewards);  // rewards (N, 1), unnormalised
};

struct TrainMetrics {
  int64_t grad_step = 0;  // steps done after this one
  double loss = 0, kl = 0, image_ll = 0, reward_ll = 0, grad_norm = 0;
};

// A NaN/Inf in the loss or a gradient; what() names the step and the tensor.
struct NonFiniteError : Error {
  NonFiniteError(const std::string& what, int64_t step, const std::string& tensor)
      : Error(what), step(step), tensor(tensor) {}
  int64_t step;
  std::string tensor;
};

// Adam (lr, eps, global-norm clip from RssmSettings) on the ELBO. The noise of step k
// comes from Rng(seed).derive(k), so a resumed run draws what a straight one would.
// On Device::CUDA a twin of `model` lives on the GPU and trains there with Adam's state beside it:
// each step uploads the batch once (frames as uint8, with actions, rewards and the noise; converted
// on the device) and downloads once (the loss terms and the gradient norm). `model` stays on the
// host for acting and planning and gets the trained weights from sync_model().
class ModelTrainer {
 public:
  ModelTrainer(Rssm& model, uint64_t seed, Device device = Device::CPU);
  ~ModelTrainer();
  // One gradient step. Throws NonFiniteError (before changing any parameter) on NaN/Inf.
  TrainMetrics step(const SequenceBatch& batch);
  int64_t steps() const { return adam_.step_count(); }
  nn::Adam& adam() { return adam_; }
  Rssm& model() { return model_; }
  const RewardStats& reward_stats() const { return reward_stats_; }
  Device device() const { return twin_ ? Device::CUDA : Device::CPU; }
  Rssm& trained_model() { return twin_ ? *twin_ : model_; }  // the copy the steps update
  // Copies the device twin's parameters into `model` (one download per tensor; nothing on the CPU).
  // Call after training steps, before the model acts, plans, decodes or its tensors are read.
  void sync_model();

  // Parameters as "model/<name>", Adam state as "adam/<name>", the reward statistics as
  // "trainer/reward_stats" (mean, std); counters.grad_steps.
  void save(Checkpoint& ck) const;
  void load(const Checkpoint& ck, const std::string& source);

 private:
  TrainMetrics step_device(const SequenceBatch& batch);

  Rssm& model_;
  std::unique_ptr<Rssm> twin_;  // the GPU copy that trains (null on the CPU)
  nn::Adam adam_;
  uint64_t seed_;
  FreeNats free_nats_mode_;
  RewardStats reward_stats_;  // used when model_reward_normalize; saved in checkpoints
  std::vector<float> staging_;  // the step's one upload, packed on the host (the frames' bytes first)
  Tensor upload_;               // its device buffer
};

}  // namespace latco
