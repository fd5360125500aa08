// PlaNet's RSSM on the autodiff graph (see rssm.h for the architecture and sizes).
// Encoder and decoder run once over all L*B frames; only the recurrence is per step.
#include "model/rssm.h"

#include <cstring>

#include "core/error.h"
#include "core/thread_pool.h"

namespace latco {

using ad::Var;

Var RssmSequence::features() const { return h.defined() ? ad::concat({s, h}, 1) : s; }

Rssm::Rssm(const RssmSettings& st, int action_dim, uint64_t seed) : s_(st) {
  S_ = st.stoch;
  D_ = st.deterministic_path ? st.deter : 0;
  Hd_ = st.hidden;
  A_ = action_dim;
  const int d = st.depth, size = st.image_size;
  LATCO_CHECK(action_dim > 0) << "rssm: action size " << action_dim;
  if (size != 64 && size != 32 && size != 16)
    LATCO_FAIL("model_image_size " << size << ": the conv stacks are defined for 64, 32 and 16 pixels");
  Rng root(seed);

  // ----- prior transition and reward head: storage in TransitionWeights -----
  TransitionSizes ts;
  ts.stoch = S_;
  ts.deter = D_;
  ts.hidden = Hd_;
  ts.action = A_;
  ts.reward_hidden = st.reward_hidden;
  ts.min_std = st.min_std;
  Rng rt = root.derive(1);
  tw_ = TransitionWeights::init(ts, rt);
  prior_in_ = nn::Linear(tw_.W_in, tw_.b_in);
  if (D_ > 0) gru_ = nn::GRUCell(tw_.W_x, tw_.b_x, tw_.W_h, tw_.b_h);
  prior_hid_ = nn::Linear(tw_.W_p, tw_.b_p);
  prior_m_ = nn::Linear(tw_.W_m, tw_.b_m);
  prior_s_ = nn::Linear(tw_.W_s, tw_.b_s);
  reward_ = nn::MLP({tw_.R1, tw_.R2, tw_.R3}, {tw_.c1, tw_.c2, tw_.c3}, nn::Activation::ELU);

  // ----- encoder: 4 convs k4 s2, ReLU -----
  Rng re = root.derive(2);
  const int pad = size == 64 ? 0 : 1;
  const int chans[5] = {3, d, 2 * d, 4 * d, 8 * d};
  int hw = size;
  for (int i = 0; i < 4; ++i) {
    enc_.emplace_back(chans[i], chans[i + 1], 4, 2, pad, re);
    hw = (hw + 2 * pad - 4) / 2 + 1;
  }
  E_ = 8 * d * hw * hw;

  // ----- decoder: Dense(32d) -> (32d,1,1) -> 4 transposed convs -----
  Rng rd = root.derive(3);
  dec_in_ = nn::Linear(S_ + D_, 32 * d, rd);
  const int dchans[5] = {32 * d, 4 * d, 2 * d, d, 3};
  for (int i = 0; i < 4; ++i) {
    if (size == 64) {
      const int k = i < 2 ? 5 : 6;
      dec_.emplace_back(dchans[i], dchans[i + 1], k, 2, 0, rd);
    } else if (i == 0) {
      dec_.emplace_back(dchans[i], dchans[i + 1], size / 8, 1, 0, rd);
    } else {
      dec_.emplace_back(dchans[i], dchans[i + 1], 4, 2, 1, rd);
    }
  }

  // ----- posterior: y = ELU(u W_qu + e W_qe + b), m, softplus(.) + min_std -----
  // Without D (the released SSM): u = [s~, a], y = sigmoid(ELU(u W_qu + e W_qe + b) W_qh + b_qh).
  Rng rq = root.derive(4);
  const int U = D_ > 0 ? D_ : S_ + A_;
  {
    // One Glorot fan for the whole [u, e] W_q1 matrix, split into its two row blocks.
    Tensor wu = nn::glorot_uniform({U, Hd_}, U + E_, Hd_, rq);
    Tensor we = nn::glorot_uniform({E_, Hd_}, U + E_, Hd_, rq);
    post_u_ = nn::Linear(wu, Tensor::zeros({Hd_}));
    post_e_ = nn::Linear(we, Tensor());
  }
  if (D_ == 0) post_hid_ = nn::Linear(Hd_, Hd_, rq);
  post_m_ = nn::Linear(Hd_, S_, rq);
  post_s_ = nn::Linear(Hd_, S_, rq);

  for (int i = 0; i < 4; ++i) register_module("encoder.conv" + std::to_string(i), enc_[i]);
  register_module("decoder.dense", dec_in_);
  for (int i = 0; i < 4; ++i) register_module("decoder.deconv" + std::to_string(i), dec_[i]);
  register_module("prior.in", prior_in_);
  if (D_ > 0) register_module("prior.gru", gru_);
  register_module("prior.hidden", prior_hid_);
  register_module("prior.mean", prior_m_);
  register_module("prior.std", prior_s_);
  register_module("posterior.u", post_u_);
  register_module("posterior.e", post_e_);
  if (D_ == 0) register_module("posterior.hidden", post_hid_);
  register_module("posterior.mean", post_m_);
  register_module("posterior.std", post_s_);
  register_module("reward", reward_);
}

// ----- components -----

Var Rssm::encode(const Var& images) const {
  Var x = images;
  for (const auto& c : enc_) x = ad::relu(c(x));
  return ad::reshape(x, {x.size(0), E_});
}

Var Rssm::decode(const Var& z) const {
  Var x = ad::reshape(dec_in_(z), {z.size(0), 32 * s_.depth, 1, 1});
  for (size_t i = 0; i < dec_.size(); ++i) {
    x = dec_[i](x);
    if (i + 1 < dec_.size()) x = ad::relu(x);
  }
  return x;
}

Var Rssm::reward(const Var& z) const { return reward_(z); }

void Rssm::prior_step(const Var& s, const Var& h, const Var& a, Var& h_next, Var& m, Var& sd, Var& u) const {
  Var x = ad::elu(prior_in_(ad::concat({s, a}, 1)));  // (N, Hd)
  Var y;
  if (D_ > 0) {
    h_next = gru_(x, h);                                // (N, D)
    y = ad::elu(prior_hid_(h_next));
    u = h_next;
  } else {
    y = ad::sigmoid(prior_hid_(x));  // the released SSM's second layer is a sigmoid
  }
  m = prior_m_(y);
  sd = ad::softplus(prior_s_(y)) + s_.min_std;
  if (D_ == 0) u = ad::concat({m, a}, 1);  // the SSM posterior's [s~, a], s~ the prior mean (observe: a sample)
}

Var Rssm::project_embedding(const Var& e) const { return post_e_(e); }

void Rssm::posterior(const Var& u, const Var& e_proj, Var& m, Var& sd) const {
  Var y = ad::elu(post_u_(u) + e_proj);
  if (D_ == 0) y = ad::sigmoid(post_hid_(y));
  m = post_m_(y);
  sd = ad::softplus(post_s_(y)) + s_.min_std;
}

// ----- sequences -----

Shape Rssm::noise_shape(int L, int B) const {
  if (noise_draws() == 1) return {L, B, S_};
  return {L, noise_draws(), B, S_};
}

RssmSequence Rssm::observe(const Tensor& images, const Tensor& actions, const Tensor& eps) const {
  LATCO_CHECK(actions.dim() == 3 && actions.size(2) == A_) << "observe: actions " << shape_str(actions.shape());
  const int L = int(actions.size(0)), B = int(actions.size(1));
  LATCO_CHECK(images.dim() == 4 && images.size(0) == int64_t(L) * B)
      << "observe: images " << shape_str(images.shape()) << " for " << L << " x " << B << " steps";
  const int J = noise_draws();
  LATCO_CHECK(eps.numel() == int64_t(L) * J * B * S_)
      << "observe: eps " << shape_str(eps.shape()) << ", expected " << shape_str(noise_shape(L, B));
  const Tensor eps_rows = eps.reshape({int64_t(L) * J, B, S_});  // row t J + j: draw j of step t

  // The encoder and the embedding's share of the posterior run once over all L*B images.
  Var e_proj = project_embedding(encode(ad::constant(images)));  // (L*B, Hd)

  Var s = ad::constant(Tensor::zeros({B, S_}, images.device()));  // on the model's device
  Var h = D_ > 0 ? ad::constant(Tensor::zeros({B, D_}, images.device())) : Var();
  std::vector<Var> pm(L), psd(L), qm(L), qsd(L), ss(L), hs(D_ > 0 ? L : 0);
  for (int t = 0; t < L; ++t) {
    Var a = ad::constant(actions.slice0(t, t + 1).reshape({B, A_}));
    Var h_next, u;
    prior_step(s, h, a, h_next, pm[t], psd[t], u);
    if (D_ == 0) {  // the released SSM's posterior reads a prior sample s~ = m + sd eps', not the mean
      const Tensor e_prior = eps_rows.slice0(int64_t(t) * J + 1, int64_t(t) * J + 2).reshape({B, S_});
      u = ad::concat({ad::sample_normal(pm[t], psd[t], e_prior), a}, 1);
    }
    posterior(u, ad::slice(e_proj, 0, int64_t(t) * B, int64_t(t + 1) * B), qm[t], qsd[t]);
    s = ad::sample_normal(qm[t], qsd[t], eps_rows.slice0(int64_t(t) * J, int64_t(t) * J + 1).reshape({B, S_}));
    ss[t] = s;
    if (D_ > 0) hs[t] = h = h_next;
  }
  RssmSequence out;
  out.L = L;
  out.B = B;
  out.prior_m = ad::concat(pm, 0);
  out.prior_sd = ad::concat(psd, 0);
  out.post_m = ad::concat(qm, 0);
  out.post_sd = ad::concat(qsd, 0);
  out.s = ad::concat(ss, 0);
  if (D_ > 0) out.h = ad::concat(hs, 0);
  return out;
}

Var Rssm::imagine(const Var& s0, const Var& h0, const Tensor& actions) const {
  const int K = int(actions.size(0)), B = int(actions.size(1));
  LATCO_CHECK(actions.dim() == 3 && actions.size(2) == A_ && s0.size(0) == B) << "imagine: shapes";
  Var s = s0, h = h0;
  std::vector<Var> zs(K);
  for (int k = 0; k < K; ++k) {
    Var a = ad::constant(actions.slice0(k, k + 1).reshape({B, A_}));
    Var h_next, m, sd, u;
    prior_step(s, h, a, h_next, m, sd, u);
    s = m;  // the mean prediction mu(z, a)
    h = h_next;
    zs[k] = D_ > 0 ? ad::concat({s, h}, 1) : s;
  }
  return ad::concat(zs, 0);
}

void Rssm::batch_tensors(const SequenceBatch& b, Tensor& images, Tensor& actions, Tensor& rewards) const {
  const int size = s_.image_size;
  if (b.H != size || b.W != size)
    LATCO_FAIL("rssm: batch images are " << b.H << "x" << b.W << ", the model expects model_image_size "
                                         << size << "x" << size);
  LATCO_CHECK(b.A == A_) << "rssm: batch action size " << b.A << ", model " << A_;
  const int B = b.B, L = b.L, HW = size * size;
  images = Tensor({int64_t(L) * B, 3, size, size});
  actions = Tensor({L, B, A_});
  rewards = Tensor({int64_t(L) * B, 1});
  struct Job {
    const SequenceBatch* b;
    float *im, *act, *rew;
    int A, HW;
  } job{&b, images.data(), actions.data(), rewards.data(), A_, HW};
  const Job* jp = &job;  // one-pointer capture: no allocation inside std::function
  // Frames converted in parallel over the rows (elementwise: the same values on any thread count).
  parallel_for(int64_t(L) * B, [jp](int64_t r0, int64_t r1) {
    const SequenceBatch& b = *jp->b;
    const int HW = jp->HW, A = jp->A, B = b.B, L = b.L;
    for (int64_t row = r0; row < r1; ++row) {  // time-major: row = t * B + bi
      const int t = int(row / B), bi = int(row % B);
      const size_t in = size_t(bi) * L + t;
      const uint8_t* src = &b.image[in * HW * 3];  // (H, W, 3)
      float* dst = jp->im + row * 3 * HW;          // (3, H, W)
      for (int p = 0; p < HW; ++p)
        for (int c = 0; c < 3; ++c) dst[c * HW + p] = src[p * 3 + c] * (1.0f / 255.0f) - 0.5f;
      std::memcpy(jp->act + row * A, &b.action[in * A], sizeof(float) * A);
      jp->rew[row] = b.reward[in];
    }
  }, 16);
}

// ----- acting -----

RssmState Rssm::initial_state() const {
  RssmState st;
  st.s = Tensor::zeros({S_});
  if (D_ > 0) st.h = Tensor::zeros({D_});
  return st;
}

RssmState Rssm::filter_step(const RssmState& st, const float* action, const uint8_t* image) const {
  ad::NoGradGuard no_grad;
  const int size = s_.image_size, HW = size * size;
  Tensor img({1, 3, size, size});
  for (int p = 0; p < HW; ++p)
    for (int c = 0; c < 3; ++c) img[c * HW + p] = image[p * 3 + c] * (1.0f / 255.0f) - 0.5f;
  Tensor a({1, A_});
  std::memcpy(a.data(), action, sizeof(float) * A_);
  Var s = ad::constant(st.s.reshape({1, S_}));
  Var h = D_ > 0 ? ad::constant(st.h.reshape({1, D_})) : Var();
  Var h_next, pm, psd, u, qm, qsd;
  prior_step(s, h, ad::constant(a), h_next, pm, psd, u);
  posterior(u, project_embedding(encode(ad::constant(img))), qm, qsd);
  RssmState out;
  out.s = qm.value().clone().reshape({S_});
  if (D_ > 0) out.h = h_next.value().clone().reshape({D_});
  return out;
}

void Rssm::latent(const RssmState& st, float* z) const {
  std::memcpy(z, st.s.data(), sizeof(float) * S_);
  if (D_ > 0) std::memcpy(z + S_, st.h.data(), sizeof(float) * D_);
}

}  // namespace latco
