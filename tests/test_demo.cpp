// `latco demo` as the small grid uses it: evaluation-only planners and demo_train_seconds: 0 leave the
// model unchanged, the per-episode and per-iteration files it writes, the latco_released preset, and a
// killed demo entry started again cleanly by `latco sweep run`. Tiny configs: seconds each.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include "app/manifest.h"
#include "app/sweep.h"
#include "app/command.h"
#include "io/checkpoint.h"
#include "io/run_lock.h"
#include "model/rssm.h"
#include "model/rssm_latent_model.h"
#include "plan/collocation/latco.h"
#include "plan/planner.h"

#include "tests/test_files.h"

using namespace latco;
namespace fs = std::filesystem;

namespace {

std::string fresh_dir(const std::string& name) { return fresh_test_dir("demo", name); }
std::string read(const std::string& path) { return read_text(path); }

// A demo far below laptop scale: 8-step episodes, a few gradient steps, two online rounds.
const std::string kTiny =
    "task: reach\nseed: 3\nhorizon: 4\nreplan_every: 2\ntime_limit: 8\ndemo_expert_episodes: 2\n"
    "demo_random_episodes: 1\ndemo_train_steps: 4\ndemo_online_rounds: 2\ndemo_online_steps: 2\n"
    "demo_eval_episodes: 2\nmodel_image_size: 16\nmodel_stoch: 3\nmodel_deter: 6\nmodel_hidden: 6\n"
    "model_depth: 2\nmodel_reward_hidden: 6\nmodel_batch: 2\nmodel_length: 4\nlatco_iterations: 3\n"
    "cem_samples: 20\ncem_elites: 4\ncem_iterations: 2\ngd_iterations: 3\n";

std::map<std::string, Tensor> model_tensors(const std::string& demo_out) {
  return load_checkpoint(latest_checkpoint(demo_out + "/model/checkpoints")).tensors;
}

// metrics.csv without its wall-time column (the last).
std::string losses(const std::string& demo_out) {
  std::stringstream in(read(demo_out + "/model/metrics.csv")), out;
  for (std::string line; std::getline(in, line);) out << line.substr(0, line.rfind(',')) << "\n";
  return out.str();
}

// eval.csv's rows of one planner.
std::string eval_rows(const std::string& demo_out, const std::string& planner) {
  std::stringstream in(read(demo_out + "/eval.csv"));
  std::string rows;
  for (std::string line; std::getline(in, line);)
    if (line.rfind(planner + ",", 0) == 0) rows += line + "\n";
  return rows;
}

int demo(const std::string& dir, const std::string& out, const std::vector<std::string>& keys) {
  std::vector<std::string> args = {"--config", dir + "/tiny.yaml", "--out", out};
  args.insert(args.end(), keys.begin(), keys.end());
  return run_command("demo", args);
}

}  // namespace

