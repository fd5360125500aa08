// `latco plan`: plans of one or more planners on an analytic model, drawn in
// DIR/optimization.png: on the point mass and the lottery the plans in the plane
// (start, goals, each planner's plan, LatCo's iterates fading in), then the planned
// reward of all planners against iteration (the LQ optimum dashed) and the collocation
// planners' dynamics violation and multiplier (log): paper Figures 6, 11. The
// per-iteration diagnostics go to DIR/iterations.csv (iterations_<planner>.csv for several).
// Not here: learned models (make_plan_model is the one place a model comes from).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "app/command.h"
#include "app/key_help.h"
#include "core/error.h"
#include "core/rng.h"
#include "io/config.h"
#include "io/csv.h"
#include "io/plot.h"
#include "linalg/riccati.h"
#include "model/analytic_models.h"
#include "model/lottery_model.h"
#include "model/rssm_latent_model.h"
#include "plan/planner.h"

namespace latco {

struct PlanModel {
  std::unique_ptr<LatentModel> model;
  std::vector<float> z0;  // (Z) the start latent
};

// The model a plan runs on, by name. lq: a random 8-D linear system with quadratic
// cost (z0 ~ N(0,1) from the seed); pointmass: the sparse-goal point mass from rest;
// lottery: the stochastic lottery model from its start.
PlanModel make_plan_model(const std::string& name, uint64_t seed) {
  PlanModel pm;
  if (name == "lq") {
    pm.model = std::make_unique<LinearQuadraticModel>(LinearQuadraticModel::random(8, 2, seed));
    Rng rng = Rng(seed).derive(1);
    pm.z0.resize(8);
    for (auto& v : pm.z0) v = rng.normal();
  } else if (name == "pointmass") {
    pm.model = std::make_unique<PointMassModel>();
    pm.z0.assign(4, 0.0f);
  } else if (name == "lottery") {
    auto m = std::make_unique<LotteryModel>();
    pm.z0.resize(3);
    m->start(pm.z0.data());
    pm.model = std::move(m);
  } else {
    LATCO_FAIL("--model: unknown model '" << name << "'; available: lq pointmass lottery");
  }
  return pm;
}

// iterations CSV of one plan's diagnostics.
void write_iterations_csv(const std::string& path, const std::vector<IterStats>& iters) {
  CsvWriter csv(path, {"iter", "reward", "dyn_violation", "act_violation", "mean_lambda", "damping", "seconds"});
  for (const auto& s : iters)
    csv.row({double(s.iter), s.reward, s.dyn_violation, s.act_violation, s.mean_lambda, s.damping, s.seconds});
}

struct PlannerRun {
  std::string name;
  PlanResult result;                                 // the full run
  std::vector<std::pair<int, Tensor>> iterates;     // (k, latents (H+1, Z) after k iterations), collocation only
};

// Figures 6 and 11: planned reward of every planner against iterations (the LQ optimum dashed),
// and, for the planners with dynamics constraints (collocation), the violation and multiplier.
// Shooting planners satisfy the dynamics by construction: they have no panel there.
std::vector<Image> convergence_panels(const std::vector<PlannerRun>& runs, const PlanModel& pm, const std::string& model,
                                      int H) {
  std::vector<Series> reward, dyn, lam;
  double x_max = 1;
  for (size_t i = 0; i < runs.size(); ++i) {
    Series r{runs[i].name, {}, {}}, d{runs[i].name, {}, {}}, l{runs[i].name, {}, {}};
    r.color = d.color = l.color = int(i);
    bool constrained = false;
    for (const auto& s : runs[i].result.iters) {
      r.x.push_back(s.iter), r.y.push_back(s.reward);
      d.x.push_back(s.iter), d.y.push_back(s.dyn_violation);
      l.x.push_back(s.iter), l.y.push_back(s.mean_lambda);
      constrained |= s.dyn_violation > 0;
      x_max = std::max(x_max, double(s.iter));
    }
    reward.push_back(r);
    if (constrained) dyn.push_back(d), lam.push_back(l);
  }
  if (model == "lq") {  // the known optimum: Riccati, its trajectory's sum_t r(z_t)
    const auto& lq = static_cast<const LinearQuadraticModel&>(*pm.model);
    const int Z = lq.latent_dim(), A = lq.action_dim();
    LqrSolution opt = lqr_riccati(Z, A, H, lq.F().data(), lq.G().data(), lq.L().data(), lq.action_cost(), pm.z0.data());
    std::vector<float> z(Z);
    double sum_r = 0;
    for (int t = 1; t <= H; ++t) {
      for (int j = 0; j < Z; ++j) z[j] = float(opt.latents[size_t(t) * Z + j]);
      float r = 0;
      lq.reward(1, z.data(), &r);
      sum_r += r;
    }
    Series o{"optimum (Riccati)", {0, x_max}, {sum_r, sum_r}};
    o.color = 7, o.dashed = true, o.marker = 0;
    reward.push_back(o);
  }
  // The reward axis spans each planner's iterations after its first 5% (early iterates of shooting
  // methods can be orders of magnitude worse and would flatten the rest); earlier points sit on the edge.
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& r : reward)
    for (size_t j = 0; j < r.x.size(); ++j)
      if (r.x[j] >= 0.05 * r.x.back() && std::isfinite(r.y[j])) lo = std::min(lo, r.y[j]), hi = std::max(hi, r.y[j]);
  const double pad = hi > lo ? 0.08 * (hi - lo) : 1;
  PlotStyle rs{"planned reward, " + model, "iteration", "sum r(z_t)", false, 420, 320};
  if (hi >= lo) rs.y_lo = lo - pad, rs.y_hi = hi + pad;
  std::vector<Image> panels = {plot_lines(reward, rs)};
  if (!dyn.empty()) {
    panels.push_back(plot_lines(dyn, PlotStyle{"dynamics violation", "iteration", "sum sq.", true, 420, 320}));
    panels.push_back(plot_lines(lam, PlotStyle{"dynamics multiplier", "iteration", "mean lambda", true, 420, 320}));
  }
  return panels;
}

