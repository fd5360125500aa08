#include "plan/planner.h"

#include <algorithm>
#include <map>
#include <vector>

#include "core/error.h"

namespace latco {
namespace {
std::map<std::string, std::pair<std::string, PlannerFactory>>& table() {
  static std::map<std::string, std::pair<std::string, PlannerFactory>> t;
  return t;
}
}  // namespace

bool register_planner(const std::string& name, const std::string& help, PlannerFactory f) {
  table()[name] = {help, std::move(f)};
  return true;
}

std::vector<std::string> planner_names() {
  std::vector<std::string> v;
  for (const auto& [k, e] : table()) v.push_back(k);
  return v;
}

std::string planner_help(const std::string& name) {
  auto it = table().find(name);
  return it == table().end() ? "" : it->second.first;
}

void read_planner_keys(const Config& cfg, const LatentModel& model, int horizon) {
  for (const auto& name : planner_names()) make_planner(name, model, horizon, cfg);
}

std::unique_ptr<Planner> make_planner(const std::string& name, const LatentModel& model, int horizon,
                                      const Config& cfg) {
  auto it = table().find(name);
  if (it == table().end()) {
    std::string names;
    for (const auto& n : planner_names()) names += " " + n;
    LATCO_FAIL("unknown planner '" << name << "'; available:" << names);
  }
  LATCO_CHECK(horizon > 0) << "planner horizon must be positive, got " << horizon;
  return it->second.second(model, horizon, cfg);
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
