// The "LatCo no second order" ablation (Section 5.4, Appendix B): the same
// Lagrangian as LatCo (Eq. 8 with LatCo's residuals), optimised over
// z_1..z_H and a_0..a_{H-1} by Adam instead of Levenberg-Marquardt, with the
// plain gradient rule for the multipliers every few steps instead of Eq. (10).
// Not here: image collocation (plan/image_collocation.*), parallel reinitialisations.
#pragma once
#include <string>
#include <vector>

#include "nn/adam.h"
#include "plan/planner.h"
#include "plan/rollout.h"

namespace latco {

struct LatcoFirstOrderSettings {
  int iterations = 5000;     // Adam steps (paper: 5000)
  float lr = 0.05f;          // Adam learning rate (the paper does not state it; shooting GD's 0.05)
  int dual_every = 5;        // steps between multiplier updates (paper: 5)
  double dual_lr = 1.5;      // lambda += dual_lr * (violation - eps) (paper: 1.5)
  double lambda_init = 1.0;  // initial dynamics multipliers (paper: 1)
  double nu_init = 1.0;      // initial action-bound multipliers (paper: 1)
  double eps_dyn = 1e-4;     // dynamics threshold (paper Metaworld: 1e-4; DMC: 1e-2)
  double eps_act = 1e-4;     // action threshold
  float init_std = 1.0f;     // z_1..z_H and a start N(0, init_std^2) (released code: 1)
  // The released LatCoGD's objective: -sum r(z_t) (reward) and the dynamics term scaled by 1e4
  // (its dyn_loss_scale). Ours before: softplus(-r)^2 (softplus2), as LatCo's LM residuals, scale 1.
  std::string objective = "reward";  // reward: -r(z); softplus2: softplus(-r(z))^2 (or the model's |c|^2)
  double dyn_scale = 1e4;            // weight on sum lambda_t |z_{t+1} - mu|^2 (released dyn_loss_scale)
  // Parsed from objective.
  bool reward_objective = true;
  template <class V>
  void visit(V& v) {
    v("fo_iterations", iterations, 1, 100000000);
    v("fo_lr", lr, 1e-9, 1e3);
    v("fo_dual_every", dual_every, 1, 1000000);
    v("fo_dual_lr", dual_lr, 0.0, 1e9);
    v("fo_lambda_init", lambda_init, 0.0, 1e12);
    v("fo_nu_init", nu_init, 0.0, 1e12);
    v("fo_eps_dyn", eps_dyn, 0.0, 1e6);
    v("fo_eps_act", eps_act, 0.0, 1e6);
    v("fo_init_std", init_std, 0.0, 1e3);
    v("fo_objective", objective);
    v("fo_dyn_scale", dyn_scale, 0.0, 1e30);
  }
  // Applies cfg over the current values, then parses fo_objective.
  void load(const Config& cfg);
};

// The objective Adam minimises (Eq. 8, constants dropped):
//   L = sum_{t=0}^{H-1} q(z_{t+1}) + w |a_t|^2 + s lambda_t |z_{t+1} - mu(z_t, a_t)|^2
//                     + nu_t |max(0, |a_t| - a_m)|^2,
// with q = -r (fo_objective: reward) or |c|^2, c = softplus(-r) or the model's cost residuals
// (softplus2), and s = fo_dyn_scale.
// The paper's ablation (Section 5.4, Appendix B) is this: Adam on the Lagrangian, 5000 steps, the
// multipliers by plain gradient steps of 1.5 every 5 steps. The released LatCoGD config
// (latco_first_order) never calls its own gradient-descent routine: its agent runs the LM solver
// of latco.py. What is implemented here is what the paper describes, with the released
// routine's objective (-r, dynamics scale 1e4). Remaining differences to that routine: it adds
// no eps to the multiplier step (lambda += 1.5 v) and penalises max(0, a^2 - 1).
class LatcoFirstOrder : public Planner {
 public:
  LatcoFirstOrder(const LatentModel& model, int horizon, const LatcoFirstOrderSettings& s);
  std::string name() const override { return "latco_no_second_order"; }
  const LatcoFirstOrderSettings& settings() const { return s_; }
  const PlanResult& plan(const float* z0, uint64_t seed) override;

  // L and its gradient at x = [z_1..z_H (H,Z), a (H,A)] for z0: (Z) with multipliers
  // lambda, nu: (H); grad: (H*Z + H*A) when non-null. Per-step squared violations
  // go to dyn, act: (H) when non-null. Public for the finite-difference test.
  double lagrangian(const float* z0, const float* x, const double* lambda, const double* nu, float* grad,
                    double* dyn, double* act);

 private:
  const LatentModel& m_;
  int H_, Z_, A_, C_;
  LatcoFirstOrderSettings s_;
  PlanResult res_;
  std::vector<float> x_;           // (H*Z + H*A): z_1..z_H then a_0..a_{H-1}
  std::vector<float> g_;           // same layout
  std::vector<float> zfull_;       // (H+1, Z) z_0..z_H
  std::vector<float> mu_, fz_, fa_;  // (H, Z), (H, Z, Z), (H, Z, A)
  std::vector<float> c_, dc_;      // (H, C), (H, C, Z)
  std::vector<float> r_s_, dr_s_;  // (H), (H, Z)
  std::vector<double> lambda_, nu_, dyn_, act_;  // (H) each
  Linearization lin_;              // final shooting rollout of the actions
  nn::FlatAdam adam_;
  TimingBreakdown* timing_ = nullptr;  // where lagrangian() books its time during plan()
};

}  // namespace latco
