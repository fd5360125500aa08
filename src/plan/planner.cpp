#include "plan/planner.h"

#include <algorithm>
#include <vector>

#include "core/error.h"

namespace latco {
namespace {
const PlannerEntry* find_row(const std::string& name) {
  for (const PlannerEntry& e : planner_table())
    if (name == e.name) return &e;
  return nullptr;
}
}  // namespace

const PlannerEntry& find_planner(const std::string& name) {
  const PlannerEntry* e = find_row(name);
  if (!e) {
    std::string names;
    for (const auto& n : all_planner_names()) names += " " + n;
    LATCO_FAIL("unknown planner '" << name << "'; available:" << names);
  }
  return *e;
}

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
  const PlannerEntry* e = find_row(name);
  return e ? e->help : "";
}

void read_planner_keys(const Config& cfg) {
  for (const std::string& name : all_planner_names()) find_planner(name).keys(cfg);
}

std::unique_ptr<Planner> make_planner(const std::string& name, const LatentModel& latent, int horizon,
                                      const Config& cfg, const Rssm* model) {
  const PlannerEntry* e = &find_planner(name);
  LATCO_CHECK(horizon > 0) << "planner horizon must be positive, got " << horizon;
  if (e->latent) return e->latent(latent, horizon, cfg);
  LATCO_CHECK(model) << "planner '" << name << "' needs the whole world model (encoder and decoder), "
                     << "not only a latent model: it runs from train and eval, not on analytic models";
  return e->model(*model, latent, horizon, cfg);
}

}  // namespace latco