TEST(Demo, EvaluationOnlyPlannersLeaveTheModelUnchanged) {
  const std::string dir = fresh_dir("online");
  std::ofstream(dir + "/tiny.yaml") << kTiny;
  // A: latco and cem act online and are evaluated (demo_online_planners empty: the same planners).
  ASSERT_EQ(demo(dir, dir + "/a", {"demo_planners=latco,cem"}), 0);
  // B: the same two act online; two more are evaluated only. No time cap (0) instead of 300 s.
  ASSERT_EQ(demo(dir, dir + "/b", {"demo_planners=latco,cem,latco_released,shooting_gd",
                                   "demo_online_planners=latco,cem", "demo_train_seconds=0"}),
            0);
  const auto a = model_tensors(dir + "/a"), b = model_tensors(dir + "/b");
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, t] : a) EXPECT_EQ(t.to_vector(), b.at(name).to_vector()) << name;
  EXPECT_EQ(losses(dir + "/a"), losses(dir + "/b"));
  // 4 offline + 2 x 2 online steps, each a row: demo_train_seconds: 0 is no cap, not "stop at once".
  const std::string lb = losses(dir + "/b"), eb = read(dir + "/b/eval.csv");
  EXPECT_EQ(std::count(lb.begin(), lb.end(), '\n'), 1 + 4 + 4);
  for (const char* p : {"latco", "cem"}) {
    EXPECT_FALSE(eval_rows(dir + "/a", p).empty()) << p;
    EXPECT_EQ(eval_rows(dir + "/a", p), eval_rows(dir + "/b", p)) << p;
  }
  EXPECT_EQ(std::count(eb.begin(), eb.end(), '\n'), 1 + 4 * 2);
  EXPECT_FALSE(eval_rows(dir + "/b", "latco_released").empty());
  EXPECT_FALSE(fs::exists(dir + "/b/data/online00_latco_released.npz"));  // evaluation-only: never acted
  EXPECT_TRUE(fs::exists(dir + "/b/data/online01_cem.npz"));
  // The Figure 6 trace: LatCo's iterations 0..3 (and shooting GD's), with the multiplier.
  const std::string trace = read(dir + "/b/optimization.csv");
  EXPECT_EQ(trace.rfind("planner,iteration,reward,dyn_violation,act_violation,mean_lambda\n", 0), 0u) << trace;
  EXPECT_NE(trace.find("\nlatco,3,"), std::string::npos) << trace;
  EXPECT_NE(trace.find("\nshooting_gd,0,"), std::string::npos) << trace;

  // C: only latco acts online: fewer online episodes, so another model.
  ASSERT_EQ(demo(dir, dir + "/c", {"demo_planners=latco,cem", "demo_online_planners=latco"}), 0);
  EXPECT_FALSE(fs::exists(dir + "/c/data/online00_cem.npz"));
  EXPECT_NE(losses(dir + "/a"), losses(dir + "/c"));
  // An unknown online planner fails before anything runs, naming it.
  try {
    demo(dir, dir + "/d", {"demo_online_planners=latco,nope"});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nope"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir + "/d/data"));
}

TEST(Demo, ExpertsTakeTurnsOrRandomEpisodesOnly) {
  const std::string dir = fresh_dir("experts");
  std::ofstream(dir + "/tiny.yaml") << kTiny;
  ASSERT_EQ(demo(dir, dir + "/l", {"task=lottery", "demo_experts=lottery,lottery_safe", "demo_expert_episodes=2",
                                   "demo_online_rounds=0", "demo_planners=cem"}),
            0);
  EXPECT_TRUE(fs::exists(dir + "/l/data/expert0000.npz"));
  EXPECT_TRUE(fs::exists(dir + "/l/data/expert0001.npz"));
  EXPECT_THROW(demo(dir, dir + "/m", {"demo_experts=reach,nope"}), Error);
  // A task without an expert: random and online episodes only.
  ASSERT_EQ(demo(dir, dir + "/r", {"task=reacher_easy", "demo_expert_episodes=0", "demo_random_episodes=2",
                                   "demo_online_rounds=1", "demo_planners=latco,cem"}),
            0);
  EXPECT_TRUE(fs::exists(dir + "/r/data/random0001.npz"));
  EXPECT_TRUE(fs::exists(dir + "/r/data/online00_cem.npz"));
  EXPECT_THROW(demo(dir, dir + "/n", {"task=reacher_easy"}), Error);  // expert episodes asked for: no expert
}

