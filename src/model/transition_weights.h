// The parameters of the RSSM's latent transition and reward head, shared by the
// training graph (model/rssm.*: these tensors are the storage of its trainable
// Vars) and the planner's fast hand-written view (model/rssm_latent_model.*).
// Conventions: a dense layer is y = x W + b with W stored (in, out) row-major.
//
// Latent z = [s, h]: stochastic s (S), deterministic h (D); Z = S + D.
// Prior step (PlaNet's RSSM), action a (A), hidden size Hd:
//   x  = ELU([s, a] W_in + b_in)                         (Hd)
//   gates: g_x = x W_x + b_x,  g_h = h W_h + b_h         (3D each, order [r, u, n])
//   r  = sigmoid(g_x[r] + g_h[r]),  u = sigmoid(g_x[u] + g_h[u])
//   n  = tanh(g_x[n] + r * g_h[n])
//   h' = (1 - u) * n + u * h                             (D)      GRU, standard gates
//   y  = ELU(h' W_p + b_p)                               (Hd)
//   m  = y W_m + b_m,  sd = softplus(y W_s + b_s) + min_std   (S each)
//   mu(z, a) = [m, h']      the mean one-step prediction the planner uses
// Without the deterministic path (ablation "no deterministic latent": the released code's SSM,
// 2 layers of Hd units, the second a sigmoid), D = 0 and x feeds y directly:
//   y = sigmoid(x W_p + b_p) with W_p (Hd, Hd);  m, sd as above;  mu(z, a) = m.
// Reward head: r(z) = ELU(ELU(z R1 + c1) R2 + c2) R3 + c3,   R1 (Z,Hr), R2 (Hr,Hr), R3 (Hr,1).
#pragma once
#include "core/rng.h"
#include "core/tensor.h"

namespace latco {

struct TransitionSizes {
  int stoch = 30;        // S
  int deter = 200;       // D (0 = no deterministic path)
  int hidden = 200;      // Hd
  int action = 4;        // A
  int reward_hidden = 400;  // Hr
  float min_std = 0.1f;
  int latent() const { return stoch + deter; }
};

struct TransitionWeights {
  TransitionSizes sz;
  Tensor W_in, b_in;   // (S+A, Hd), (Hd)
  Tensor W_x, b_x;     // (Hd, 3D), (3D)
  Tensor W_h, b_h;     // (D, 3D), (3D)
  Tensor W_p, b_p;     // (D or Hd, Hd), (Hd)
  Tensor W_m, b_m;     // (Hd, S), (S)
  Tensor W_s, b_s;     // (Hd, S), (S)
  Tensor R1, c1, R2, c2, R3, c3;  // reward head

  // Glorot-uniform weights, zero biases, from the given stream.
  static TransitionWeights init(const TransitionSizes& sz, Rng& rng);
};

}  // namespace latco
