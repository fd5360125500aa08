#include "plan/planner.h"

#include <algorithm>
#include <map>
#include <vector>

#include "core/error.h"

namespace latco {
namespace {
struct Entry {
  std::string help;
  PlannerFactory latent;                     // set for planners on a LatentModel
  ModelPlannerFactory model;                 // set for planners on the whole world model
  std::function<void(const Config&)> keys;   // the latter's key reader
};
std::map<std::string, Entry>& table() {
  static std::map<std::string, Entry> t;
  return t;
}
}  // namespace

bool register_planner(const std::string& name, const std::string& help, PlannerFactory f) {
  table()[name] = {help, std::move(f), nullptr, nullptr};
  return true;
}

bool register_model_planner(const std::string& name, const std::string& help, ModelPlannerFactory f,
                            std::function<void(const Config&)> read_keys) {
  table()[name] = {help, nullptr, std::move(f), std::move(read_keys)};
  return true;
}

std::vector<std::string> planner_names() {
  std::vector<std::string> v;
  for (const auto& [k, e] : table())
    if (e.latent) v.push_back(k);
  return v;
}

std::vector<std::string> all_planner_names() {
  std::vector<std::string> v;
  for (const auto& [k, e] : table()) v.push_back(k);
  return v;
}

std::string planner_help(const std::string& name) {
  auto it = table().find(name);
  return it == table().end() ? "" : it->second.help;
}

void read_planner_keys(const Config& cfg, const LatentModel& model, int horizon) {
  for (const auto& [name, e] : table()) {
    if (e.latent) make_planner(name, model, horizon, cfg);
    else e.keys(cfg);
  }
}

std::unique_ptr<Planner> make_planner(const std::string& name, const LatentModel& latent, int horizon,
                                      const Config& cfg, const Rssm* model) {
  auto it = table().find(name);
  if (it == table().end()) {
    std::string names;
    for (const auto& n : all_planner_names()) names += " " + n;
    LATCO_FAIL("unknown planner '" << name << "'; available:" << names);
  }
  LATCO_CHECK(horizon > 0) << "planner horizon must be positive, got " << horizon;
  if (it->second.latent) return it->second.latent(latent, horizon, cfg);
  LATCO_CHECK(model) << "planner '" << name << "' needs the whole world model (encoder and decoder), "
                     << "not only a latent model: it runs from train and eval, not on analytic models";
  return it->second.model(*model, latent, horizon, cfg);
}

double rollout_return(const LatentModel& model, const float* z0, const float* actions, int H, float* latents) {
  const int Z = model.latent_dim(), A = model.action_dim();
  const float am = model.action_max(), w = model.action_cost();
  std::vector<float> a(A);
  std::copy(z0, z0 + Z, latents);
  double J = 0;
  for (int t = 0; t < H; ++t) {
    double a2 = 0;
    for (int i = 0; i < A; ++i) {
      a[i] = std::clamp(actions[t * A + i], -am, am);
      a2 += double(a[i]) * a[i];
    }
    model.predict(1, latents + t * Z, a.data(), latents + (t + 1) * Z);
    float r = 0;
    model.reward(1, latents + (t + 1) * Z, &r);
    J += r - w * a2;
  }
  return J;
}

}  // namespace latco
