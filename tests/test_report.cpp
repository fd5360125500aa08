// `latco report`: Student's t quantiles and 95% intervals against hand-computed values, and
// report tables, curves and scores.json from synthetic run folders (train and demo sweeps).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <tuple>

#include "app/command.h"
#include "app/report.h"
#include "core/error.h"

#include "tests/test_files.h"

using namespace latco;
namespace fs = std::filesystem;

namespace {

std::string fresh_dir(const std::string& name) { return fresh_test_dir("report", name); }
std::string read(const std::string& path) { return read_text(path); }

// A finished run folder: its config, a finished manifest and metrics.csv rows
// (episode, env_steps, eval, return, success).
void make_run(const std::string& dir, const std::string& task, const std::string& planner, int seed,
              const std::vector<std::vector<double>>& rows, bool finished = true, const std::string& extra = "") {
  fs::create_directories(dir);
  std::ofstream(dir + "/config.sweep.yaml") << "task: " << task << "\nplanner: " << planner << "\nseed: " << seed
                                            << "\n" << extra;
  std::ofstream(dir + "/manifest.yaml") << "command: train\nstart_time: 2026-01-01T00:00:00Z\n"
                                        << (finished ? "end_time: 2026-01-01T00:01:00Z\nexit_status: 0\n" : "");
  std::ofstream csv(dir + "/metrics.csv");
  csv << "episode,env_steps,agent_steps,grad_steps,eval,return,success,loss,kl,image_ll,reward_ll,plan_s_per_step,"
         "seconds\n";
  for (const auto& r : rows) csv << r[0] << "," << r[1] << ",0,0," << r[2] << "," << r[3] << "," << r[4] << ",0,0,0,0,0,0\n";
}

// Evaluations after episodes 1 and 2 (a training row between them) with the given successes and returns.
std::vector<std::vector<double>> evals(double s1, double s2, double r1, double r2) {
  return {{1, 10, 0, 0, 0}, {1, 10, 1, r1, s1}, {2, 20, 0, 0, 0}, {2, 20, 1, r2, s2}};
}

}  // namespace

TEST(Report, TCriticalValues) {
  EXPECT_NEAR(t_critical_95(1), 12.7062, 1e-4);
  EXPECT_NEAR(t_critical_95(2), 4.3027, 1e-4);
  EXPECT_NEAR(t_critical_95(9), 2.2622, 1e-4);
  EXPECT_NEAR(t_critical_95(30), 2.0423, 1e-4);
  EXPECT_NEAR(t_critical_95(31), 2.0395, 1e-4);   // past the table: the expansion
  EXPECT_NEAR(t_critical_95(60), 2.0003, 1e-4);
  EXPECT_NEAR(t_critical_95(120), 1.9799, 1e-4);
  EXPECT_NEAR(t_critical_95(100000), 1.95997, 1e-4);
  EXPECT_THROW(t_critical_95(0), Error);
}

TEST(Report, ConfidenceIntervalsByHand) {
  // {0.2, 0.4, 0.9}: mean 0.5, sample sd sqrt(0.26 / 2) = 0.360555, se 0.208167, t(2) 4.302653.
  MeanCI c = mean_ci95({0.2, 0.4, 0.9});
  EXPECT_EQ(c.n, 3);
  EXPECT_NEAR(c.mean, 0.5, 1e-12);
  EXPECT_NEAR(c.half, 0.895669, 1e-5);
  // {10, 20}: mean 15, sd 7.0711, se 5, t(1) 12.706205.
  c = mean_ci95({10, 20});
  EXPECT_NEAR(c.half, 63.531, 1e-3);
  c = mean_ci95({1, 1, 1});
  EXPECT_EQ(c.half, 0.0);
  c = mean_ci95({0.7});  // one seed: the value, n = 1, no interval
  EXPECT_EQ(c.n, 1);
  EXPECT_EQ(c.mean, 0.7);
  EXPECT_TRUE(std::isnan(c.half));
  EXPECT_EQ(mean_ci95({}).n, 0);
}

