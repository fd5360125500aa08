#include "agent/evaluation.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <numeric>

#include "io/progress.h"
#include "model/device_latent_model.h"
#include "model/rssm_latent_model.h"
#include "plan/planner.h"

namespace latco {
namespace {
void mean_se(const std::vector<double>& x, double& mean, double& se) {
  mean = se = 0;
  if (x.empty()) return;
  for (double v : x) mean += v / x.size();
  if (x.size() < 2) return;
  double var = 0;
  for (double v : x) var += (v - mean) * (v - mean) / (x.size() - 1);
  se = std::sqrt(var / x.size());
}
}  // namespace

EvalSummary evaluate_planner(Env& env, const Rssm& model, const std::string& planner, const Config& planner_cfg,
                             int horizon, int replan_every, int episodes, uint64_t seed,
                             std::vector<Episode>* records, ProgressSlot slot, Device device) {
  RssmLatentModel latent(model.transition());
  std::unique_ptr<DeviceRssmLatentModel> on_device;
  if (device == Device::CUDA) on_device = std::make_unique<DeviceRssmLatentModel>(model.transition());
  std::unique_ptr<Planner> p =
      make_planner(planner, on_device ? static_cast<const LatentModel&>(*on_device) : latent, horizon, planner_cfg, &model);
  EvalSummary sum;
  sum.planner = planner;
  sum.episodes = episodes;
  std::vector<double> succ, ret;
  double plan_s = 0;
  int steps = 0, plans = 0;
  std::map<std::string, int> outcomes;
  std::unique_ptr<Progress> own;
  if (!slot.progress)
    own = std::make_unique<Progress>(std::vector<Progress::Phase>{{"evaluate " + planner, episodes, "episodes"}});
  Progress& progress = slot.progress ? *slot.progress : *own;
  for (int i = 0; i < episodes; ++i) {
    Episode e;
    EpisodeStats st = run_episode(env, model, p.get(), ActSettings{replan_every, 0.0f}, Rng(seed).derive(i).next_u64(),
                                  records ? &e : nullptr);
    if (records) records->push_back(std::move(e));
    succ.push_back(st.success ? 1.0 : 0.0);
    ret.push_back(st.ret);
    plan_s += st.plan_seconds;
    steps += st.steps;
    plans += st.plans;
    sum.runs.push_back(st);
    char info[128];
    std::snprintf(info, sizeof info, "last return %.2f, success %d | successes %d of %d", st.ret, int(st.success),
                  int(std::lround(std::accumulate(succ.begin(), succ.end(), 0.0))), i + 1);
    // Tasks that name their outcomes (lottery: the goal reached): the last one and a tally.
    std::string text = info;
    if (!st.outcome.empty()) {
      ++outcomes[st.outcome];
      text += " | last: " + st.outcome + " | ";
      for (const auto& [what, n] : outcomes)
        text += what + " " + std::to_string(n) + (&what == &outcomes.rbegin()->first ? "" : ", ");
    }
    if (slot.progress) progress.update(slot.phase, slot.done_before + i + 1, planner + ": " + text);
    else progress.update(i + 1, text);
  }
  if (!slot.progress) progress.finish("");
  mean_se(succ, sum.success_rate, sum.success_se);
  mean_se(ret, sum.mean_return, sum.return_se);
  sum.plan_s_per_step = steps ? plan_s / steps : 0;
  sum.plan_s_per_plan = plans ? plan_s / plans : 0;
  return sum;
}

std::string format_eval_table(const std::vector<EvalSummary>& rows, bool md) {
  std::string out;
  char buf[256];
  if (md) {
    out += "| planner | episodes | success rate | return | planning s/step | s/plan |\n";
    out += "|---|---|---|---|---|---|\n";
  } else {
    std::snprintf(buf, sizeof buf, "%-24s %8s %16s %18s %15s %10s\n", "planner", "episodes", "success", "return",
                  "plan s/step", "s/plan");
    out += buf;
  }
  for (const auto& r : rows) {
    if (md)
      std::snprintf(buf, sizeof buf, "| %s | %d | %.2f ± %.2f | %.2f ± %.2f | %.3f | %.2f |\n", r.planner.c_str(),
                    r.episodes, r.success_rate, r.success_se, r.mean_return, r.return_se, r.plan_s_per_step,
                    r.plan_s_per_plan);
    else
      std::snprintf(buf, sizeof buf, "%-24s %8d %8.2f ± %5.2f %9.2f ± %6.2f %15.3f %10.2f\n", r.planner.c_str(),
                    r.episodes, r.success_rate, r.success_se, r.mean_return, r.return_se, r.plan_s_per_step,
                    r.plan_s_per_plan);
    out += buf;
  }
  return out;
}

}  // namespace latco
