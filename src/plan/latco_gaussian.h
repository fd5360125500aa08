// Gaussian LatCo (Section 3.4, Algorithms 2-3, Appendix C): each step of the plan
// is a diagonal Gaussian q(z_t) = N(m_t, s_t^2) and an action; the constraints
// match m and s to the sample mean and sample std of the model's one-step
// prediction from K reparameterised samples of q(z_t); the reward is the sample
// average over q(z_{t+1}). Solved by the same LM / block machinery (plan/latco.*)
// with state y = [m, s]. Not here: full covariances, higher moments.
#pragma once
#include <memory>
#include <vector>

#include "core/rng.h"
#include "plan/latco.h"

namespace latco {

struct GaussianLatcoSettings {
  LatcoSettings lm;          // the shared latco_* keys, with Gaussian LatCo's defaults (see below)
  int samples = 50;          // K particles per step for moment matching and the reward (paper: 50)
  double std_init = 1e-6;    // initial plan std s_t (released code)
  int eval_samples = 200;    // stochastic rollouts that score each restart's actions (expected return)
  GaussianLatcoSettings() {
    lm.iterations = 50;      // paper: Gaussian LatCo converges in fewer steps
    lm.eps_dyn = 1e-2;       // one threshold for mean and std (paper: 1e-2)
    lm.eps_act = 1e-2;
  }
  template <class V>
  void visit(V& v) {
    v("latco_gaussian_samples", samples, 2, 100000);
    v("latco_gaussian_std_init", std_init, 0.0, 1e6);
    v("latco_gaussian_eval_samples", eval_samples, 1, 1000000);
  }
  void load(const Config& cfg) {
    lm.load(cfg);
    cfg.apply(*this);
  }
};

// The moment-matching problem over y_t = [m_t, s_t] (Y = 2Z), rows n = (plan k, step t).
// Sample noise is fixed per plan (set_noise), so the objective is deterministic
// within a plan and LM sees a smooth least-squares problem.
class GaussianCollocationProblem : public CollocationProblem {
 public:
  GaussianCollocationProblem(const LatentModel& m, int H, int K, int samples);
  void set_noise(uint64_t seed);
  int state_dim() const override { return 2 * Z_; }
  int action_dim() const override { return A_; }
  int cost_dim() const override { return S_; }
  float action_max() const override { return m_.action_max(); }
  float action_cost() const override { return m_.action_cost(); }
  // f = [sample mean, sample std] of z'^j = mu(z^j, a) + std(z^j, a) xi^j, z^j = m + s eps^j.
  // Fy = [[dM/dm, 0], [dS/dm, 0]]: the std s_t gets no gradient from step t's terms (Appendix C).
  void dynamics(int N, const float* y, const float* a, float* f, float* Fy, float* Fa) const override;
  // c_j = softplus(-r(m + s eps_r^j)) / sqrt(K), gradient on m only; r = sample mean reward.
  void costs(int N, const float* y, float* c, float* Jc, float* r) const override;

 private:
  const LatentModel& m_;
  int H_, K_, S_, Z_, A_, chunk_;
  std::vector<float> eps_, xi_, eps_r_;  // (K*H, S, Z) each
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
  // The chosen plan's std s_0..s_H: (H+1, Z).
  const std::vector<float>& plan_std() const { return std_; }
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
