// PlaNet's recurrent state-space model (paper Section 3.1, Appendix A): conv encoder,
// deconv decoder, prior p(s_t | s_{t-1}, h_{t-1}, a_t), posterior q(s_t | h_t, o_t) and
// reward head, built on the autodiff graph. The prior and reward head keep their
// parameters in a TransitionWeights (the planner's fast view reads the same tensors).
// Left out: the ELBO and training (model/elbo.*), overshooting, discrete latents.
//
// Latent z = [s, h], s stochastic (S), h deterministic GRU state (D; 0 without the
// deterministic path: the released code's SSM, see model/transition_weights.h; its posterior is
// [s~, e, a] -> Hd ELU -> Hd sigmoid -> (m, sd), s~ a prior sample). Images are (3, H, W) in [-0.5, 0.5], H = W = image_size:
//   64: PlaNet's stack. Encoder 4 convs k4 s2 no padding, depths d, 2d, 4d, 8d:
//       64 -> 31 -> 14 -> 6 -> 2, embedding 8d * 2 * 2 = 32d (1024 at d = 32).
//       Decoder Dense(32d) -> (32d, 1, 1) -> deconvs 4d k5, 2d k5, d k6, 3 k6, stride 2:
//       1 -> 5 -> 13 -> 30 -> 64.
//   32, 16: encoder convs k4 s2 pad 1 halve exactly: 32 -> 16 -> 8 -> 4 -> 2 (embedding 32d)
//       or 16 -> 8 -> 4 -> 2 -> 1 (embedding 8d). Decoder Dense(32d) -> (32d, 1, 1) ->
//       deconv 4d k(size/8) s1: 1 -> size/8, then deconvs 2d, d, 3 with k4 s2 pad 1 doubling
//       to the full size.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "autodiff/var.h"
#include "core/rng.h"
#include "core/tensor.h"
#include "model/sequence_batch.h"
#include "model/transition_weights.h"
#include "nn/layers.h"
#include "nn/module.h"

namespace latco {

struct RssmSettings {
  int stoch = 30;                 // S: stochastic latent size
  int deter = 200;                // D: deterministic (GRU) state size
  int hidden = 200;               // Hd: hidden layer of prior and posterior
  int depth = 32;                 // conv depth multiplier (channels d, 2d, 4d, 8d)
  int image_size = 64;            // 64, 32 or 16 (square RGB)
  float min_std = 0.1f;           // std = softplus(x) + min_std
  int reward_hidden = 400;        // Hr: reward MLP width (2 hidden layers, ELU)
  float free_nats = 3.0f;         // KL floor (Eq. 2 with free nats), applied as free_nats_mode says
  std::string free_nats_mode = "per_step";  // per_step: mean_{t,b} max(KL, free_nats) (PlaNet's text);
                                  // batch_mean: max(mean_{t,b} KL, free_nats) (the released code, Dreamer's)
  float image_std = 1.0f;         // sigma of the Gaussian image likelihood (PlaNet, Dreamer: 1)
  float lr = 6e-4f;               // Adam learning rate
  float adam_eps = 1e-4f;         // Adam epsilon (the released code: Keras's default 1e-7)
  bool reward_normalize = false;  // train the reward head on (r - running mean) / running std (dense tasks)
  float grad_clip = 100.0f;       // global gradient-norm clip
  int batch = 50;                 // B: sequences per training batch
  int length = 50;                // L: steps per sequence
  bool deterministic_path = true; // false: the "no deterministic latent" ablation (D = 0)

  template <class V>
  void visit(V& v) {
    v("model_stoch", stoch, 1, 4096);
    v("model_deter", deter, 1, 8192);
    v("model_hidden", hidden, 1, 8192);
    v("model_depth", depth, 1, 1024);
    v("model_image_size", image_size, 16, 64);
    v("model_min_std", min_std, 0.0, 10.0);
    v("model_reward_hidden", reward_hidden, 1, 8192);
    v("model_free_nats", free_nats, 0.0, 1e6);
    v("model_free_nats_mode", free_nats_mode);
    v("model_image_std", image_std, 1e-3, 1e3);
    v("model_lr", lr, 0.0, 1.0);
    v("model_adam_eps", adam_eps, 0.0, 1.0);
    v("model_reward_normalize", reward_normalize);
    v("model_grad_clip", grad_clip, 0.0, 1e30);
    v("model_batch", batch, 1, 100000);
    v("model_length", length, 1, 100000);
    v("model_deterministic_path", deterministic_path);
  }
};

// Per-step quantities of a sequence, time-major and flattened: row t * B + b.
struct RssmSequence {
  int L = 0, B = 0;
  ad::Var prior_m, prior_sd;  // (L*B, S)
  ad::Var post_m, post_sd;    // (L*B, S)
  ad::Var s;                  // (L*B, S) posterior samples
  ad::Var h;                  // (L*B, D), undefined when D = 0
  ad::Var features() const;   // z = [s, h]: (L*B, Z)
};

// The filter's state for acting: posterior mean s and GRU state h of one environment.
// Acting filters with the posterior mean (no sampling), so the latent handed to the
// planner is a deterministic function of the observations and actions.
struct RssmState {
  Tensor s;  // (S)
  Tensor h;  // (D), empty when D = 0
};

class Rssm : public nn::Module {
 public:
  // action_dim: A. Weights from Rng(seed) streams (same seed -> same model).
  Rssm(const RssmSettings& s, int action_dim, uint64_t seed);

