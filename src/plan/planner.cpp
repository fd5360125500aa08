#include "plan/planner.h"

#include <algorithm>
#include <vector>

#include "core/error.h"

namespace latco {
namespace {
const PlannerEntry* find_planner(const std::string& name) {
  for (const PlannerEntry& e : planner_table())
    if (name == e.name) return &e;
  return nullptr;
}
}  // namespace

// Names in alphabetical order, whatever the order of the table.
std::vector<std::string> planner_names() {
  std::vector<std::string> v;
  for (const PlannerEntry& e : planner_table())
    if (e.latent) v.push_back(e.name);
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<std::string> all_planner_names() {
  std::vector<std::string> v;
  for (const PlannerEntry& e : planner_table()) v.push_back(e.name);
  std::sort(v.begin(), v.end());
  return v;
}

std::string planner_help(const std::string& name) {
  const PlannerEntry* e = find_planner(name);
  return e ? e->help : "";
}

void read_planner_keys(const Config& cfg, const LatentModel& model, int horizon) {
  for (const std::string& name : all_planner_names()) {
    const PlannerEntry* e = find_planner(name);
    if (e->latent) make_planner(name, model, horizon, cfg);
    else e->read_keys(cfg);
  }
}

std::unique_ptr<Planner> make_planner(const std::string& name, const LatentModel& latent, int horizon,
                                      const Config& cfg, const Rssm* model) {
  const PlannerEntry* e = find_planner(name);
  if (!e) {
    std::string names;
    for (const auto& n : all_planner_names()) names += " " + n;
    LATCO_FAIL("unknown planner '" << name << "'; available:" << names);
  }
  LATCO_CHECK(horizon > 0) << "planner horizon must be positive, got " << horizon;
  if (e->latent) return e->latent(latent, horizon, cfg);
  LATCO_CHECK(model) << "planner '" << name << "' needs the whole world model (encoder and decoder), "
                     << "not only a latent model: it runs from train and eval, not on analytic models";
  return e->model(*model, latent, horizon, cfg);
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
