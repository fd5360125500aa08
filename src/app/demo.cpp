// `latco demo` (what `make run` runs): a short end-to-end experiment on a sparse
// tabletop task. Collect scripted-expert (with noise) and random episodes, train
// the small world model on them, let the compared planners act on the model for
// a few online rounds (Algorithm 1: the model also learns from the states the
// planners steer into), then evaluate LatCo, CEM and shooting GD on the same model
// from the same seeds, and write results/: the table (and eval.csv, per episode),
// the model's learning curve, a Figure 1-style LatCo plan strip and a Figure 6-style
// optimisation plot (and its optimization.csv). The small grid (configs/sweeps/small/)
// runs it per task and seed. It reports what it measures.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "agent/agent.h"
#include "agent/episode_runner.h"
#include "agent/evaluation.h"
#include "agent/pictures.h"
#include "agent/run_checkpoint.h"
#include "agent/train_loop.h"
#include "app/command.h"
#include "app/curves.h"
#include "app/key_help.h"
#include "io/atomic_file.h"
#include "core/device_select.h"
#include "core/streams.h"
#include "core/timer.h"
#include "env/collect.h"
#include "env/episode_origin.h"
#include "io/checkpoint.h"
#include "io/gif.h"
#include "io/plot.h"
#include "io/progress.h"
#include "io/run_lock.h"

namespace fs = std::filesystem;

