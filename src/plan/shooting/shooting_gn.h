// Shooting with Gauss-Newton (Appendix D "Shooting GN"): the H*A actions are the
// only unknowns; residuals are the state cost (softplus(-r(z_t)) or the model's own
// cost residuals), sqrt(w) a_t for the action cost, and action-bound residuals.
// The Jacobian w.r.t. all actions is built through the rollout (forward sensitivities
// or backward adjoint sweeps) and the damped normal equations solved densely (H*A is small).
// Presets (gn_preset): released (default; planners/shooting_gn.py): no clipping, one residual
// per step, softplus(-r(z_{t+1})) + sum_i sqrt(nu_ti) max(0, |a_ti| - 1) (with a model's own
// cost residuals: added to the first), multipliers nu_ti += max(0, |a_ti| - 1) every step from 1.
// ours: actions clipped after every step, separate bound residuals with a fixed weight.
// Not here: line search (the released code takes a fixed 0.1 step), warm starts.
#pragma once
#include <string>
#include <vector>

#include "plan/planner.h"
#include "plan/rollout.h"

namespace latco {

// How d rho / d a is formed: forward sensitivities S_t = dz_t/da (cost ~ H^2 A Z^2 / 2), or one
// backward adjoint sweep per residual row (~ C H^2 Z^2 / 2); auto picks adjoint when C < A.
enum class GnJacobian { Auto, Forward, Adjoint };

struct ShootingGnSettings {
  int iterations = 100;      // Gauss-Newton steps (released code: 100)
  double damping = 1e-2;     // (J^T J + damping I) (released code: 1e-2)
  double step = 0.1;         // step scale on the Gauss-Newton direction (released code: 0.1)
  float init_std = 1.0f;     // actions start N(0, init_std^2) (clipped when clip)
  bool clip = false;         // clip actions to the bounds after each step (released: no; ours: yes)
  float act_weight = 1.0f;   // nu: (initial) weight of the residual sqrt(nu) max(0, |a| - a_m)
  double act_lr = 1.0;       // nu_ti += act_lr max(0, |a_ti| - a_m) after each step (released lam_lr 1; ours 0)
  std::string residuals = "summed";  // summed: one residual per step (released) | separate (ours)
  std::string preset = "released";   // released | ours: the defaults of clip, act_lr, residuals
  std::string jacobian = "auto";  // auto | forward | adjoint (same J, different cost)
  bool summed = true;        // parsed from residuals
  // Reads gn_preset, then every key (which override the preset).
  void load(const Config& cfg);
  template <class V>
  void visit(V& v) {
    v("gn_preset", preset);
    v("gn_residuals", residuals);
    v("gn_act_lr", act_lr, 0.0, 1e12);
    v("gn_iterations", iterations, 1, 10000000);
    v("gn_damping", damping, 0.0, 1e12);
    v("gn_step", step, 1e-9, 10.0);
    v("gn_init_std", init_std, 0.0, 1e3);
    v("gn_clip", clip);
    v("gn_act_weight", act_weight, 0.0, 1e12);
    v("gn_jacobian", jacobian);
  }
};

class ShootingGn : public Planner {
 public:
  ShootingGn(const LatentModel& model, int horizon, const ShootingGnSettings& s);
  std::string name() const override { return "shooting_gn"; }
  const PlanResult& plan(const float* z0, uint64_t seed) override;

 private:
  const LatentModel& m_;
  int H_, Z_, A_, C_;
  ShootingGnSettings s_;
  bool adjoint_ = false;          // GnJacobian resolved for this model
  PlanResult res_;
  Linearization lin_;             // z, fz, fa (dr unused)
  std::vector<float> a_;          // (H, A)
  std::vector<double> nu_;        // (H, A) bound multipliers
  std::vector<float> c_, dc_;     // (H, C), (H, C, Z) state residuals at z_1..z_H
  std::vector<float> r_s_, dr_s_; // (H), (H, Z) scratch for the softplus residual
  std::vector<double> S_, S_next_;  // (Z, HA) sensitivity dz_t / da
  std::vector<double> Jrow_;      // (C, HA) d c(z_t) / da
  std::vector<double> v_, v_next_;  // (Z) adjoint sweep
  std::vector<double> JtJ_;       // (HA, HA)
  std::vector<double> Jtr_;       // (HA)
};

}  // namespace latco
