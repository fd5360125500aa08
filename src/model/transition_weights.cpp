#include "model/transition_weights.h"

#include <cmath>

namespace latco {
namespace {
Tensor glorot(int in, int out, Rng& rng) {
  Tensor w({in, out});
  const float lim = std::sqrt(6.0f / float(in + out));
  for (int64_t i = 0; i < w.numel(); ++i) w[i] = rng.uniform(-lim, lim);
  return w;
}
}  // namespace

TransitionWeights TransitionWeights::init(const TransitionSizes& sz, Rng& rng) {
  TransitionWeights t;
  t.sz = sz;
  const int S = sz.stoch, D = sz.deter, Hd = sz.hidden, A = sz.action, Hr = sz.reward_hidden, Z = sz.latent();
  t.W_in = glorot(S + A, Hd, rng);
  t.b_in = Tensor::zeros({Hd});
  if (D > 0) {
    t.W_x = glorot(Hd, 3 * D, rng);
    t.b_x = Tensor::zeros({3 * D});
    t.W_h = glorot(D, 3 * D, rng);
    t.b_h = Tensor::zeros({3 * D});
  }
  t.W_p = glorot(D > 0 ? D : Hd, Hd, rng);
  t.b_p = Tensor::zeros({Hd});
  t.W_m = glorot(Hd, S, rng);
  t.b_m = Tensor::zeros({S});
  t.W_s = glorot(Hd, S, rng);
  t.b_s = Tensor::zeros({S});
  t.R1 = glorot(Z, Hr, rng);
  t.c1 = Tensor::zeros({Hr});
  t.R2 = glorot(Hr, Hr, rng);
  t.c2 = Tensor::zeros({Hr});
  t.R3 = glorot(Hr, 1, rng);
  t.c3 = Tensor::zeros({1});
  return t;
}

}  // namespace latco