namespace latco {
namespace {

struct DemoSettings {
  int expert_episodes = 30;        // scripted-expert episodes (with noise) in the dataset
  int random_episodes = 10;        // random-action episodes in the dataset
  int random_hold = 10;            // steps each random action is held (directed random motions)
  float expert_noise = 0.3f;       // expert action noise std
  std::string experts;             // scripted experts of the dataset, comma-separated, taking turns
                                   // episode by episode (lottery,lottery_safe: both goals); "" = the task's
  int train_steps = 2000;          // world-model gradient steps at most
  double train_seconds = 300;      // ... and at most this much offline training time; 0 = no cap (grids:
                                   // a time cap makes the model depend on the machine's load)
  int online_rounds = 0;           // Algorithm 1 rounds after the offline phase: every compared planner
                                   // collects one noisy episode on the current model, then more training
  int online_steps = 100;          // gradient steps per online round
  float online_noise = 0.3f;       // exploration noise of the online episodes
  int eval_episodes = 10;          // evaluation episodes per planner (same seeds for all)
  std::string planners = "latco,cem,shooting_gd";  // compared planners, comma-separated
  std::string online_planners;     // the planners that act in the online rounds; "" = demo_planners. The
                                   // others are evaluation-only: they do not change the model
  std::string out = "results";     // output folder
  std::string model_from;          // a finished demo's folder ({task}, {seed} filled in): evaluate its world
                                   // model instead of collecting and training one (another sweep's models:
                                   // its config must equal this one's); "" = collect and train
  template <class V>
  void visit(V& v) {
    v("demo_expert_episodes", expert_episodes, 0, 100000);
    v("demo_random_episodes", random_episodes, 0, 100000);
    v("demo_random_hold", random_hold, 1, 100000);
    v("demo_expert_noise", expert_noise, 0.0, 10.0);
    v("demo_experts", experts);
    v("demo_train_steps", train_steps, 0, 100000000);
    v("demo_train_seconds", train_seconds, 0.0, 1e9);
    v("demo_online_rounds", online_rounds, 0, 100000);
    v("demo_online_steps", online_steps, 0, 100000000);
    v("demo_online_noise", online_noise, 0.0, 10.0);
    v("demo_eval_episodes", eval_episodes, 1, 100000);
    v("demo_planners", planners);
    v("demo_online_planners", online_planners);
    v("demo_out", out);
    v("demo_model_from", model_from);
  }
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> v;
  std::stringstream ss(s);
  for (std::string x; std::getline(ss, x, ',');)
    if (!x.empty()) v.push_back(x);
  return v;
}

// The demo's phases on its one progress line; the ETA counts all of them.
enum DemoPhase { kCollect, kPretrain, kOnline, kEvaluate, kFigures };

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}

// The demo_ keys that shape the world model (data, training, the planners acting online), as
// model/demo_model.yaml holds them: what demo_model_from compares besides model/config.yaml.
std::string model_keys_text(const DemoSettings& d, const std::vector<std::string>& online) {
  std::ostringstream o;
  o << "# the demo settings that shaped this model (demo_model_from compares them)\n"
    << "demo_expert_episodes: " << d.expert_episodes << "\ndemo_random_episodes: " << d.random_episodes
    << "\ndemo_random_hold: " << d.random_hold << "\ndemo_expert_noise: " << d.expert_noise
    << "\ndemo_experts: " << d.experts << "\ndemo_train_steps: " << d.train_steps
    << "\ndemo_train_seconds: " << d.train_seconds << "\ndemo_online_rounds: " << d.online_rounds
    << "\ndemo_online_steps: " << d.online_steps << "\ndemo_online_noise: " << d.online_noise
    << "\ndemo_online_planners: " << join(online) << "\n";
  return o.str();
}

// ----- 1. data -----
int collect_dataset(Env& env, const DemoSettings& d, const AgentSettings& s, const std::string& dir,
                    Progress& progress) {
  fs::create_directories(dir);
  const std::vector<std::string> names = d.experts.empty() ? std::vector<std::string>{s.task} : split(d.experts);
  std::vector<std::unique_ptr<Expert>> experts;
  if (d.expert_episodes > 0)  // tasks without an expert (locomotion): random episodes only
    for (const auto& n : names) experts.push_back(make_expert(n, d.expert_noise));
  Rng rng = Rng(s.seed).derive(streams::kDemoCollect);
  int successes = 0;
  for (int i = 0; i < d.expert_episodes + d.random_episodes; ++i) {
    const bool scripted = i < d.expert_episodes;
    const size_t k = scripted ? size_t(i) % experts.size() : 0;
    Episode e = collect_episode(env, scripted ? experts[k].get() : nullptr, rng.derive(i).next_u64(), d.random_hold);
    successes += e.any_success();
    char name[64];
    std::snprintf(name, sizeof name, "/%s%04d.npz", scripted ? "expert" : "random", i);
    save_episode_with_origin(dir + name, e, s.task, rng.derive(i).next_u64(),
                             scripted ? "scripted:" + names[k] : "random");
    progress.update(kCollect, i + 1, "successes " + std::to_string(successes) + " of " + std::to_string(i + 1));
  }
  return successes;
}

// ----- 2. world model: offline on the dataset, then short online rounds (Algorithm 1) -----
void train_world_model(Env& env, Rssm& model, const Config& cfg, const std::vector<std::string>& planners,
                       const DemoSettings& d, const AgentSettings& s, const std::string& data, const std::string& dir,
                       Device device, Progress& progress) {
  fs::create_directories(dir);
  const RssmSettings& ms = model.settings();
  std::vector<Episode> eps = load_episode_dir(data);
  int64_t steps = int64_t(d.online_rounds) * int64_t(planners.size()) * (env.time_limit() + 1);
  for (const auto& e : eps) steps += e.T;
  Replay replay(steps, ms.image_size, ms.image_size, model.action_dim(), Rng(s.seed).derive(streams::kDemoReplay).next_u64());
  for (const auto& e : eps) replay.add(e);
  ModelTrainer trainer(model, s.seed, device);
  CsvWriter csv(dir + "/metrics.csv", train_metrics_columns());
  progress.begin(kPretrain);
  Timer clock;
  int64_t offline_steps = 0;  // gradient steps before the online phase
  // The model folder is a run folder: `latco eval --run <out>/model --planner P` evaluates it again.
  auto save_checkpoint = [&](bool) {
    RunCheckpoint ck;
    ck.index = trainer.steps();
    return write_run_checkpoint(dir + "/checkpoints", trainer, ck);
  };
  auto train_until = [&](int phase, int64_t last_step, double max_seconds) {  // max_seconds 0: no cap
    TrainLoop loop;
    loop.batch = ms.batch;
    loop.length = ms.length;
    loop.until = last_step;
    loop.max_seconds = max_seconds;
    loop.clock = &clock;
    loop.metrics = &csv;
    loop.failure_dir = dir;
    loop.save_checkpoint = save_checkpoint;
    loop.after_step = [&](const TrainMetrics& m, const SequenceBatch&) {
      char info[160];
      std::snprintf(info, sizeof info, "loss %.1f kl %.2f reward_ll %.3f", m.loss, m.kl, m.reward_ll);
      progress.update(phase, m.grad_step - (phase == kOnline ? offline_steps : 0), info);
    };
    run_train_loop(trainer, replay, loop);
  };
  train_until(kPretrain, d.train_steps, d.train_seconds);
  if (trainer.steps() < d.train_steps)  // a time cap hit makes the model depend on the machine's speed
    progress_print("      demo_train_seconds (%.0f s) stopped the offline training at %lld of %d steps\n",
                   d.train_seconds, (long long)trainer.steps(), d.train_steps);
  offline_steps = trainer.steps();
  progress.begin(kOnline);
  progress_print("[3/5] %d online rounds of %d steps\n", d.online_rounds, d.online_steps);
  // Online rounds: each planner acts (with exploration noise) on the current model, so the model
  // also learns from the states the planners steer into; then it trains on the grown replay.
  ActSettings act{s.replan_every, d.online_noise};
  int online_successes = 0;
  for (int round = 0; round < d.online_rounds; ++round) {
    RssmLatentModel latent(model.transition());
    std::unique_ptr<DeviceRssmLatentModel> on_device;  // device cuda: the online rounds plan on the GPU
    if (device == Device::CUDA) on_device = std::make_unique<DeviceRssmLatentModel>(model.transition());
    for (size_t i = 0; i < planners.size(); ++i) {
      auto planner = make_planner(planners[i], on_device ? static_cast<const LatentModel&>(*on_device) : latent,
                                  s.horizon, cfg);
      Episode e;
      const uint64_t seed = Rng(s.seed).derive(streams::kDemoPlanSeeds).derive(round * planners.size() + i).next_u64();
      online_successes += run_episode(env, model, planner.get(), act, seed, &e).success ? 1 : 0;
      char name[96];
      std::snprintf(name, sizeof name, "/online%02d_%s.npz", round, planners[i].c_str());
      save_episode_with_origin(data + name, e, s.task, seed, planners[i]);
      replay.add(e);
    }
    train_until(kOnline, trainer.steps() + d.online_steps, 0);
  }
  if (d.online_rounds > 0)
    progress_print("      %d online rounds: %d of %d planner episodes succeed (with noise %.2f)\n", d.online_rounds,
                   online_successes, d.online_rounds * int(planners.size()), d.online_noise);
  save_checkpoint(false);
  std::ofstream config(dir + "/config.yaml");
  config << "# the demo's settings without its demo_ keys: a config that `latco eval` reads\n";
  for (const auto& [k, e] : cfg.entries())
    if (k.rfind("demo_", 0) != 0) config << k << ": " << e.value << "\n";
  // The model's learning curve.
  Series loss = metric_series(dir + "/metrics.csv", "", "grad_step", "loss", -1);
  Series rll = metric_series(dir + "/metrics.csv", "", "grad_step", "reward_ll", -1);
  write_png(d.out + "/learning_curve.png",
            plot_row({plot_lines({loss}, PlotStyle{"world model: ELBO loss", "gradient step", "loss", false, 420, 300}),
                      plot_lines({rll}, PlotStyle{"reward log-likelihood", "gradient step", "ln p(r|z)", false, 420, 300})}));
}

// ----- 2'. or the world model of another demo with the same settings -----
std::string model_source(const DemoSettings& d, const AgentSettings& s) {
  std::string p = d.model_from;
  for (const auto& [key, value] : {std::pair<std::string, std::string>{"{task}", s.task}, {"{seed}", std::to_string(s.seed)}})
    for (size_t at; (at = p.find(key)) != std::string::npos;) p.replace(at, key.size(), value);
  return p;
}

// The source's model/config.yaml (its demo's keys without demo_ ones) must hold exactly this config's
// values: the same task, seed, data, model and online planners' settings give the same model. Keys
// only here may only concern evaluation-only planners; they are listed. Returns the checkpoint.
std::string check_model_source(const std::string& src, const Config& cfg, const std::string& model_keys) {
  const std::string config = src + "/model/config.yaml", ck = latest_checkpoint(src + "/model/checkpoints");
  if (!fs::exists(config) || !fs::exists(src + "/model/demo_model.yaml") || ck.empty())
    LATCO_FAIL("demo_model_from: " << src << " has no finished world model (model/config.yaml and model/checkpoints/):"
                                   << " run that demo first");
  const Config theirs = Config::load(config);
  std::string only_here;
  for (const auto& [k, e] : theirs.entries()) {
    const Config::Entry* mine = cfg.find(k);
    if (!mine || mine->value != e.value)
      LATCO_FAIL("demo_model_from: " << config << " has " << k << ": " << e.value << ", this demo "
                                     << (mine ? mine->value : "(not set)") << ": its model is not this config's");
  }
  for (const auto& [k, e] : cfg.entries())
    if (k.rfind("demo_", 0) != 0 && !theirs.find(k)) only_here += " " + k;
  if (!only_here.empty()) std::printf("demo: keys not in %s (for evaluation-only planners):%s\n", config.c_str(), only_here.c_str());
  std::ifstream f(src + "/model/demo_model.yaml");
  std::stringstream theirs_demo;
  theirs_demo << f.rdbuf();
  if (theirs_demo.str() != model_keys)
    LATCO_FAIL("demo_model_from: " << src << "/model/demo_model.yaml differs from this demo's data, training or online "
                                   << "planners:\n" << theirs_demo.str() << "here:\n" << model_keys);
  return ck;
}

// ----- 4. figures from one planning problem -----
void plan_figures(Env& env, const Rssm& model, const Config& cfg, const AgentSettings& s, const DemoSettings& d) {
  RssmLatentModel latent(model.transition());
  // The latent of the first evaluation episode's first observation.
  Observation o = env.reset(Rng(s.seed + streams::kDemoEvalSeedOffset).derive(0).next_u64());
  std::vector<float> zero(env.action_dim(), 0.0f), z0(model.latent_dim());
  model.latent(model.filter_step(model.initial_state(), zero.data(), o.image.data()), z0.data());

  // Figure 1: the LatCo plan after k iterations (same seed, so each is a prefix of the full run).
  std::vector<Image> rows;
  std::vector<std::string> labels;
  const int full = int(cfg.get_int("latco_iterations", 200));
  for (int k : {0, full / 20, full / 5, full}) {
    Config c = cfg;
    c.override_with("latco_iterations=" + std::to_string(k));
    auto p = make_planner("latco", latent, s.horizon, c);
    const PlanResult& r = p->plan(z0.data(), 5);
    rows.push_back(decode_latents(model, r.latents, std::max(1, s.horizon / 10)));
    labels.push_back("ITERATION " + std::to_string(k));
  }
  write_png(d.out + "/latco_plan.png", upscale(image_grid(rows, 1, 4, labels), 2));

  // Figure 6: reward of the plan against iterations, LatCo vs shooting GD; LatCo's constraints.
  // optimization.csv keeps the curves (the report overlays them across seeds).
  std::vector<Series> reward;
  Series dyn{"dynamics", {}, {}}, lam{"", {}, {}};
  std::string trace = "planner,iteration,reward,dyn_violation,act_violation,mean_lambda\n";
  for (const std::string name : {"latco", "shooting_gd"}) {
    auto p = make_planner(name, latent, s.horizon, cfg);
    const PlanResult& r = p->plan(z0.data(), 5);
    Series ser{name, {}, {}};
    for (const auto& it : r.iters) {
      char line[192];
      std::snprintf(line, sizeof line, "%s,%d,%.9g,%.9g,%.9g,%.9g\n", name.c_str(), it.iter, it.reward, it.dyn_violation,
                    it.act_violation, it.mean_lambda);
      trace += line;
      ser.x.push_back(it.iter);
      ser.y.push_back(it.reward);
      if (name == "latco") {
        dyn.x.push_back(it.iter), dyn.y.push_back(it.dyn_violation);
        lam.x.push_back(it.iter), lam.y.push_back(it.mean_lambda);
      }
    }
    reward.push_back(ser);
  }
  write_file_atomic(d.out + "/optimization.csv", trace);
  write_png(d.out + "/optimization.png",
            plot_row({plot_lines(reward, PlotStyle{"planned reward", "iteration", "sum r(z_t)", false, 420, 300}),
                      plot_lines({dyn}, PlotStyle{"latco: dynamics violation", "iteration", "sum sq.", true, 420, 300}),
                      plot_lines({lam}, PlotStyle{"latco: multiplier", "iteration", "mean lambda", true, 420, 300})}));
}

int demo(const Args& args) {
  Config cfg = args.has("config") ? Config::load(args.get("config")) : Config();
  for (const auto& kv : args.overrides) cfg.override_with(kv);
  if (args.has("out")) cfg.override_with("demo_out=" + args.get("out"));
  const bool dry_run = args.has("dry-run");  // check every key, build env, model and planners, stop
  args.check_all_read("demo");
  DemoSettings d;
  AgentSettings s;
  RssmSettings ms;
  cfg.apply(d);
  cfg.apply(s);
  cfg.apply(ms);
  Timer total;
  auto env = make_run_env(s, ms);
  const std::vector<std::string> planners = split(d.planners);
  const std::vector<std::string> online = d.online_planners.empty() ? planners : split(d.online_planners);
  {  // Check every key now (planner settings included), before spending minutes.
    Rssm probe_model(ms, env->action_dim(), s.seed);
    RssmLatentModel probe(probe_model.transition());
    for (const auto& p : planners) make_planner(p, probe, s.horizon, cfg);  // unknown names fail here
    for (const auto& p : online) make_planner(p, probe, s.horizon, cfg);
    if (d.expert_episodes > 0)  // unknown experts fail here
      for (const auto& n : d.experts.empty() ? std::vector<std::string>{s.task} : split(d.experts)) make_expert(n);
    read_planner_keys(cfg);
    cfg.check_all_used();
  }
  const Device device = select_device(s.device, s.require_device, "demo", cfg.where("device"));
  if (dry_run) {
    std::printf("demo --dry-run: every key resolved; task %s, planners %s; would write %s/\n", s.task.c_str(),
                d.planners.c_str(), d.out.c_str());
    return 0;
  }
  const std::string source = d.model_from.empty() ? "" : model_source(d, s);
  const std::string source_ck = source.empty() ? "" : check_model_source(source, cfg, model_keys_text(d, online));
  RunLock lock(d.out, "demo");
  // A previous demo's data and model would mix into this one (its online episodes would be
  // trained on): replace them, so a second run prints the same table as the first.
  for (const char* sub : {"/data", "/model"}) {
    std::error_code ec;
    if (fs::exists(d.out + sub, ec)) {
      std::printf("demo: replacing the previous demo's %s%s\n", d.out.c_str(), sub);
      fs::remove_all(d.out + sub, ec);
      if (ec) LATCO_FAIL(d.out << sub << ": cannot remove the previous demo's files: " << ec.message());
    }
  }
  fs::create_directories(d.out);
  std::printf("demo: task %s, %dx%d images, planners %s, results in %s/\n", s.task.c_str(), ms.image_size,
              ms.image_size, d.planners.c_str(), d.out.c_str());

  Progress progress({{"collect", d.expert_episodes + d.random_episodes, "episodes"},
                     {"pretrain", d.train_steps, "steps"},
                     {"online", int64_t(d.online_rounds) * d.online_steps, "steps"},
                     {"evaluate", int64_t(planners.size()) * d.eval_episodes, "episodes"},
                     {"figures", 2, "figures"}});
  Rssm model(ms, env->action_dim(), s.seed);
  if (source.empty()) {
    progress_print("[1/5] collecting %d expert (noise %.2f) + %d random episodes (actions held %d steps)\n",
                   d.expert_episodes, d.expert_noise, d.random_episodes, d.random_hold);
    int succ = collect_dataset(*env, d, s, d.out + "/data", progress);
    progress_print("      %d of %d dataset episodes succeed\n", succ, d.expert_episodes + d.random_episodes);

    char cap[48] = "no time cap";
    if (d.train_seconds > 0) std::snprintf(cap, sizeof cap, "%.0f s", d.train_seconds);
    progress_print("[2/5] training the world model (at most %d steps, %s), then %d online rounds of %d steps (%s act)\n",
                   d.train_steps, cap, d.online_rounds, d.online_steps, join(online).c_str());
    train_world_model(*env, model, cfg, online, d, s, d.out + "/data", d.out + "/model", device, progress);
    write_file_atomic(d.out + "/model/demo_model.yaml", model_keys_text(d, online));
  } else {
    ModelTrainer trainer(model, s.seed);
    trainer.load(load_checkpoint(source_ck), source_ck);
    trainer.sync_model();
    progress_print("[1-3/5] the world model of %s (%lld gradient steps)\n", source_ck.c_str(),
                   (long long)trainer.steps());
  }

  progress.begin(kEvaluate);
  progress_print("[4/5] evaluating %zu planners on %d episodes each (same seeds)\n", planners.size(), d.eval_episodes);
  std::vector<EvalSummary> rows;
  // eval.csv: every evaluation episode (success at any step and at the last step; the report pairs
  // planners by episode seed). One model, so episode i has the same start for every planner.
  std::string per_episode = "planner,episode,return,success_any,success_end,steps\n";
  for (const auto& p : planners) {
    std::vector<Episode> eps;
    const ProgressSlot slot{&progress, kEvaluate, int64_t(rows.size()) * d.eval_episodes};
    rows.push_back(evaluate_planner(*env, model, p, cfg, s.horizon, s.replan_every, d.eval_episodes,
                                    s.seed + streams::kDemoEvalSeedOffset, &eps, slot, device));
    for (size_t i = 0; i < eps.size(); ++i) {
      char line[160];
      std::snprintf(line, sizeof line, "%s,%zu,%.9g,%d,%d,%d\n", p.c_str(), i, double(eps[i].total_reward()),
                    int(eps[i].any_success()), eps[i].T > 0 ? int(eps[i].success.back()) : 0, eps[i].T - 1);
      per_episode += line;
    }
    write_png(d.out + "/episode_" + p + ".png", episode_sheet(eps[0], 5, 10));
    write_gif(d.out + "/episode_" + p + ".gif",
              episode_frames(eps[0], s.task + ", planner " + p + ", episode 0", 4), 8);
    progress_print("      %-14s success %.2f  return %.2f  %.3f s/step\n", p.c_str(), rows.back().success_rate,
                   rows.back().mean_return, rows.back().plan_s_per_step);
  }
  write_file_atomic(d.out + "/eval.csv", per_episode);
  progress.begin(kFigures);
  progress_print("[5/5] plan figures\n");
  plan_figures(*env, model, cfg, s, d);
  progress.update(kFigures, 1, "latco_plan.png optimization.png");
  write_gif(d.out + "/latco_plan.gif",
            plan_iteration_frames(*env, model, "latco", cfg, s.horizon, Rng(s.seed + streams::kDemoEvalSeedOffset).derive(0).next_u64(), 5),
            60);
  progress.finish(2, "latco_plan.gif");

  const std::string table = format_eval_table(rows, false);
  std::ofstream(d.out + "/results.md") << "# latco demo: task " << s.task << ", " << d.eval_episodes
                                      << " evaluation episodes per planner\n\n"
                                      << format_eval_table(rows, true);
  std::printf("\n%s\nwrote %s/: results.md learning_curve.png latco_plan.png latco_plan.gif optimization.png "
              "optimization.csv eval.csv episode_<planner>.png episode_<planner>.gif data/ model/  (%.0f s)\n",
              table.c_str(), d.out.c_str(), total.seconds());
  return 0;
}

}  // namespace

int cmd_demo(const Args& args) { return demo(args); }
CommandHelp help_demo() {
  return CommandHelp{"latco demo --config configs/demo.yaml [--out DIR] [--dry-run] [key=value ...]",
                          {{"--config", "", "config file (configs/demo.yaml); none: defaults"},
                           {"--out", "results (demo_out)", "folder for the table, figures, data and model"},
                           {"--dry-run", "", "resolve every key, build environment, model and planners, then stop"}},
                          "",
                          [] {
                            return config_keys([](const Config& cfg) {
                              DemoSettings d;
                              AgentSettings s;
                              RssmSettings ms;
                              cfg.apply(d);
                              cfg.apply(s);
                              cfg.apply(ms);
                              read_planner_keys(cfg);
                            });
                          }};
}

}  // namespace latco
