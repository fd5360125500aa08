// Deterministic LatCo (Section 3.3, Eq. 6, 8, 9, 10; Algorithm 1's planning step):
// collocation over latents and actions, Levenberg-Marquardt on the residuals of
// plan/collocation/latco_residuals.h with the block-tridiagonal solve, a dual update per step.
// CollocationLM is the solver, shared with Gaussian LatCo (plan/latco_gaussian.*).
// Not here: executing plans (agent/), learned-model Jacobians (model/).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "io/config.h"
#include "plan/collocation/latco_residuals.h"
#include "plan/planner.h"

namespace latco {

enum class DampingSchedule { Adaptive, Constant };
// adaptive: ours, Levenberg-Marquardt with gain-ratio accept/reject (Nielsen's damping update).
// released: the released code's Gauss-Newton step exactly: every residual scaled per plan by
//   N = 1 / (mean_t sqrt(lambda_t) + mean_t sqrt(nu_t) + 1), the step solving
//   (2 N^2 J^T J + d I) dx = -2 N^2 J^T rho with constant d = latco_damping, always taken.
//   That is (J^T J + d / (2 N^2) I) dx = -J^T rho: a damping that grows with the multipliers.
enum class LatcoSolver { Adaptive, Released };

struct LatcoSettings {
  int iterations = 200;            // LM iterations per plan (paper: 200 tabletop, 100 locomotion)
  double eps_dyn = 1e-4;           // dynamics threshold epsilon of Eq. (8)/(10) (DMC: 1e-2)
  double eps_act = 1e-4;           // action-bound threshold
  double lambda0 = 1;              // initial dynamics multiplier
  double nu0 = 1;                  // initial action multiplier
  double alpha = 0.1;              // dual step size of Eq. (10)
  double eta = 0.01;               // Eq. (10)'s eta (paper rule; the released rule fixes 0.1)
  std::string dual_rule = "paper"; // paper: ln(v/eps + eta); released: log10(v/eps + 0.1), and the action
                                   //   violation it reads is sum max(0, a^2 - a_max^2) as in the released code
  std::string solver = "adaptive"; // adaptive (ours) or released (the released code's GN step; see LatcoSolver)
  double damping = 1e-3;           // adaptive: initial LM damping; released: d of (2 N^2 J^T J + d I)
  std::string damping_schedule = "adaptive";  // adaptive solver only. adaptive: gain-ratio accept/reject
                                              //   (Nielsen); constant: fixed damping, always step (ours, not
                                              //   the released optimiser: no factor 2, no normalisation N)
  int restarts = 1;                // K plans from independent initialisations, optimised in one batch
  std::string winner = "mean";     // the restart kept: best return of its clipped actions rolled through
                                   //   the mean model (mean, ours) or one sampled rollout (sample, released)
  bool warm_start = false;         // plan 0 starts from the previous plan, shifted (released code: no)
  double init_std = 1;             // z and a initialised from N(0, init_std) (released code)
  bool fixed_multipliers = false;  // keep lambda0 / nu0 (ablation "no constrained optimisation")
  // Ours, not in the paper or the released code: after Eq. (10) the multipliers are floored at their
  // initial values (initial) or not (none). Without it a step that is feasible after the first LM step
  // has its lambda shrunk geometrically (paper rule: x0.54 per iteration) until the whole violation
  // moves into that step and crawls along the horizon (the LQ problem does not converge in 200
  // iterations). auto: initial for the adaptive solver, none for the released one.
  std::string multiplier_floor = "auto";  // initial, none or auto (initial for adaptive, none for released)
  // Ours, not in the paper or the released code: clamp the multipliers to [lambda_min, lambda_max]
  // after Eq. (10) (on / off). auto: on for the adaptive solver, off for the released one.
  std::string multiplier_clamp = "auto";  // on, off or auto (on for adaptive, off for released)
  double lambda_min = 1e-6;        // the clamp's bounds (used when the clamp is on)
  double lambda_max = 1e12;        // the clamp's upper bound
  bool dense_solve = false;        // solve Eq. (9) by one dense Cholesky (reference and benchmark only)

  DualRule rule = DualRule::Paper;                   // parsed from dual_rule
  DampingSchedule schedule = DampingSchedule::Adaptive;  // parsed from damping_schedule
  LatcoSolver solver_kind = LatcoSolver::Adaptive;       // parsed from solver
  bool floor_initial = true;                             // parsed from multiplier_floor
  bool clamp = true;                                     // parsed from multiplier_clamp

