// The planner interface shared by LatCo and every baseline (MuJoCo-MPC style
// life cycle): construct once for a model and horizon (all buffers sized
// then), then plan(z0, seed) repeatedly; the planning loop does not allocate.
//
// The planning problem, for every planner (Eq. 3 with the mean dynamics):
//   given z_0, choose a_0..a_{H-1} to maximise
//     J = sum_{t=1..H} r(z_t)  -  w * sum_{t=0..H-1} |a_t|^2,    z_{t+1} = mu(z_t, a_t),
//   with |a_t| <= a_max elementwise; w = model.action_cost() (0 for learned models).
// Planners are created by name from the table in plan/planners.cpp (one row each):
//   auto p = make_planner("latco", model, horizon, cfg);
// A planner that needs the whole world model (image_collocation: encoder and decoder) is made
// with the Rssm handed over:
//   auto p = make_planner("image_collocation", latent, horizon, cfg, &rssm);
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "io/config.h"
#include "model/latent_model.h"

namespace latco {

class Rssm;

// One row per optimisation iteration (paper Figures 6 and 11).
struct IterStats {
  int iter = 0;
  double reward = 0;         // sum_t r(z_t) of the current plan (collocation: on planned latents)
  double dyn_violation = 0;  // sum_t |z_{t+1} - mu(z_t, a_t)|^2 (0 for shooting methods)
  double act_violation = 0;  // sum_t |max(0, |a_t| - a_max)|^2
  double mean_lambda = 0;    // mean dynamics multiplier (0 where not used)
  double damping = 0;        // LM / regulariser value (0 where not used)
  double seconds = 0;        // wall time since plan() started
};

// Where a plan's time went (seconds), for the per-planner breakdown.
struct TimingBreakdown {
  double rollouts = 0;     // model forward passes (predict, reward)
  double derivatives = 0;  // Jacobians / gradients
  double solve = 0;        // linear algebra (normal equations, factorisations)
  double other = 0;        // everything else
  double total = 0;
};

struct PlanResult {
  Tensor actions;                // (H, A): a_0 .. a_{H-1}, clipped to the bounds
  Tensor latents;                // (H+1, Z): z_0 .. z_H as planned (collocation) or rolled out (shooting)
  double predicted_return = 0;   // J of the chosen plan, rolled out through the model with clipped actions
  std::vector<IterStats> iters;  // per-iteration diagnostics of the chosen (or first) plan
  TimingBreakdown timing;
};

class Planner {
 public:
  virtual ~Planner() = default;
  virtual std::string name() const = 0;
  // z0: (Z). Same seed and inputs -> same result, whatever the thread count.
  virtual const PlanResult& plan(const float* z0, uint64_t seed) = 0;
  // Forget any warm start kept from the previous plan (new episode).
  virtual void reset() {}
  // Shift a kept plan by `steps` executed actions (for warm starts; optional).
  virtual void shift(int steps) {}
};

using PlannerFactory = std::unique_ptr<Planner> (*)(const LatentModel& model, int horizon, const Config& cfg);
// A planner on the whole world model (encoder and decoder too).
using ModelPlannerFactory = std::unique_ptr<Planner> (*)(const Rssm& model, const LatentModel& latent, int horizon,
                                                         const Config& cfg);
// A planner's settings as its factory resolves them from a config, building nothing: the settings
// struct loaded (visit() and the checks of its values) as the factory loads it, so that its keys
// count as used, and its fields as (key, value) rows for `latco config`.
struct PlannerSettings {
  std::string type;  // the settings struct and its header, e.g. "LatcoSettings, src/plan/collocation/latco.h"
  std::vector<std::pair<std::string, std::string>> rows;  // in the struct's order
  std::string preset_key;  // the key whose preset changes these defaults ("" if none)
  std::string note;        // what the rows do not show ("" if nothing)
};
using PlannerKeys = PlannerSettings (*)(const Config& cfg);
// One row of the planner table: its keys and exactly one of `latent` and `model`.
struct PlannerEntry {
  const char* name;
  const char* help;  // one line, for `latco list planners`
  PlannerKeys keys;
  PlannerFactory latent = nullptr;
  ModelPlannerFactory model = nullptr;
};
const std::vector<PlannerEntry>& planner_table();  // plan/planners.cpp
// The row of a planner; for an unknown name an Error listing every planner.
const PlannerEntry& find_planner(const std::string& name);
// Throws Error listing every planner for an unknown name, and for a planner that
// needs the whole world model when `model` is null.
std::unique_ptr<Planner> make_planner(const std::string& name, const LatentModel& latent, int horizon,
                                      const Config& cfg, const Rssm* model = nullptr);
// The planners that run on a LatentModel alone (analytic models, benchmarks).
std::vector<std::string> planner_names();
// Every planner: planner_names() and those that need the whole world model.
std::vector<std::string> all_planner_names();
std::string planner_help(const std::string& name);  // its one-line description ("" if unknown)
// Every planner of the table binds and checks its keys (PlannerEntry::keys, in name order), so a
// config may hold any planner's settings and still pass cfg.check_all_used(); no model needed.
void read_planner_keys(const Config& cfg);

}  // namespace latco