TEST(Report, TablesFromSyntheticRunFolders) {
  const std::string dir = fresh_dir("grid");
  std::ofstream(dir + "/sweep.yaml") << "command: train\naxes: task,planner,seed\n";
  std::ofstream tsv(dir + "/sweep.tsv");
  tsv << "# index\tfolder\toverrides\n";
  int i = 0;
  auto add = [&](const std::string& task, const std::string& planner, int seed, std::vector<std::vector<double>> rows,
                 bool finished = true) {
    const std::string name = task + "-" + planner + "-s" + std::to_string(seed);
    make_run(dir + "/" + name, task, planner, seed, rows, finished);
    tsv << i++ << "\t" << name << "\ttask=" << task << "\n";
  };
  // reach/cem: finals (mean of the last 2 evaluations) 0.5, 0, 1 and returns 10, 20, 30.
  add("reach", "cem", 0, evals(1, 0, 5, 15));
  add("reach", "cem", 1, evals(0, 0, 20, 20));
  add("reach", "cem", 2, evals(1, 1, 30, 30));
  add("reach", "latco", 0, evals(1, 1, 40, 40));
  add("reach", "latco", 1, evals(1, 1, 40, 40));
  add("reach", "latco", 2, evals(1, 1, 40, 40));
  add("button", "cem", 0, evals(1, 1, 3, 3));
  add("button", "latco", 0, evals(1, 1, 3, 3), false);  // not finished: left out
  tsv.close();

  std::vector<std::string> unfinished;
  auto runs = collect_results(dir, 2, &unfinished);
  ASSERT_EQ(runs.size(), 7u);
  ASSERT_EQ(unfinished, std::vector<std::string>{"button-latco-s0"});
  EXPECT_EQ(runs[0].xs, (std::vector<double>{10, 20}));
  EXPECT_DOUBLE_EQ(runs[0].final_success, 0.5);
  EXPECT_DOUBLE_EQ(runs[0].final_return, 10);
  EXPECT_DOUBLE_EQ(collect_results(dir, 1)[0].final_success, 0.0);  // k = 1: the last evaluation only

  const std::string md = report_markdown(runs, {}, 2, "grid");
  // 0.5 ± 4.302653 * 0.5 / sqrt(3) = 1.2421; returns 20 ± 4.302653 * 10 / sqrt(3) = 24.84.
  EXPECT_NE(md.find("| method | reach | button |"), std::string::npos) << md;
  EXPECT_NE(md.find("| cem | 0.50 ± 1.24 (n=3) | **1.00 (n=1)** |"), std::string::npos) << md;
  EXPECT_NE(md.find("| latco | **1.00 ± 0.00 (n=3)** | – |"), std::string::npos) << md;
  EXPECT_NE(md.find("| cem | 20.0 ± 24.8 (n=3) | **3.0 (n=1)** |"), std::string::npos) << md;

  // The command writes every file; scores.json has one record per finished run.
  ASSERT_EQ(run_command("report", {dir, "--out", dir + "/out", "--last", "2"}), 0);
  for (const char* f : {"report.md", "curves.png", "curves_return.png", "scores.json"})
    EXPECT_TRUE(fs::exists(dir + "/out/" + f)) << f;
  const std::string js = read(dir + "/out/scores.json");
  size_t records = 0;
  for (size_t p = js.find("\"task\""); p != std::string::npos; p = js.find("\"task\"", p + 1)) ++records;
  EXPECT_EQ(records, 7u);
  EXPECT_NE(js.find("{\"task\": \"reach\", \"method\": \"cem\", \"seed\": \"0\", \"xs\": [10, 20], \"ys\": [1, 0]}"),
            std::string::npos)
      << js;
  EXPECT_NE(read(dir + "/out/report.md").find("Not finished, left out: button-latco-s0"), std::string::npos);
}