  template <class V>
  void visit(V& v) {
    v("latco_iterations", iterations, 0, 1000000);
    v("latco_eps_dyn", eps_dyn, 0.0, 1e30);
    v("latco_eps_act", eps_act, 0.0, 1e30);
    v("latco_lambda0", lambda0, 0.0, 1e30);
    v("latco_nu0", nu0, 0.0, 1e30);
    v("latco_alpha", alpha, 0.0, 10.0);
    v("latco_eta", eta, 0.0, 1e6);
    v("latco_dual_rule", dual_rule);
    v("latco_solver", solver);
    v("latco_damping", damping, 0.0, 1e30);
    v("latco_damping_schedule", damping_schedule);
    v("latco_restarts", restarts, 1, 4096);
    v("latco_winner", winner);
    v("latco_warm_start", warm_start);
    v("latco_init_std", init_std, 0.0, 1e6);
    v("latco_fixed_multipliers", fixed_multipliers);
    v("latco_multiplier_floor", multiplier_floor);
    v("latco_multiplier_clamp", multiplier_clamp);
    v("latco_lambda_min", lambda_min, 0.0, 1e30);
    v("latco_lambda_max", lambda_max, 0.0, 1e30);
    v("latco_dense_solve", dense_solve);
  }
  // Applies cfg over the current values (presets first), then parses the enum keys.
  void load(const Config& cfg);
};

class LatcoDeviceSolver;  // plan/latco_device.h

// The LM solver over K plans of one CollocationProblem, sized once for (H, Y, A, C, K).
class CollocationLM {
 public:
  CollocationLM(CollocationProblem& p, int H, int K, const LatcoSettings& s);
  int H() const { return H_; }
  int K() const { return K_; }
  // Plan k's unknowns, to initialise before begin(): a: (H, A), y: (H+1, Y) with y_0 pinned.
  float* actions(int k) { return a_.data() + size_t(k) * H_ * A_; }
  float* states(int k) { return y_.data() + size_t(k) * (H_ + 1) * Y_; }
  const float* actions(int k) const { return a_.data() + size_t(k) * H_ * A_; }
  const float* states(int k) const { return y_.data() + size_t(k) * (H_ + 1) * Y_; }
  // Assemble and solve Eq. (9) on the GPU from now on (plan/latco_device.cpp); throws without CUDA.
  void use_device();
  // Resets multipliers and damping, evaluates the problem at the current plans.
  void begin();
  // One LM iteration on every plan (Eq. 9) followed by the dual update (Eq. 10).
  void step();
  // Plan k's multipliers of step t (after the last dual update).
  double lambda(int k, int t) const { return lambda_[size_t(k) * H_ + t]; }
  double nu(int k, int t) const { return nu_[size_t(k) * H_ + t]; }
  // The released solver's residual scale N of plan k at its current multipliers.
  double released_scale(int k) const;
  // Diagnostics of plan k at its current point (reward from the problem's r).
  IterStats stats(int k) const;
  double cost(int k) const;
  // Seconds spent since construction, by part (accumulated over steps). The block solve assembles
  // the normal equations as it factors: its assembly is in t_solve (t_assembly: the dense solve's).
  double t_derivatives = 0, t_rollouts = 0, t_assembly = 0, t_solve = 0, t_other = 0;
  int factor_failures = 0;

 private:
  PlanView view(int k, bool trial) const;
  void evaluate(bool trial, bool jacobians);
  bool solve_plan(int k);

  CollocationProblem& p_;
  LatcoSettings s_;
  int H_, K_, Y_, A_, C_, n_;
  // Current point and trial point: a (K,H,A), y (K,H+1,Y); batched model buffers (K*H rows).
  std::vector<float> a_, y_, a_try_, y_try_;
  std::vector<float> yin_, yout_;                    // (K*H, Y) gathered y_t, y_{t+1}
  std::vector<float> f_, c_, r_, f_try_, c_try_, r_try_;  // (K*H, Y), (K*H, C), (K*H)
  std::vector<float> Fy_, Fa_, Jc_;                  // (K*H, Y, Y), (K*H, Y, A), (K*H, C, Y)
  std::vector<double> lambda_, nu_, dyn_, act_;      // (K, H)
  std::vector<double> dual_dyn_;                     // (K, H) the problem's own violation for Eq. (10)
  std::vector<double> damping_, growth_;             // (K) LM damping (released: d / 2N^2) and Nielsen's growth factor
  std::vector<double> g_, Lf_, Cf_, dx_;             // (H,n), (H,n,n) x2, (H,n): one plan at a time
  std::vector<double> D_, B_, dense_;                // (H,n,n) x2, (Hn, Hn) only with dense_solve
  std::vector<double> pred_, cost0_;                 // (K) predicted reduction of the trial step, cost before it
  std::vector<char> accept_;                         // (K)
  std::shared_ptr<LatcoDeviceSolver> device_;  // set by use_device()
};

// A LatentModel seen as a CollocationProblem: y = z, f = mu, costs = the model's
// cost residuals when it has them, else softplus(-r(z)) (Section 4).
class LatentCollocationProblem : public CollocationProblem {
 public:
  explicit LatentCollocationProblem(const LatentModel& m);
  int state_dim() const override { return m_.latent_dim(); }
  int action_dim() const override { return m_.action_dim(); }
  int cost_dim() const override { return C_; }
  float action_max() const override { return m_.action_max(); }
  float action_cost() const override { return m_.action_cost(); }
  void dynamics(int N, const float* y, const float* a, float* f, float* Fy, float* Fa) const override;
  void costs(int N, const float* y, float* c, float* Jc, float* r) const override;

 private:
  const LatentModel& m_;
  int C_;
  bool model_costs_;
  mutable std::vector<float> dr_;  // (N, Z) reward gradients, grown on first use
};

// Planner `latco` (and the Table 3 ablation presets).
class LatcoPlanner : public Planner {
 public:
  LatcoPlanner(const LatentModel& model, int horizon, const LatcoSettings& s, std::string name = "latco");
  std::string name() const override { return name_; }
  const PlanResult& plan(const float* z0, uint64_t seed) override;
  void reset() override { has_prev_ = false; }
  void shift(int steps) override;
  const LatcoSettings& settings() const { return s_; }
  // Fine timing of the last plan (seconds): the benchmark reads these.
  double assembly_seconds() const { return t_assembly_; }
  // For the benchmark: the solver after begin(), to time single iterations.
  CollocationLM& solver() { return *lm_; }
  void initialise(const float* z0, uint64_t seed);

 private:
  const LatentModel& model_;
  std::string name_;
  LatcoSettings s_;
  int H_, Z_, A_;
  LatentCollocationProblem problem_;
  std::unique_ptr<CollocationLM> lm_;
  std::vector<float> prev_a_, prev_z_;  // (H,A), (H+1,Z) the last winner (warm start)
  bool has_prev_ = false;
  std::vector<float> rollout_z_;        // (H+1, Z)
  double t_assembly_ = 0;
  PlanResult result_;
};

}  // namespace latco
