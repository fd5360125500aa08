// Every planner `make_planner` can build, one row each. Adding a planner: write its factory
// `std::unique_ptr<Planner> new_NAME(const LatentModel&, int horizon, const Config&)` beside the
// planner, declare it below and add its row with the function that resolves its settings struct (the
// keys column); `latco list planners`, `latco config` and every command then know it and its keys.
#include "plan/collocation/image_collocation.h"
#include "plan/collocation/latco.h"
#include "plan/collocation/latco_first_order.h"
#include "plan/collocation/latco_gaussian.h"
#include "plan/planner.h"
#include "plan/sampling/sampling_planners.h"
#include "plan/shooting/ilqr.h"
#include "plan/shooting/shooting_gd.h"
#include "plan/shooting/shooting_gn.h"

namespace latco {

using P = std::unique_ptr<Planner>;
P new_latco(const LatentModel&, int, const Config&), new_latco_no_relax(const LatentModel&, int, const Config&),
    new_latco_no_constrained(const LatentModel&, int, const Config&),
    new_latco_const_damping(const LatentModel&, int, const Config&),
    new_latco_no_second_order(const LatentModel&, int, const Config&),
    new_latco_released(const LatentModel&, int, const Config&),
    new_latco_gaussian(const LatentModel&, int, const Config&), new_shooting_gd(const LatentModel&, int, const Config&),
    new_shooting_gn(const LatentModel&, int, const Config&), new_ilqr(const LatentModel&, int, const Config&),
    new_cem(const LatentModel&, int, const Config&), new_mppi(const LatentModel&, int, const Config&);
P new_image_collocation(const Rssm&, const LatentModel&, int, const Config&);

namespace {
// The keys column: each resolves its planner's settings as the factory does (the latco variants
// change defaults of the same keys inside their factories).
template <class S>
auto resolve(S& s, const Config& c, int) -> decltype(s.load(c), void()) {  // presets first, then the keys
  s.load(c);
}
template <class S>
void resolve(S& s, const Config& c, long) {  // plain keys
  c.apply(s);
}
template <class S>
PlannerSettings settings_of(const Config& cfg, const char* type, const char* preset_key = "", const char* note = "") {
  S s;
  resolve(s, cfg, 0);
  PlannerSettings out{type, {}, preset_key, note};
  Config::describe(s, out.rows);
  return out;
}
PlannerSettings latco_keys(const Config& c) {
  return settings_of<LatcoSettings>(c, "LatcoSettings, src/plan/collocation/latco.h");
}
PlannerSettings latco_variant_keys(const Config& c) {
  return settings_of<LatcoSettings>(c, "LatcoSettings, src/plan/collocation/latco.h", "",
                                    "its preset in src/plan/collocation/latco.cpp lies under keys not given");
}
PlannerSettings latco_gaussian_keys(const Config& c) {  // the shared latco_* keys, then its own
  GaussianLatcoSettings s;
  s.load(c);
  PlannerSettings out{"GaussianLatcoSettings, src/plan/collocation/latco_gaussian.h", {}, "latco_gaussian_preset", ""};
  Config::describe(s.lm, out.rows);
  Config::describe(s, out.rows);
  return out;
}
PlannerSettings first_order_keys(const Config& c) {
  return settings_of<LatcoFirstOrderSettings>(c, "LatcoFirstOrderSettings, src/plan/collocation/latco_first_order.h",
                                              "fo_preset");
}
PlannerSettings shooting_gd_keys(const Config& c) {
  return settings_of<ShootingGdSettings>(c, "ShootingGdSettings, src/plan/shooting/shooting_gd.h");
}
PlannerSettings shooting_gn_keys(const Config& c) {
  return settings_of<ShootingGnSettings>(c, "ShootingGnSettings, src/plan/shooting/shooting_gn.h", "gn_preset");
}
PlannerSettings ilqr_keys(const Config& c) {
  return settings_of<IlqrSettings>(c, "IlqrSettings, src/plan/shooting/ilqr.h", "ilqr_preset");
}
PlannerSettings sampling_keys(const char* name, const Config& c) {
  SamplingSettings s = sampling_settings_from(name, c);
  PlannerSettings out{"SamplingSettings, src/plan/sampling/sampling_planners.h", {}, std::string(name) + "_preset", ""};
  Config::describe(s, out.rows);
  return out;
}
PlannerSettings image_collocation_keys(const Config& c) {
  return settings_of<ImageCollocationSettings>(c, "ImageCollocationSettings, src/plan/collocation/image_collocation.h");
}
PlannerSettings cem_keys(const Config& c) { return sampling_keys("cem", c); }
PlannerSettings mppi_keys(const Config& c) { return sampling_keys("mppi", c); }
}  // namespace

// name, one line for `latco list planners`, its keys, the factory (on a LatentModel, or after
// nullptr the one on the whole world model)
const std::vector<PlannerEntry>& planner_table() {
  static const std::vector<PlannerEntry> table = {
      // ----- collocation (plan/collocation/: latco.cpp, latco_gaussian.cpp, latco_first_order.cpp, image_collocation.cpp) -----
      {"latco", "deterministic latent collocation (LM + block-tridiagonal solve, Eq. 9-10)", latco_keys, new_latco},
      {"latco_no_relax", "Table 3 ablation: no dynamics relaxation (lambda0 = 1e8, as released)", latco_variant_keys,
       new_latco_no_relax},
      {"latco_no_constrained",
       "Table 3 ablation: fixed multipliers lambda = 64, nu = 256 (released residual scales 8 and 16)",
       latco_variant_keys, new_latco_no_constrained},
      {"latco_const_damping",
       "ours, not a Table 3 row: the adaptive solver with constant damping 1e-3 and no accept/reject",
       latco_variant_keys, new_latco_const_damping},
      {"latco_no_second_order",
       "Table 3 ablation: Adam on the LatCo Lagrangian (-r, dynamics scale 1e4), plain dual rule; keys fo_*",
       first_order_keys, new_latco_no_second_order},
      {"latco_released", "deterministic LatCo with the released code's solver and dual rule", latco_variant_keys,
       new_latco_released},
      {"latco_gaussian",
       "Gaussian LatCo: moment matching with 50 samples (Section 3.4), released defaults; keys latco_*, "
       "latco_gaussian_*",
       latco_gaussian_keys, new_latco_gaussian},
      {"image_collocation", "image collocation (Appendix D): Adam on planned images and actions; keys ic_*",
       image_collocation_keys, nullptr, new_image_collocation},
      // ----- shooting (plan/shooting/: shooting_gd.cpp, shooting_gn.cpp, ilqr.cpp) -----
      {"shooting_gd", "Adam on the actions through backprop through time; keys gd_*", shooting_gd_keys,
       new_shooting_gd},
      {"shooting_gn", "Gauss-Newton on the actions, dense normal equations, released preset; keys gn_*",
       shooting_gn_keys, new_shooting_gn},
      {"ilqr", "iterative LQR (Tassa et al. 2012), open-loop result, released preset; keys ilqr_*",
       ilqr_keys, new_ilqr},
      // ----- sampling (plan/sampling/sampling_planners.cpp) -----
      {"cem", "cross-entropy method over action sequences (PlaNet); keys cem_*", cem_keys, new_cem},
      {"mppi", "CEM with softmax(mppi_gamma * return) elite weights; keys mppi_*", mppi_keys, new_mppi},
  };
  return table;
}

}  // namespace latco
