// Gaussian LatCo (Section 3.4, Algorithms 2-3, Appendix C): each step of the plan
// is a diagonal Gaussian q(z_t) = N(m_t, s_t^2) and an action; the constraints
// match m and s to the sample mean and sample std of the model's one-step
// prediction from K reparameterised samples of q(z_t); the reward is the sample
// average over q(z_{t+1}). Solved by the same LM / block machinery (plan/latco.*)
// with state y = [m, s]. Not here: full covariances, higher moments.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/rng.h"
#include "plan/collocation/latco.h"

namespace latco {

// The choices where ours and the released code (planners/probabilistic_latco.py) differ.
struct GaussianProblemOptions {
  int reward_samples = 1;   // samples of q(z_{t+1}) in the reward residuals
  bool std_grad = false;    // gradient through the predicted std S (false: stopped, as released)
  bool resample = true;     // fresh sample noise every iteration (false: fixed for the whole plan)
  bool dual_mean = true;    // Eq. (10) reads |mu(m_t, a_t) - m_{t+1}|^2 (false: the [M, S] mismatch)
};

// `latco_gaussian`'s defaults follow the released code (probabilistic_latco.py and config.yaml's
// platco: 50 moment-matching particles, 1 reward sample, the predicted std's gradient stopped,
// noise redrawn every iteration, lambda on the mean mismatch, 50 iterations, eps 1e-2 for dynamics
// and actions). latco_gaussian_preset: ours gives our variant (50 reward samples, gradient through
// the std, noise fixed per plan, lambda on the mean and std mismatch); single keys override either.
struct GaussianLatcoSettings {
  LatcoSettings lm;          // the shared latco_* keys, with Gaussian LatCo's defaults (see below)
  std::string preset = "released";  // released | ours: the defaults of the four keys below
  int samples = 50;          // K particles per step for moment matching (paper and released: 50)
  int reward_samples = -1;   // samples in the reward residuals (released 1, ours 50; -1: the preset's)
  std::string std_grad;      // stop | through (released: stop; ""/unset: the preset's)
  std::string resample;      // iteration | plan (released: iteration)
  std::string lambda_on;     // mean | mean_std (released: mean)
  double std_init = 1e-6;    // initial plan std s_t (released code)
  int eval_samples = 200;    // stochastic rollouts that score each restart's actions (expected return)
  GaussianProblemOptions opt;  // parsed from the keys above
  GaussianLatcoSettings() {
    lm.iterations = 50;      // released platco: optimization_steps 50
    lm.eps_dyn = 1e-2;       // released platco: dyn_threshold 1e-2 (one threshold for mean and std)
    lm.eps_act = 1e-2;       // released platco: act_threshold 1e-2
  }
  template <class V>
  void visit(V& v) {
    v("latco_gaussian_preset", preset);
    v("latco_gaussian_samples", samples, 2, 100000);
    v("latco_gaussian_reward_samples", reward_samples, -1, 100000);
    v("latco_gaussian_std_grad", std_grad);
    v("latco_gaussian_resample", resample);
    v("latco_gaussian_lambda_on", lambda_on);
    v("latco_gaussian_std_init", std_init, 0.0, 1e6);
    v("latco_gaussian_eval_samples", eval_samples, 1, 1000000);
  }
  // Applies cfg (latco_* and latco_gaussian_* keys), then resolves the preset and parses the options.
  void load(const Config& cfg);
};

// The moment-matching problem over y_t = [m_t, s_t] (Y = 2Z), rows n = (plan k, step t).
// Sample noise is drawn by set_noise and, with opt.resample, redrawn each iteration
// (next_iteration): within an iteration the objective is deterministic, so LM's gain ratio
// compares like with like. Without opt: our variant (reward samples = samples, std gradient,
// fixed noise, lambda on [M, S]).
class GaussianCollocationProblem : public CollocationProblem {
 public:
  GaussianCollocationProblem(const LatentModel& m, int H, int K, int samples, GaussianProblemOptions opt = ours(0));
  static GaussianProblemOptions ours(int samples) { return {samples, true, false, false}; }
  void set_noise(uint64_t seed);
  bool next_iteration() override;
  bool dual_violation(int N, const float* y, const float* a, const float* yn, double* v) const override;
  int state_dim() const override { return 2 * Z_; }
  int action_dim() const override { return A_; }
  int cost_dim() const override { return R_; }
  float action_max() const override { return m_.action_max(); }
  float action_cost() const override { return m_.action_cost(); }
  // f = [sample mean, sample std] of z'^j = mu(z^j, a) + std(z^j, a) xi^j, z^j = m + s eps^j.
  // Fy = [[dM/dm, 0], [dS/dm, 0]]: the std s_t gets no gradient from step t's terms (Appendix C);
  // dS/dm and dS/da are zero when the std's gradient is stopped (released).
  void dynamics(int N, const float* y, const float* a, float* f, float* Fy, float* Fa) const override;
  // c_j = softplus(-r(m + s eps_r^j)) / sqrt(R), R reward samples, gradient on m only; r = sample mean reward.
  void costs(int N, const float* y, float* c, float* Jc, float* r) const override;

 private:
  const LatentModel& m_;
  int H_, K_, S_, R_, Z_, A_, chunk_;
  GaussianProblemOptions opt_;
  uint64_t seed_ = 0;
  int iteration_ = 0;
  std::vector<float> eps_, xi_, eps_r_;  // (K*H, S, Z), (K*H, S, Z), (K*H, R, Z)
  void draw_noise();
  // per-chunk scratch, (chunk*S, ...)
  mutable std::vector<float> zs_, as_, mu_, sd_, zn_, dmu_dz_, dmu_da_, dsd_dz_, dsd_da_, r_, dr_;
};

// Expected return of actions (H,A) (clipped) from z0 under the stochastic model, by
// `samples` sampled rollouts from the stream rng.
double expected_return(const LatentModel& m, const float* z0, const float* actions, int H, int samples, Rng rng);

class GaussianLatcoPlanner : public Planner {
 public:
  GaussianLatcoPlanner(const LatentModel& model, int horizon, const GaussianLatcoSettings& s);
  std::string name() const override { return "latco_gaussian"; }
  // predicted_return is the Monte-Carlo expected return of the chosen actions.
  const PlanResult& plan(const float* z0, uint64_t seed) override;
  CollocationLM& solver() { return *lm_; }

 private:
  const LatentModel& model_;
  GaussianLatcoSettings s_;
  int H_, Z_, A_;
  GaussianCollocationProblem problem_;
  std::unique_ptr<CollocationLM> lm_;
  std::vector<float> std_;
  PlanResult result_;
};

}  // namespace latco
