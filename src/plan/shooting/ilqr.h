// iLQR (Tassa, Erez & Todorov 2012) on the latent model, as the paper's iLQR
// baseline (Appendix D): backward pass with a regulariser mu on Q_uu (doubled when
// Q_uu is not positive definite), forward pass with a line search over alpha.
// Two presets (ilqr_preset):
//   released (default; planners/shooting_ilqr.py): cost -r(z) with its full Hessian (central
//     differences of the model's reward gradient), mu from 20 and only ever doubled, a step size
//     alpha kept across iterations (x0.5 per failed trial, x1.5 up to 1 after success), actions
//     from zero, not clipped but penalised by lambda max(0, a^2 - 1) with lambda += that
//     violation's sum every iteration, 200 iterations.
//   ours: Gauss-Newton expansion of |softplus(-r)|^2 (or the model's cost residuals), mu from
//     1e-6, halved after an accepted step, alpha from 1 each iteration, actions from N(0, 1)
//     clipped in the forward pass, 50 iterations.
// The result is the open-loop action sequence (the paper found feedback worse).
// Not here: box-constrained Q_uu solves.
#pragma once
#include <string>
#include <vector>

#include "plan/planner.h"
#include "plan/rollout.h"

namespace latco {

// The local LQ problem around a nominal trajectory (cost to minimise):
//   sum_{t=0}^{H-1} l_t(z_t, a_t) + l_H(z_H),  dz_{t+1} = fz_t dz_t + fa_t da_t.
struct LqrExpansion {
  int H = 0, Z = 0, A = 0;
  const float* fz = nullptr;    // (H, Z, Z)
  const float* fa = nullptr;    // (H, Z, A)
  const double* lz = nullptr;   // (H+1, Z)    d l_t / d z_t
  const double* lzz = nullptr;  // (H+1, Z, Z)
  const double* la = nullptr;   // (H, A)
  const double* laa = nullptr;  // (H, A, A)
};

// Scratch for the backward pass, sized once.
struct BackwardWorkspace {
  std::vector<double> Vx, Vxx, Qx, Qu, Qxx, Quu, Qux, VF, VG, L;  // VF, VG: (Z,Z), (Z,A)
  std::vector<double> FT, GT;  // (Z, Z), (A, Z): transposed step Jacobians in double (fast version)
  std::vector<double> QuuK;    // (A, Z)
  void resize(int Z, int A);
};

// The backward pass as a pure function. Outputs k: (H, A), K: (H, A, Z) with
//   da_t = alpha k_t + K_t dz_t,
// and the expected cost change dV = alpha dV[0] + alpha^2 dV[1].
// Q_uu gets + mu I. Returns -1 on success, else the step t at which Q_uu was not
// positive definite (k, K then undefined).
// ilqr_backward_pass forms F^T Vxx F, G^T Vxx F, G^T Vxx G with the blocked dgemm_nt of
// linalg/dense.h; ilqr_backward_pass_ref is the plain-loop version it is tested against.
int ilqr_backward_pass(const LqrExpansion& e, double mu, BackwardWorkspace* ws, double* k, double* K, double dV[2]);
int ilqr_backward_pass_ref(const LqrExpansion& e, double mu, BackwardWorkspace* ws, double* k, double* K,
                           double dV[2]);

struct IlqrSettings {
  int iterations = 200;       // outer iterations (backward + forward pass) (released 200; ours 50)
  double mu_init = 20;        // initial regulariser on Q_uu (released ilqr_u_trustreg 20; ours 1e-6)
  double mu_min = 1e-6;       // lower bound after decreases (ours)
  double mu_max = 1e10;       // stop when the regulariser exceeds this
  double mu_factor = 2.0;     // raise / lower factor (paper: x2 when Q_uu is not positive definite)
  int line_search = 10;       // trials per iteration (ours: alphas 1, 1/2, ..., 2^-(line_search-1))
  float init_std = 0.0f;      // initial actions N(0, init_std^2) (released: zeros; ours 1)
  std::string preset = "released";  // released | ours: the defaults of the keys above and below
  std::string cost = "reward";      // reward: -r, full Hessian (released) | softplus2: Gauss-Newton (ours)
  std::string schedule = "released";  // released: mu only doubled, alpha kept | ours: Tassa-style
  std::string actions = "penalty";  // penalty: unclipped, lambda max(0, a^2 - 1) (released) | clip (ours)
  double act_lr = 1.0;              // penalty multipliers' step (released lam_lr 1)
  // Parsed.
  bool reward_cost = true, released_schedule = true, penalty = true;
  void apply_preset(const std::string& name);
  // Reads ilqr_preset, then every key (which override the preset).
  void load(const Config& cfg);
  template <class V>
  void visit(V& v) {
    v("ilqr_preset", preset);
    v("ilqr_cost", cost);
    v("ilqr_schedule", schedule);
    v("ilqr_actions", actions);
    v("ilqr_act_lr", act_lr, 0.0, 1e12);
    v("ilqr_iterations", iterations, 1, 1000000);
    v("ilqr_mu_init", mu_init, 0.0, 1e12);
    v("ilqr_mu_min", mu_min, 0.0, 1e12);
    v("ilqr_mu_max", mu_max, 0.0, 1e30);
    v("ilqr_mu_factor", mu_factor, 1.01, 1e6);
    v("ilqr_line_search", line_search, 1, 60);
    v("ilqr_init_std", init_std, 0.0, 1e3);
  }
};

class Ilqr : public Planner {
 public:
  Ilqr(const LatentModel& model, int horizon, const IlqrSettings& s);
  std::string name() const override { return "ilqr"; }
  const PlanResult& plan(const float* z0, uint64_t seed) override;
  // The last iteration's cost Hessians l_zz at z_0..z_H: (H+1, Z, Z) (for tests).
  const std::vector<double>& cost_hessians() const { return lzz_; }

 private:
  // Rolls a_new = clip(a + alpha k + K (z_new - z)) into trial_; returns its cost.
  double forward_pass(const float* z0, double alpha);
  // Cost of the trajectory in lin: sum_t |c(z_t)|^2 (or -r(z_t)) + w |a_t|^2.
  double trajectory_cost(const Linearization& lin);
  // l_zz at z_1..z_H of nom_ for the cost -r: central differences of the reward gradient, symmetrised.
  void reward_hessian();

  const LatentModel& m_;
  int H_, Z_, A_, C_;
  IlqrSettings s_;
  PlanResult res_;
  Linearization nom_, trial_;        // nominal and line-search trajectories
  std::vector<float> c_, dc_;        // (H, C), (H, C, Z) state residuals at z_1..z_H
  std::vector<float> r_s_, dr_s_;    // (H), (H, Z) scratch
  std::vector<double> lz_, lzz_, la_, laa_;  // see LqrExpansion
  std::vector<double> k_, K_;        // (H, A), (H, A, Z)
  std::vector<double> pen_;          // (H, A) action penalty multipliers (released)
  std::vector<float> hz_, hg_p_, hg_m_, hr_;  // (H*Z, Z) x3, (H*Z) scratch of reward_hessian
  BackwardWorkspace ws_;
};

}  // namespace latco