// latco_released: the released code's solver and dual rule, without the adaptive solver's floor and
// clamp (configs/paper/README.md, rows L1-L3).
TEST(Demo, LatcoReleasedPresetHasTheReleasedSettings) {
  RssmSettings ms;
  ms.stoch = 3, ms.deter = 6, ms.hidden = 6, ms.reward_hidden = 6, ms.image_size = 16, ms.depth = 2;
  Rssm model(ms, 4, 0);
  RssmLatentModel m(model.transition());
  Config cfg;
  cfg.set("latco_iterations", "3");
  auto p = make_planner("latco_released", m, 5, cfg);
  auto& lp = dynamic_cast<LatcoPlanner&>(*p);
  EXPECT_EQ(p->name(), "latco_released");
  EXPECT_EQ(lp.settings().solver_kind, LatcoSolver::Released);
  EXPECT_EQ(lp.settings().rule, DualRule::Released);
  EXPECT_FALSE(lp.settings().floor_initial);
  EXPECT_FALSE(lp.settings().clamp);
  const LatcoSettings base = dynamic_cast<LatcoPlanner&>(*make_planner("latco", m, 5, cfg)).settings();
  EXPECT_EQ(lp.settings().lambda0, base.lambda0);  // the rest as latco's
  EXPECT_EQ(lp.settings().iterations, 3);
  std::vector<float> z0(model.latent_dim(), 0.0f);
  EXPECT_EQ(p->plan(z0.data(), 1).iters.size(), 4u);
  // The grid's `latco_multiplier_floor: auto` floors latco's multipliers and not the released solver's.
  cfg.set("latco_multiplier_floor", "auto");
  EXPECT_FALSE(dynamic_cast<LatcoPlanner&>(*make_planner("latco_released", m, 5, cfg)).settings().floor_initial);
  EXPECT_TRUE(dynamic_cast<LatcoPlanner&>(*make_planner("latco", m, 5, cfg)).settings().floor_initial);
}

// A demo entry killed part-way (its manifest started and never ended, its data half written) is
// neither finished nor running: `sweep run` starts it again from nothing, and it ends as a straight run.
TEST(Demo, KilledDemoEntryStartsAgainCleanly) {
  const std::string dir = fresh_dir("killed");
  std::ofstream(dir + "/tiny.yaml") << kTiny << "demo_planners: latco,cem\n";
  std::ofstream(dir + "/sweep.yaml") << "include: tiny.yaml\ncommand: demo\nseed: [3]\nmanifest_host: false\n";
  plan_sweep(read_sweep_file(dir + "/sweep.yaml"), dir + "/g");
  const std::string run = dir + "/g/reach-demo-s3";
  ASSERT_EQ(run_command("sweep", {"run", dir + "/g", "--index", "0"}), 0);
  const auto straight = model_tensors(run);
  const std::string straight_eval = read(run + "/eval.csv");
  // What a kill leaves: the manifest without its end, a half-written episode, no model yet.
  std::string m = read(run + "/manifest.yaml");
  m.erase(m.find("end_time:"), m.find("config: |") - m.find("end_time:"));
  std::ofstream(run + "/manifest.yaml") << m;
  std::ofstream(run + "/data/online00_latco.npz") << "truncated";
  fs::remove_all(run + "/model");
  EXPECT_EQ(run_status(run).state, RunState::Interrupted);  // no host in the manifest: the free lock tells
  {
    RunLock held(run, "demo");  // while a process holds the run's lock, it is running
    EXPECT_EQ(run_status(run).state, RunState::Running);
  }
  EXPECT_EQ(decide_action(run_status(run), false), RunAction::Start);
  ASSERT_EQ(run_command("sweep", {"run", dir + "/g", "--index", "0"}), 0);
  EXPECT_EQ(run_status(run).state, RunState::Finished);
  EXPECT_EQ(read_manifest(run + "/manifest.yaml")["attempts"], "2");
  const auto again = model_tensors(run);
  for (const auto& [name, t] : straight) EXPECT_EQ(t.to_vector(), again.at(name).to_vector()) << name;
  EXPECT_EQ(read(run + "/eval.csv"), straight_eval);
}

