// `latco report runs/NAME`: the finished runs of a sweep aggregated like the paper's tables
// (tasks as columns, methods as rows, mean ± Student's t 95% interval over seeds, best per
// column in bold) and learning curves (Figures 8 and 9), plus scores.json in the record format
// Dreamer and DreamerV3 publish their scores in ({task, method, seed, xs, ys}).
#pragma once
#include <cmath>
#include <map>
#include <string>
#include <vector>

namespace latco {

// t such that P(|T| <= t) = 0.95 for Student's t with df degrees of freedom (df >= 1).
double t_critical_95(int df);

struct MeanCI {
  double mean = 0;
  double half = 0;  // half-width of the 95% interval; NaN with one value
  int n = 0;
};
// Mean and Student's t 95% confidence interval (sample standard deviation, n - 1).
MeanCI mean_ci95(const std::vector<double>& values);

// One finished run (or, for a demo entry, one planner of it).
struct RunResult {
  std::string folder, task, method, seed;
  std::map<std::string, std::string> axes;  // the sweep's other axes (not task, planner, seed)
  std::vector<double> xs;                   // environment steps at each evaluation
  std::vector<double> success, returns;     // per evaluation (mean over its episodes)
  double final_success = 0, final_return = 0;  // mean of the last k evaluations (success: at any step)
  double final_success_end = NAN;             // success at an episode's last step (demo runs with eval.csv)
  std::vector<double> episode_returns;        // demo runs with eval.csv: every evaluation episode's return
  double model_grad_steps = NAN;              // demo runs: the gradient steps of the model the planners shared
};

// Paired differences reference minus other, over the (task, seed, other axes) both ran: the planners
// of a demo entry share its model and episode seeds. metric: "success", "success_end" or "return".
MeanCI paired_difference(const std::vector<RunResult>& runs, const std::string& task, const std::string& reference,
                         const std::string& other, const std::string& metric);

// The finished runs of a planned sweep folder; last_k >= 1. `unfinished` (optional) gets the others.
std::vector<RunResult> collect_results(const std::string& sweep_dir, int last_k,
                                       std::vector<std::string>* unfinished = nullptr);

// report.md's text: a table per metric (final success at any step, at the last step where recorded,
// final return) with methods as rows and tasks as columns; latco minus each other method paired by
// task and seed; the lottery's goals; the same per other axis; then every run.
std::string report_markdown(const std::vector<RunResult>& runs, const std::vector<std::string>& other_axes, int last_k,
                            const std::string& title);

// Writes report.md and scores.json into out_dir, and the figures: for a sweep of `train` runs
// curves.png (success; return in curves_return.png) against environment steps; for a demo sweep,
// whose planners have one final score each, model_curves.png (each seed's world model: ELBO loss and
// reward log-likelihood against gradient steps) and optimization.png (Figure 6 across seeds).
void write_report(const std::string& sweep_dir, const std::string& out_dir, int last_k);

}  // namespace latco