// The plans in the plane (point mass, lottery): start, goal(s), every planner's final plan,
// and the collocation planners' iterates, light (early) to full colour (late).
Image plane_panel(const std::vector<PlannerRun>& runs, const PlanModel& pm, const std::string& model) {
  const int Z = pm.model->latent_dim();
  std::vector<std::pair<std::string, std::pair<double, double>>> goals;
  if (model == "pointmass") {
    const auto& s = static_cast<const PointMassModel&>(*pm.model).settings();
    goals.push_back({"goal", {s.goal_x, s.goal_y}});
  } else {
    const auto& s = static_cast<const LotteryModel&>(*pm.model).settings();
    goals.push_back({"safe goal (+1)", {s.safe_x, s.safe_y}});
    goals.push_back({"lottery (mean +20)", {s.lottery_x, s.lottery_y}});
  }
  // The view: start, goals and the final plans, with a margin.
  double x0 = pm.z0[0], x1 = pm.z0[0], y0 = pm.z0[1], y1 = pm.z0[1];
  auto grow = [&](double x, double y) {
    if (!std::isfinite(x) || !std::isfinite(y)) return;
    x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
  };
  for (const auto& g : goals) grow(g.second.first, g.second.second);
  for (const auto& r : runs)
    for (int64_t t = 0; t < r.result.latents.size(0); ++t)
      grow(r.result.latents.data()[t * Z], r.result.latents.data()[t * Z + 1]);
  const double m = 0.15 * std::max(x1 - x0, y1 - y0) + 0.1;
  x0 -= m, x1 += m, y0 -= m, y1 += m;
  auto path = [&](const Tensor& lat, const std::string& label, int color, double fade) {
    Series s{label, {}, {}};
    s.color = color, s.fade = fade, s.marker = 0;
    for (int64_t t = 0; t < lat.size(0); ++t) {
      const double x = lat.data()[t * Z], y = lat.data()[t * Z + 1];
      const bool in = x >= x0 && x <= x1 && y >= y0 && y <= y1;  // outside: the line breaks
      s.x.push_back(in ? x : NAN), s.y.push_back(in ? y : NAN);
    }
    return s;
  };
  std::vector<Series> series;
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto& it = runs[i].iterates;
    for (size_t j = 0; j + 1 < it.size(); ++j) {  // the last iterate is the final plan
      const double fade = 0.85 * (1.0 - double(j) / std::max<size_t>(1, it.size() - 1));
      series.push_back(path(it[j].second, j == 0 ? runs[i].name + " iterates " + std::to_string(it[0].first) + ".." +
                                                       std::to_string(it[it.size() - 2].first) + " (light: early)"
                                                 : "",
                            int(i), fade));
    }
  }
  for (size_t i = 0; i < runs.size(); ++i) {
    Series s = path(runs[i].result.latents, runs[i].name, int(i), 0);
    s.marker = 2;
    series.push_back(s);
  }
  Series start{"start", {pm.z0[0]}, {pm.z0[1]}};
  start.color = 7, start.marker = 4, start.line = false;
  series.push_back(start);
  for (size_t g = 0; g < goals.size(); ++g) {
    Series gs{goals[g].first, {goals[g].second.first}, {goals[g].second.second}};
    gs.color = g == 0 ? 6 : 5, gs.marker = 6, gs.line = false;
    series.push_back(gs);
  }
  PlotStyle st{"plans in the plane, " + model, "x", "y", false, 520, 420, x0, x1, y0, y1, true};
  return plot_lines(series, st);
}