// demo_model_from: another demo's model, evaluated by other planners (the small grid's Table 3 on its
// Table 1 models). The same planner gives the same episodes as in the source; another config fails.
TEST(Demo, ModelFromAnotherDemoWithTheSameSettings) {
  const std::string dir = fresh_dir("from");
  std::ofstream(dir + "/tiny.yaml") << kTiny;
  ASSERT_EQ(demo(dir, dir + "/reach-s3", {"demo_planners=latco,cem"}), 0);
  const std::string from = "demo_model_from=" + dir + "/{task}-s{seed}";
  ASSERT_EQ(demo(dir, dir + "/ab", {"demo_planners=latco,latco_no_relax", "demo_online_planners=latco,cem", from}), 0);
  EXPECT_EQ(eval_rows(dir + "/ab", "latco"), eval_rows(dir + "/reach-s3", "latco"));
  EXPECT_FALSE(eval_rows(dir + "/ab", "latco_no_relax").empty());
  EXPECT_FALSE(fs::exists(dir + "/ab/model"));  // nothing trained
  auto error_of = [&](const std::vector<std::string>& keys) {
    try {
      demo(dir, dir + "/bad", keys);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  // Online planners differ (demo_planners latco,cem acted in the source): another model.
  EXPECT_NE(error_of({"demo_planners=latco", from}).find("demo_model.yaml"), std::string::npos);
  EXPECT_NE(error_of({"demo_planners=latco,cem", "demo_train_steps=5", from}).find("demo_train_steps"), std::string::npos);
  EXPECT_NE(error_of({"demo_planners=latco,cem", "model_hidden=7", from}).find("model_hidden"), std::string::npos);
  EXPECT_NE(error_of({"demo_planners=latco,cem", "seed=4", from}).find("no finished world model"), std::string::npos);
}

// `latco report` from the committed files alone: a demo grid cut down to the names that
// data/results/.gitignore keeps (no episodes, checkpoints, pictures, logs or locks) reports the same.
TEST(Demo, ReportFromTheCommittedFilesAlone) {
  const std::string dir = fresh_dir("committed");
  std::ofstream(dir + "/tiny.yaml") << kTiny << "demo_planners: latco,cem\n";
  std::ofstream(dir + "/sweep.yaml") << "include: tiny.yaml\ncommand: demo\nseed: [0, 1]\nmanifest_host: false\n";
  plan_sweep(read_sweep_file(dir + "/sweep.yaml"), dir + "/g");
  for (const char* i : {"0", "1"}) ASSERT_EQ(run_command("sweep", {"run", dir + "/g", "--index", i}), 0);
  ASSERT_EQ(run_command("report", {dir + "/g", "--out", dir + "/full"}), 0);
  std::set<std::string> keep;  // the `!name` lines; `!**/report/*` keeps a report folder's files
  std::stringstream rules(read("data/results/.gitignore"));
  for (std::string line; std::getline(rules, line);)
    if (line.size() > 1 && line[0] == '!' && line.find('/') == std::string::npos) keep.insert(line.substr(1));
  ASSERT_TRUE(keep.count("eval.csv") && keep.count("manifest.yaml") && !keep.count("ckpt-000000008.bin"));
  ASSERT_NE(read("data/results/.gitignore").find("\n!**/report/*\n"), std::string::npos);
  int removed = 0;
  for (const auto& f : std::vector<fs::path>(fs::recursive_directory_iterator(dir + "/g"), {}))
    if (fs::is_regular_file(f) && !keep.count(f.filename().string())) removed += fs::remove(f);
  EXPECT_GT(removed, 20);
  EXPECT_FALSE(fs::exists(dir + "/g/reach-demo-s0/model/checkpoints/ckpt-000000008.bin"));
  EXPECT_EQ(run_status(dir + "/g/reach-demo-s0").state, RunState::Finished);
  ASSERT_EQ(run_command("report", {dir + "/g", "--out", dir + "/small"}), 0);
  EXPECT_EQ(read(dir + "/small/report.md"), read(dir + "/full/report.md"));
  EXPECT_NE(read(dir + "/small/report.md").find("| cem | "), std::string::npos);
  EXPECT_NE(read(dir + "/small/report.md").find("## Paired differences, latco minus each method"), std::string::npos);
  EXPECT_NE(read(dir + "/small/report.md").find("`optimization.png`: Figure 6 across seeds"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir + "/small/optimization.png"));
  EXPECT_EQ(read(dir + "/small/optimization.png"), read(dir + "/full/optimization.png"));
}
