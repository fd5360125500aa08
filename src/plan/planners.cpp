// Every planner `make_planner` can build, one row each. Adding a planner: write its factory
// `std::unique_ptr<Planner> new_NAME(const LatentModel&, int horizon, const Config&)` beside the
// planner, declare it below and add its row with the loader of its settings struct (the keys
// column); `latco list planners` and every command then know it and its keys.
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
void read_image_collocation_keys(const Config&);

namespace {
// The keys column: each loads its planner's settings as the factory does (the latco variants
// change defaults of the same keys).
template <class S>
void load_keys(const Config& cfg) {
  S s;
  s.load(cfg);
}
template <class S>
void apply_keys(const Config& cfg) {
  S s;
  cfg.apply(s);
}
void cem_keys(const Config& cfg) { sampling_settings_from("cem", cfg); }
void mppi_keys(const Config& cfg) { sampling_settings_from("mppi", cfg); }
constexpr PlannerKeys latco_keys = load_keys<LatcoSettings>;
}  // namespace

// name, one line for `latco list planners`, its keys, the factory (on a LatentModel, or after
// nullptr the one on the whole world model)
const std::vector<PlannerEntry>& planner_table() {
  static const std::vector<PlannerEntry> table = {
      // ----- collocation (plan/collocation/: latco.cpp, latco_gaussian.cpp, latco_first_order.cpp, image_collocation.cpp) -----
      {"latco", "deterministic latent collocation (LM + block-tridiagonal solve, Eq. 9-10)", latco_keys, new_latco},
      {"latco_no_relax", "Table 3 ablation: no dynamics relaxation (lambda0 = 1e8, as released)", latco_keys,
       new_latco_no_relax},
      {"latco_no_constrained",
       "Table 3 ablation: fixed multipliers lambda = 64, nu = 256 (released residual scales 8 and 16)",
       latco_keys, new_latco_no_constrained},
      {"latco_const_damping",
       "ours, not a Table 3 row: the adaptive solver with constant damping 1e-3 and no accept/reject",
       latco_keys, new_latco_const_damping},
      {"latco_no_second_order",
       "Table 3 ablation: Adam on the LatCo Lagrangian (-r, dynamics scale 1e4), plain dual rule; keys fo_*",
       load_keys<LatcoFirstOrderSettings>, new_latco_no_second_order},
      {"latco_released", "deterministic LatCo with the released code's solver and dual rule", latco_keys,
       new_latco_released},
      {"latco_gaussian",
       "Gaussian LatCo: moment matching with 50 samples (Section 3.4), released defaults; keys latco_*, "
       "latco_gaussian_*",
       load_keys<GaussianLatcoSettings>, new_latco_gaussian},
      {"image_collocation", "image collocation (Appendix D): Adam on planned images and actions; keys ic_*",
       read_image_collocation_keys, nullptr, new_image_collocation},
      // ----- shooting (plan/shooting/: shooting_gd.cpp, shooting_gn.cpp, ilqr.cpp) -----
      {"shooting_gd", "Adam on the actions through backprop through time; keys gd_*", apply_keys<ShootingGdSettings>,
       new_shooting_gd},
      {"shooting_gn", "Gauss-Newton on the actions, dense normal equations, released preset; keys gn_*",
       load_keys<ShootingGnSettings>, new_shooting_gn},
      {"ilqr", "iterative LQR (Tassa et al. 2012), open-loop result, released preset; keys ilqr_*",
       load_keys<IlqrSettings>, new_ilqr},
      // ----- sampling (plan/sampling/sampling_planners.cpp) -----
      {"cem", "cross-entropy method over action sequences (PlaNet); keys cem_*", cem_keys, new_cem},
      {"mppi", "CEM with softmax(mppi_gamma * return) elite weights; keys mppi_*", mppi_keys, new_mppi},
  };
  return table;
}

}  // namespace latco
