// Sampling-based shooting planners (Appendix D): CEM (PlaNet) and MPPI, one
// mechanism. A diagonal Gaussian over action sequences is sampled, every sample
// rolled through the model in one batch, and the Gaussian refit: CEM to the elites,
// weighed equally; MPPI to every sample weighed by softmax(gamma * return) (released
// code; `mppi_weights: elites` is ours: the softmax over the elites only).
// Not here: warm starts.
#pragma once
#include <string>
#include <vector>

#include "plan/planner.h"
#include "plan/rollout.h"

namespace latco {

struct SamplingSettings {
  std::string prefix = "cem";  // "cem" or "mppi": the config key prefix and planner name
  int samples = 1000;          // action sequences per iteration (paper tabletop CEM: 10,000)
  int elites = 100;            // sequences the Gaussian is refit to (paper: 100)
  int iterations = 10;         // refits (paper tabletop: 100; DMC: 10)
  float init_std = 1.0f;       // initial std of the Gaussian (mean 0) (paper: 1)
  float min_var = 1e-6f;       // std = sqrt(var + min_var) (released CEM: 1e-6; released MPPI: 0)
  float gamma = 0.0f;          // MPPI softmax temperature (paper: 10); 0 means CEM's equal weights
  std::string weights = "elites";  // MPPI: all (released: softmax over every sample) | elites (ours)
  bool all_samples = false;        // parsed from weights

  // Paper presets: "cpu" (the defaults above), "tabletop" (Appendix B Metaworld),
  // "dmc" (Appendix B DM Control). Read from `<prefix>_preset` before the other keys.
  void preset(const std::string& name);
  template <class V>
  void visit(V& v) {
    v((prefix + "_samples").c_str(), samples, 1, 100000000);
    v((prefix + "_elites").c_str(), elites, 1, 100000000);
    v((prefix + "_iterations").c_str(), iterations, 1, 1000000);
    v((prefix + "_init_std").c_str(), init_std, 1e-6, 1e6);
    v((prefix + "_min_var").c_str(), min_var, 0.0, 1e6);
    if (prefix == "mppi") v("mppi_gamma", gamma, 1e-9, 1e9);
    if (prefix == "mppi") v("mppi_weights", weights);
  }
};

class SamplingPlanner : public Planner {
 public:
  SamplingPlanner(const LatentModel& model, int horizon, const SamplingSettings& s);
  std::string name() const override { return s_.prefix; }
  const PlanResult& plan(const float* z0, uint64_t seed) override;
  const SamplingSettings& settings() const { return s_; }

 private:
  const LatentModel& m_;
  int H_, Z_, A_;
  SamplingSettings s_;
  PlanResult res_;
  std::vector<float> mean_, std_;  // (H, A) the Gaussian
  std::vector<float> samples_;     // (H, N, A): time-major so each step's actions are one (N, A) block
  std::vector<float> z_a_, z_b_;   // (N, Z) rollout state
  std::vector<float> r_;           // (N)
  std::vector<double> returns_;    // (N)
  std::vector<int> order_;         // (N) sample indices, best first after the partial sort
  std::vector<double> weights_;    // (K) elite weights (MPPI over all samples: (N)), sum 1
  Linearization lin_;              // the mean's rollout
};

// Reads `<prefix>_preset` then the keys of SamplingSettings from cfg.
SamplingSettings sampling_settings_from(const std::string& prefix, const Config& cfg);

}  // namespace latco