  const RssmSettings& settings() const { return s_; }
  const TransitionWeights& transition() const { return tw_; }
  int stoch() const { return S_; }
  int deter() const { return D_; }
  int latent_dim() const { return S_ + D_; }
  int action_dim() const { return A_; }
  int image_size() const { return s_.image_size; }
  int embed_dim() const { return E_; }

  // ----- components -----
  ad::Var encode(const ad::Var& images) const;  // (N, 3, H, W) -> (N, E)
  ad::Var decode(const ad::Var& z) const;       // (N, Z) -> (N, 3, H, W) image means
  ad::Var reward(const ad::Var& z) const;       // (N, Z) -> (N, 1) reward means
  // Prior step: s (N, S), h (N, D) or undefined, a (N, A) -> h' (N, D), prior m, sd (N, S);
  // also returns the posterior's input u: h' (N, D) or, without D, [m, a] (N, S+A) (observe
  // replaces m by a prior sample, as the released SSM does in training).
  void prior_step(const ad::Var& s, const ad::Var& h, const ad::Var& a, ad::Var& h_next, ad::Var& m,
                  ad::Var& sd, ad::Var& u) const;
  // Posterior from u (N, D or S+A) and the projected embedding e W_qe (N, Hd) -> m, sd (N, S).
  void posterior(const ad::Var& u, const ad::Var& e_proj, ad::Var& m, ad::Var& sd) const;
  ad::Var project_embedding(const ad::Var& e) const;  // e W_qe: (N, E) -> (N, Hd)

  // ----- sequences -----
  // Filters a batch with the posterior, from a zero state:
  //   images: (L*B, 3, H, W) time-major,  actions: (L, B, A),  eps: noise_shape(L, B) standard normals:
  //   (L, B, S) for the posterior samples; without D, (L, 2, B, S): the posterior's, then the prior
  //   sample's that the SSM's posterior reads.
  int noise_draws() const { return D_ > 0 ? 1 : 2; }
  Shape noise_shape(int L, int B) const;
  RssmSequence observe(const Tensor& images, const Tensor& actions, const Tensor& eps) const;
  // Rolls the prior forward from (s0, h0) (B rows) on actions (K, B, A) with the prior mean
  // (the planner's mu); returns features z (K*B, Z), time-major.
  ad::Var imagine(const ad::Var& s0, const ad::Var& h0, const Tensor& actions) const;

  // Converts a batch to the model's layout: images (L*B, 3, H, W) in [-0.5, 0.5], actions (L, B, A),
  // rewards (L*B, 1); rows time-major.
  void batch_tensors(const SequenceBatch& b, Tensor& images, Tensor& actions, Tensor& rewards) const;

  // ----- acting -----
  RssmState initial_state() const;
  // One filter step for the agent: prior on `action` (A), posterior on `image` (H, W, 3) uint8.
  RssmState filter_step(const RssmState& st, const float* action, const uint8_t* image) const;
  // z = [s, h] for the planner: (Z).
  void latent(const RssmState& st, float* z) const;

 private:
  RssmSettings s_;
  int S_, D_, Hd_, A_, E_;
  TransitionWeights tw_;
  std::vector<nn::Conv2d> enc_;
  nn::Linear dec_in_;
  std::vector<nn::ConvTranspose2d> dec_;
  nn::Linear prior_in_, prior_hid_, prior_m_, prior_s_;
  nn::GRUCell gru_;
  nn::Linear post_u_, post_e_, post_hid_, post_m_, post_s_;  // post_hid_: only without D
  nn::MLP reward_;
};

}  // namespace latco
