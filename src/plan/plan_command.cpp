// `latco plan`: one plan on an analytic model, with the per-iteration diagnostics
// written as DIR/iterations.csv and DIR/optimization.png (reward, dynamics
// violation (log), mean multiplier (log) against iteration: paper Figures 6, 11).
// Not here: learned models (make_plan_model is the one place a model comes from).
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/command.h"
#include "core/error.h"
#include "core/rng.h"
#include "io/config.h"
#include "io/csv.h"
#include "io/key_help.h"
#include "io/plot.h"
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

// iterations.csv and optimization.png for one plan's diagnostics.
void write_plan_diagnostics(const std::string& dir, const std::string& title, const std::vector<IterStats>& iters) {
  std::filesystem::create_directories(dir);
  {
    CsvWriter csv(dir + "/iterations.csv",
                  {"iter", "reward", "dyn_violation", "act_violation", "mean_lambda", "damping", "seconds"});
    for (const auto& s : iters)
      csv.row({double(s.iter), s.reward, s.dyn_violation, s.act_violation, s.mean_lambda, s.damping, s.seconds});
  }
  Series rew{"", {}, {}}, dyn{"DYNAMICS", {}, {}}, act{"ACTIONS", {}, {}}, lam{"", {}, {}};
  for (const auto& s : iters) {
    rew.x.push_back(s.iter), rew.y.push_back(s.reward);
    dyn.x.push_back(s.iter), dyn.y.push_back(s.dyn_violation);
    act.x.push_back(s.iter), act.y.push_back(s.act_violation);
    lam.x.push_back(s.iter), lam.y.push_back(s.mean_lambda);
  }
  PlotStyle a{title + ": REWARD", "ITERATION", "SUM R(Z_T)", false};
  PlotStyle b{"CONSTRAINT VIOLATION", "ITERATION", "SUM SQ.", true};
  PlotStyle c{"DYNAMICS MULTIPLIER", "ITERATION", "MEAN LAMBDA", true};
  Image img = plot_row({plot_lines({rew}, a), plot_lines({dyn, act}, b), plot_lines({lam}, c)});
  write_png(dir + "/optimization.png", img);
}

}  // namespace latco

using namespace latco;

LATCO_COMMAND(plan,
              "one plan on an analytic model: --model lq|pointmass|lottery [--planner latco] [--horizon 30] "
              "[--seed S] [--out DIR] [--config F] [key=value ...]") {
  const std::string model_name = args.get("model", "pointmass");
  const std::string planner_name = args.get("planner", "latco");
  const int H = static_cast<int>(args.get_int("horizon", 30));
  const uint64_t seed = static_cast<uint64_t>(args.get_int("seed", 0));
  const std::string out = args.get("out", "runs/plan-" + model_name);
  Config cfg = args.has("config") ? Config::load(args.get("config")) : Config();
  args.check_all_read("plan");
  for (const auto& o : args.overrides) cfg.override_with(o);

  PlanModel pm = make_plan_model(model_name, seed);
  auto planner = make_planner(planner_name, *pm.model, H, cfg);
  cfg.check_all_used();
  const PlanResult& res = planner->plan(pm.z0.data(), seed);
  write_plan_diagnostics(out, planner_name, res.iters);
  const IterStats last = res.iters.empty() ? IterStats{} : res.iters.back();
  std::printf("plan: planner %s model %s H %d seed %llu iterations %d return %.6g plan_reward %.6g "
              "dyn_violation %.3g act_violation %.3g seconds %.3f -> %s/\n",
              planner_name.c_str(), model_name.c_str(), H, static_cast<unsigned long long>(seed), last.iter,
              res.predicted_return, last.reward, last.dyn_violation, last.act_violation, res.timing.total,
              out.c_str());
  return 0;
}
LATCO_COMMAND_HELP(plan, {"latco plan [--model lq|pointmass|lottery] [--planner P] [--horizon H] [--seed S] [--out DIR] "
                          "[--config FILE] [key=value ...]",
                          {{"--model", "pointmass", "lq (random linear-quadratic, 8-D), pointmass (sparse goal), lottery"},
                           {"--planner", "latco", "planner (latco list planners)"},
                           {"--horizon", "30", "planning horizon H"},
                           {"--seed", "0", "the plan's seed (and the lq model's)"},
                           {"--out", "runs/plan-MODEL", "folder for iterations.csv and optimization.png (created)"},
                           {"--config", "", "config file holding planner keys"}},
                          "",
                          [] {
                            return config_keys([](const Config& cfg) {
                              // A tiny stochastic stand-in, so that every planner builds and reads its keys.
                              TransitionSizes sz;
                              sz.stoch = 3, sz.deter = 4, sz.hidden = 4, sz.reward_hidden = 4;
                              Rng rng(1);
                              read_planner_keys(cfg, RssmLatentModel(TransitionWeights::init(sz, rng)), 30);
                            });
                          }});