TEST(Report, OtherAxesResumedLogsAndDemoRuns) {
  const std::string dir = fresh_dir("axes");
  std::ofstream(dir + "/sweep.yaml") << "command: train\naxes: planner,model_lr\n";
  // A resumed run logged evaluations 2 and 3 twice: the later rows replace the earlier ones.
  make_run(dir + "/a", "reach", "latco", 0,
           {{2, 20, 1, 1, 0}, {3, 30, 1, 2, 0}, {2, 20, 1, 5, 1}, {3, 30, 1, 6, 1}, {4, 40, 1, 7, 1}}, true,
           "model_lr: 0.001\n");
  make_run(dir + "/b", "reach", "latco", 0, evals(0, 0, 1, 1), true, "model_lr: 0.01\n");
  std::ofstream(dir + "/sweep.tsv") << "0\ta\tplanner=latco model_lr=0.001\n1\tb\tplanner=latco model_lr=0.01\n";
  auto runs = collect_results(dir, 1);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].xs, (std::vector<double>{20, 30, 40}));
  EXPECT_EQ(runs[0].returns, (std::vector<double>{5, 6, 7}));
  EXPECT_EQ(runs[0].axes.at("model_lr"), "0.001");
  const std::string md = report_markdown(runs, {"model_lr"}, 1, "axes");
  EXPECT_NE(md.find("| latco model_lr=0.001 | **1.00 (n=1)** |"), std::string::npos) << md;
  EXPECT_NE(md.find("## Final success rate by model_lr"), std::string::npos) << md;
  EXPECT_NE(md.find("| 0.01 | 0.00 (n=1) |"), std::string::npos) << md;

  // A demo sweep: each run evaluates several planners on one model; the report aggregates by planner.
  const std::string demo = fresh_dir("demo");
  std::ofstream(demo + "/sweep.yaml") << "command: demo\naxes: seed\n";
  std::ofstream(demo + "/sweep.tsv") << "0\treach-latco-s0\tseed=0\n1\treach-latco-s1\tseed=1\n";
  for (int s : {0, 1}) {
    const std::string run = demo + "/reach-latco-s" + std::to_string(s);
    make_run(run, "reach", "latco", s, {});
    std::ofstream(run + "/results.md")
        << "# latco demo\n\n| planner | episodes | success rate | return | planning s/step | s/plan |\n"
        << "|---|---|---|---|---|---|\n| latco | 4 | " << (s ? "1.00" : "0.50") << " ± 0.10 | 12.00 ± 1.00 | 0.010 | 0.10 |\n"
        << "| cem | 4 | 0.25 ± 0.10 | 8.00 ± 1.00 | 0.020 | 0.20 |\n";
  }
  runs = collect_results(demo, 1);
  ASSERT_EQ(runs.size(), 4u);
  const std::string dmd = report_markdown(runs, {}, 1, "demo");
  // latco: {0.5, 1.0}: 0.75 ± 12.706205 * 0.353553 / sqrt(2) = 3.18.
  EXPECT_NE(dmd.find("| latco | **0.75 ± 3.18 (n=2)** |"), std::string::npos) << dmd;
  EXPECT_NE(dmd.find("| cem | 0.25 ± 0.00 (n=2) |"), std::string::npos) << dmd;
}

namespace {
// A finished demo entry with eval.csv rows (planner, return, success at any step, at the last step).
void make_demo_run(const std::string& dir, const std::string& task, int seed,
                   const std::vector<std::tuple<std::string, double, int, int>>& episodes) {
  make_run(dir, task, "demo", seed, {});
  std::ofstream csv(dir + "/eval.csv");
  csv << "planner,episode,return,success_any,success_end,steps\n";
  std::map<std::string, int> n;
  for (const auto& [p, ret, any, end] : episodes) csv << p << "," << n[p]++ << "," << ret << "," << any << "," << end << ",150\n";
}
}  // namespace

// Paired differences latco minus each planner, from per-episode eval.csv files of three seeds,
// against values computed by hand; success at any step and at the last step.
TEST(Report, PairedDifferencesAndSuccessAtTheEndByHand) {
  const std::string dir = fresh_dir("paired");
  std::ofstream(dir + "/sweep.yaml") << "command: demo\naxes: seed\n";
  std::ofstream(dir + "/sweep.tsv") << "0\treach-demo-s0\tseed=0\n1\treach-demo-s1\tseed=1\n2\treach-demo-s2\tseed=2\n";
  // latco success at any step {0.5, 0.75, 0.25}, at the end {0.25, 0.5, 0}; cem {0, 0.25, 0.25}, at the end 0.
  const std::vector<std::vector<int>> latco_any = {{1, 1, 0, 0}, {1, 1, 1, 0}, {1, 0, 0, 0}},
                                      latco_end = {{1, 0, 0, 0}, {1, 1, 0, 0}, {0, 0, 0, 0}},
                                      cem_any = {{0, 0, 0, 0}, {1, 0, 0, 0}, {1, 0, 0, 0}};
  for (int s = 0; s < 3; ++s) {
    std::vector<std::tuple<std::string, double, int, int>> eps;
    for (int i = 0; i < 4; ++i) eps.emplace_back("latco", 10.0 * latco_any[s][i], latco_any[s][i], latco_end[s][i]);
    for (int i = 0; i < 4; ++i) eps.emplace_back("cem", 10.0 * cem_any[s][i], cem_any[s][i], 0);
    make_demo_run(dir + "/reach-demo-s" + std::to_string(s), "reach", s, eps);
  }
  const auto runs = collect_results(dir, 1);
  ASSERT_EQ(runs.size(), 6u);
  EXPECT_DOUBLE_EQ(runs[0].final_success, 0.5);
  EXPECT_DOUBLE_EQ(runs[0].final_success_end, 0.25);
  EXPECT_DOUBLE_EQ(runs[0].final_return, 5.0);
  // Differences {0.5, 0.5, 0}: mean 1/3, sd sqrt(1/12) = 0.288675, half 4.302653 * 0.288675 / sqrt(3) = 0.717109.
  const MeanCI any = paired_difference(runs, "reach", "latco", "cem", "success");
  EXPECT_EQ(any.n, 3);
  EXPECT_NEAR(any.mean, 1.0 / 3, 1e-12);
  EXPECT_NEAR(any.half, 0.717109, 1e-6);
  // At the end {0.25, 0.5, 0}: mean 0.25, sd 0.25, half 4.302653 * 0.25 / sqrt(3) = 0.621034.
  const MeanCI end = paired_difference(runs, "reach", "latco", "cem", "success_end");
  EXPECT_NEAR(end.mean, 0.25, 1e-12);
  EXPECT_NEAR(end.half, 0.621034, 1e-6);
  EXPECT_EQ(paired_difference(runs, "push", "latco", "cem", "success").n, 0);
  const std::string md = report_markdown(runs, {}, 1, "paired");
  EXPECT_NE(md.find("## Final success rate at the last step"), std::string::npos) << md;
  EXPECT_NE(md.find("| cem | +0.33 ± 0.72 (n=3) |"), std::string::npos) << md;
  EXPECT_NE(md.find("| cem | +0.25 ± 0.62 (n=3) |"), std::string::npos) << md;
  EXPECT_NE(md.find("| cem | +3.3 ± 7.2 (n=3) |"), std::string::npos) << md;  // returns 10x: {5, 5, 0}
  EXPECT_EQ(md.find("Lottery"), std::string::npos);
}