// A row of panels under a one-line caption.
Image with_caption(const Image& row, const std::string& caption) {
  Image out(row.height + kFontLineHeight + 8, row.width, 255);
  const uint8_t ink[3] = {20, 20, 20};
  draw_text(out, 4, 6, caption, ink);
  blit(out, row, kFontLineHeight + 8, 0);
  return out;
}

std::vector<std::string> split_names(const std::string& list) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : list + ",") {
    if (c == ',') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else if (c != ' ') {
      cur += c;
    }
  }
  return out;
}


int cmd_plan(const Args& args) {
  const std::string model_name = args.get("model", "pointmass");
  const std::string list = args.has("planners") ? args.get("planners") : args.get("planner", "latco");
  const int H = static_cast<int>(args.get_int("horizon", 30));
  const uint64_t seed = static_cast<uint64_t>(args.get_int("seed", 0));
  const std::string out = args.get("out", "runs/plan-" + model_name);
  Config cfg = args.has("config") ? Config::load(args.get("config")) : Config();
  args.check_all_read("plan");
  for (const auto& o : args.overrides) cfg.override_with(o);
  const std::vector<std::string> names = split_names(list);
  if (names.empty()) LATCO_FAIL("plan: --planners names no planner");

  PlanModel pm = make_plan_model(model_name, seed);
  const bool plane = model_name == "pointmass" || model_name == "lottery";
  std::vector<PlannerRun> runs;
  for (const auto& name : names) {
    auto planner = make_planner(name, *pm.model, H, cfg);
    PlannerRun r{name, planner->plan(pm.z0.data(), seed), {}};
    runs.push_back(std::move(r));
  }
  cfg.check_all_used();
  // LatCo's iterates: the same plan (same seed) stopped after k iterations.
  if (plane)
    for (auto& r : runs) {
      if (r.name.rfind("latco", 0) != 0 || r.name == "latco_no_second_order") continue;
      const int full = int(r.result.iters.empty() ? 0 : r.result.iters.back().iter);
      for (int k : {0, 1, 2, 3, 5, 8, 12, 20, 35, 50, 80, 120, 200, 300, 500})
        if (k < full) {
          Config c = cfg;
          c.override_with("latco_iterations=" + std::to_string(k));
          auto p = make_planner(r.name, *pm.model, H, c);
          r.iterates.push_back({k, p->plan(pm.z0.data(), seed).latents.clone()});
        }
      if (!r.iterates.empty()) r.iterates.push_back({full, r.result.latents.clone()});
    }

  std::filesystem::create_directories(out);
  std::vector<Image> panels;
  if (plane) panels.push_back(plane_panel(runs, pm, model_name));
  for (auto& p : convergence_panels(runs, pm, model_name, H)) panels.push_back(p);
  char caption[256];
  std::snprintf(caption, sizeof caption, "latco plan: model %s, horizon %d, seed %llu; planners %s", model_name.c_str(),
                H, static_cast<unsigned long long>(seed), list.c_str());
  write_png(out + "/optimization.png", with_caption(plot_row(panels), caption));

  const int Z = pm.model->latent_dim();
  for (const auto& r : runs) {
    write_iterations_csv(out + (runs.size() == 1 ? "/iterations.csv" : "/iterations_" + r.name + ".csv"),
                         r.result.iters);
    const IterStats last = r.result.iters.empty() ? IterStats{} : r.result.iters.back();
    std::printf("plan: %-12s iterations %d return %.6g plan_reward %.6g dyn_violation %.3g act_violation %.3g "
                "seconds %.3f", r.name.c_str(), last.iter, r.result.predicted_return, last.reward, last.dyn_violation,
                last.act_violation, r.result.timing.total);
    if (plane) {
      const Tensor& lat = r.result.latents;
      const float px = lat.data()[(lat.size(0) - 1) * Z], py = lat.data()[(lat.size(0) - 1) * Z + 1];
      std::printf("; ends at (%.2f, %.2f)", px, py);
      if (model_name == "lottery") {
        const int g = static_cast<const LotteryModel&>(*pm.model).goal_at(px, py);
        std::printf(": %s", g > 0 ? "safe goal" : g < 0 ? "lottery goal" : "no goal");
      }
    }
    std::printf("\n");
  }
  if (model_name == "lq") {
    const auto& lq = static_cast<const LinearQuadraticModel&>(*pm.model);
    LqrSolution opt = lqr_riccati(Z, lq.action_dim(), H, lq.F().data(), lq.G().data(), lq.L().data(), lq.action_cost(),
                                  pm.z0.data());
    std::printf("plan: optimum (Riccati) return %.4g\n", -opt.cost);
  }
  if (model_name == "lottery")
    std::printf("plan: the lottery's payout is +20 at its mean but about -1.6 in expectation; a plan succeeds when it "
                "ends within 2 goal widths of the safe goal\n");
  std::printf("plan: wrote %s/optimization.png and the iterations CSV\n", out.c_str());
  return 0;
}
CommandHelp help_plan() {
  return CommandHelp{"latco plan [--model lq|pointmass|lottery] [--planners P1,P2,...] [--horizon H] [--seed S] "
                          "[--out DIR] [--config FILE] [key=value ...]",
                          {{"--model", "pointmass", "lq (random linear-quadratic, 8-D), pointmass (sparse goal), lottery"},
                           {"--planners", "latco", "planners to compare, comma-separated (latco list planners)"},
                           {"--planner", "", "one planner (the same as --planners with one name)"},
                           {"--horizon", "30", "planning horizon H"},
                           {"--seed", "0", "the plan's seed (and the lq model's)"},
                           {"--out", "runs/plan-MODEL", "folder for optimization.png and the iterations CSV (created)"},
                           {"--config", "", "config file holding planner keys"}},
                          "",
                          [] {
                            return config_keys([](const Config& cfg) { read_planner_keys(cfg); });
                          }};
}

}  // namespace latco