// The lottery: the goal each planner reached, from the returns (safe +1; lottery +2 or -10; neither 0).
TEST(Report, LotteryGoalsFromReturns) {
  const std::string dir = fresh_dir("lottery");
  std::ofstream(dir + "/sweep.yaml") << "command: demo\naxes: seed\n";
  std::ofstream(dir + "/sweep.tsv") << "0\tlottery-demo-s0\tseed=0\n1\tlottery-demo-s1\tseed=1\n";
  make_demo_run(dir + "/lottery-demo-s0", "lottery", 0, {{"latco", 1, 1, 1}, {"latco", 1, 1, 1}, {"latco", 2, 1, 1}, {"latco", 0, 0, 0}});
  make_demo_run(dir + "/lottery-demo-s1", "lottery", 1, {{"latco", 1, 1, 1}, {"latco", -10, 1, 1}, {"latco", -10, 1, 1}, {"latco", 1, 1, 1}});
  const std::string md = report_markdown(collect_results(dir, 1), {}, 1, "lottery");
  // safe {0.5, 0.5}; lottery {0.25, 0.5}: 0.375 ± 12.706205 * 0.176777 / sqrt(2) = 1.588; neither {0.25, 0};
  // return {1, -4.5}: -1.75 ± 12.706205 * 3.889087 / sqrt(2) = 34.942.
  EXPECT_NE(md.find("| latco | 0.50 ± 0.00 (n=2) | 0.38 ± 1.59 (n=2) | 0.12 ± 1.59 (n=2) | 0.00 ± 0.00 (n=2) | "
                    "-1.75 ± 34.94 (n=2) |"),
            std::string::npos)
      << md;
}

// The committed results (data/results/small/*): `latco report` regenerates each grid's committed
// report.md and scores.json byte for byte from the small files committed beside them.
TEST(Report, CommittedSmallGridRegenerates) {
  int grids = 0;
  for (const auto& entry : fs::directory_iterator("data/results/small")) {
    const std::string grid = entry.path().string();
    if (!fs::exists(grid + "/report/report.md")) continue;
    const std::string out = fresh_dir("committed_" + entry.path().filename().string());
    run_command("report", {grid, "--out", out});
    EXPECT_EQ(read(out + "/report.md"), read(grid + "/report/report.md")) << grid;
    EXPECT_EQ(read(out + "/scores.json"), read(grid + "/report/scores.json")) << grid;
    // Demo sweeps: a record per planner at its model's 2,000 gradient steps (1,600 offline, 4 x 100
    // online, whether the model was trained here or loaded by demo_model_from), no curves over
    // environment steps, and the models' learning curves where the entry trained its model.
    EXPECT_NE(read(out + "/scores.json").find("\"x\": \"gradient_steps\", \"xs\": [2000], \"ys\": ["),
              std::string::npos) << grid;
    EXPECT_FALSE(fs::exists(out + "/curves.png")) << grid;
    bool trained = false;
    for (const auto& run : fs::directory_iterator(grid)) trained |= fs::exists(run.path() / "model" / "metrics.csv");
    EXPECT_EQ(fs::exists(out + "/model_curves.png"), trained) << grid;
    ++grids;
  }
  EXPECT_GE(grids, 4);  // table1, lottery, ablations, ablations_no_deterministic
}
