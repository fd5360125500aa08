// `latco report`: finished runs -> report.md (tables with Student's t 95% intervals),
// curves.png / curves_return.png (mean and dashed 95% band over seeds), scores.json.
#include "app/report.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "app/command.h"
#include "app/curves.h"
#include "app/sweep.h"
#include "core/error.h"
#include "io/config.h"
#include "io/plot.h"
#include "io/png.h"

namespace fs = std::filesystem;

namespace latco {
namespace {

std::string label(const RunResult& r) {
  std::string s = r.method;
  for (const auto& [k, v] : r.axes) s += " " + k + "=" + v;
  return s;
}

// Keeps first-seen order.
template <class F>
std::vector<std::string> distinct(const std::vector<RunResult>& runs, F key) {
  std::vector<std::string> out;
  for (const auto& r : runs)
    if (std::find(out.begin(), out.end(), key(r)) == out.end()) out.push_back(key(r));
  return out;
}

double mean_last(const std::vector<double>& v, int k) {
  if (v.empty()) return NAN;
  const size_t n = std::min(v.size(), size_t(k));
  double s = 0;
  for (size_t i = v.size() - n; i < v.size(); ++i) s += v[i];
  return s / double(n);
}

std::string cell(const MeanCI& c, int digits) {
  char buf[96];
  if (c.n == 0) return "–";
  if (c.n == 1) std::snprintf(buf, sizeof buf, "%.*f (n=1)", digits, c.mean);
  else std::snprintf(buf, sizeof buf, "%.*f ± %.*f (n=%d)", digits, c.mean, digits, c.half, c.n);
  return buf;
}

double metric_of(const RunResult& r, const std::string& metric) {
  if (metric == "success") return r.final_success;
  if (metric == "success_end") return r.final_success_end;
  if (metric == "return") return r.final_return;
  LATCO_FAIL("report: unknown metric '" << metric << "' (success, success_end, return)");
}

// One table: rows x tasks, each cell pooling the values of the runs that `row_of` maps to that row.
template <class RowOf>
std::string table(const std::vector<RunResult>& runs, const std::string& row_title, const std::vector<std::string>& rows,
                  RowOf row_of, const std::string& metric) {
  const bool success = metric != "return";
  const auto tasks = distinct(runs, [](const RunResult& r) { return r.task; });
  std::map<std::pair<std::string, std::string>, MeanCI> cells;
  for (const auto& row : rows)
    for (const auto& t : tasks) {
      std::vector<double> v;
      for (const auto& r : runs)
        if (row_of(r) == row && r.task == t && !std::isnan(metric_of(r, metric)))  // NaN: no evaluation
          v.push_back(metric_of(r, metric));
      cells[{row, t}] = mean_ci95(v);
    }
  std::string s = "| " + row_title + " |";
  for (const auto& t : tasks) s += " " + t + " |";
  s += "\n|---|";
  for (size_t i = 0; i < tasks.size(); ++i) s += "---|";
  s += "\n";
  for (const auto& row : rows) {
    s += "| " + row + " |";
    for (const auto& t : tasks) {
      double best = -INFINITY;
      for (const auto& o : rows)
        if (cells[{o, t}].n > 0) best = std::max(best, cells[{o, t}].mean);
      const MeanCI& c = cells[{row, t}];
      const std::string text = cell(c, success ? 2 : 1);
      s += " " + (c.n > 0 && c.mean == best ? "**" + text + "**" : text) + " |";
    }
    s += "\n";
  }
  return s;
}

// A dashed line through (x, y): pieces of a finer grid, every other one left out.
Series dashed(const std::vector<double>& x, const std::vector<double>& y) {
  Series s;
  const int pieces = 6;
  for (size_t i = 0; i + 1 < x.size(); ++i)
    for (int p = 0; p < pieces; p += 2) {
      for (int q : {p, p + 1}) {
        const double f = double(q) / pieces;
        s.x.push_back(x[i] + f * (x[i + 1] - x[i]));
        s.y.push_back(y[i] + f * (y[i + 1] - y[i]));
      }
      s.x.push_back(NAN), s.y.push_back(NAN);
    }
  return s;
}

Image curves(const std::vector<RunResult>& runs, bool success) {
  std::vector<Image> panels;
  const auto methods = distinct(runs, label);
  const size_t block = 8 * ((methods.size() + 7) / 8);  // band k shares mean k's colour (palette of 8)
  for (const auto& task : distinct(runs, [](const RunResult& r) { return r.task; })) {
    std::vector<Series> series(3 * block);
    for (size_t m = 0; m < methods.size(); ++m) {
      std::vector<const RunResult*> rs;
      size_t len = SIZE_MAX;
      for (const auto& r : runs)
        if (r.task == task && label(r) == methods[m] && !r.xs.empty()) rs.push_back(&r), len = std::min(len, r.xs.size());
      series[m].label = methods[m];
      if (rs.empty()) continue;
      std::vector<double> lo, hi;
      bool band = rs.size() > 1;
      for (size_t i = 0; i < len; ++i) {
        std::vector<double> ys;
        double x = 0;
        for (const RunResult* r : rs) {
          ys.push_back(success ? r->success[i] : r->returns[i]);
          x += r->xs[i] / double(rs.size());
        }
        const MeanCI c = mean_ci95(ys);
        series[m].x.push_back(x);
        series[m].y.push_back(c.mean);
        // A success rate's band is drawn within [0, 1].
        lo.push_back(success ? std::max(0.0, c.mean - c.half) : c.mean - c.half);
        hi.push_back(success ? std::min(1.0, c.mean + c.half) : c.mean + c.half);
      }
      if (band) {
        series[block + m] = dashed(series[m].x, lo);
        series[2 * block + m] = dashed(series[m].x, hi);
      }
    }
    panels.push_back(plot_lines(series, PlotStyle{task, "environment steps", success ? "success" : "return", false, 420, 300}));
  }
  return plot_row(panels);
}

std::string json_string(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    o += c;
  }
  return o + "\"";
}

std::string json_numbers(const std::vector<double>& v) {
  std::string s = "[";
  char buf[32];
  for (size_t i = 0; i < v.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%.10g", v[i]);
    s += (i ? ", " : "") + std::string(buf);
  }
  return s + "]";
}

// latco minus every other method, per task: mean ± t interval of the per-seed differences.
std::string paired_table(const std::vector<RunResult>& runs, const std::string& metric) {
  const auto tasks = distinct(runs, [](const RunResult& r) { return r.task; });
  const auto methods = distinct(runs, [](const RunResult& r) { return r.method; });
  std::string s = "| latco minus |";
  for (const auto& t : tasks) s += " " + t + " |";
  s += "\n|---|";
  for (size_t i = 0; i < tasks.size(); ++i) s += "---|";
  s += "\n";
  for (const auto& m : methods) {
    if (m == "latco") continue;
    s += "| " + m + " |";
    for (const auto& t : tasks) {
      const MeanCI c = paired_difference(runs, t, "latco", m, metric);
      char buf[96];
      const int digits = metric == "return" ? 1 : 2;
      if (c.n == 0) std::snprintf(buf, sizeof buf, "–");
      else if (c.n == 1) std::snprintf(buf, sizeof buf, "%+.*f (n=1)", digits, c.mean);
      else std::snprintf(buf, sizeof buf, "%+.*f ± %.*f (n=%d)", digits, c.mean, digits, c.half, c.n);
      s += " " + std::string(buf) + " |";
    }
    s += "\n";
  }
  return s;
}

// The lottery (released payoffs, paid once): return +1 is the safe goal, +2 or -10 the lottery goal,
// 0 neither; anything else (both goals) is counted apart.
std::string lottery_table(const std::vector<RunResult>& runs) {
  std::string s = "| method | safe goal | lottery goal | neither | other | return |\n|---|---|---|---|---|---|\n";
  for (const auto& m : distinct(runs, label)) {
    std::vector<double> safe, lottery, none, other, ret;
    for (const auto& r : runs) {
      if (r.task != "lottery" || label(r) != m || r.episode_returns.empty()) continue;
      double c[4] = {0, 0, 0, 0};
      for (double x : r.episode_returns) c[x == 1 ? 0 : (x == 2 || x == -10) ? 1 : x == 0 ? 2 : 3] += 1;
      const double n = double(r.episode_returns.size());
      safe.push_back(c[0] / n), lottery.push_back(c[1] / n), none.push_back(c[2] / n), other.push_back(c[3] / n);
      ret.push_back(r.final_return);
    }
    if (ret.empty()) continue;
    s += "| " + m + " | " + cell(mean_ci95(safe), 2) + " | " + cell(mean_ci95(lottery), 2) + " | " +
         cell(mean_ci95(none), 2) + " | " + cell(mean_ci95(other), 2) + " | " + cell(mean_ci95(ret), 2) + " |\n";
  }
  return s;
}

// Figure 6 across seeds: each demo run's optimization.csv (one LatCo and one shooting GD plan on its
// model), one row per task: planned reward (both planners), LatCo's dynamics violation and mean
// multiplier, one line per seed. An empty image when no run has the file.
Image optimization_figure(const std::string& dir, const std::vector<RunResult>& runs) {
  std::vector<Image> rows;
  for (const auto& task : distinct(runs, [](const RunResult& r) { return r.task; })) {
    std::vector<Series> reward, dyn, lam;
    std::set<std::string> seen;
    for (const auto& r : runs) {
      if (r.task != task || !seen.insert(r.folder).second) continue;
      std::ifstream f(dir + "/" + r.folder + "/optimization.csv");
      if (!f) continue;
      std::map<std::string, Series> by;  // planner -> reward; latco's violation and multiplier
      Series d{"", {}, {}}, l{"", {}, {}};
      std::string line;
      std::getline(f, line);
      for (int n = 2; std::getline(f, line); ++n) {
        std::stringstream ls(line);
        std::vector<std::string> c;
        for (std::string x; std::getline(ls, x, ',');) c.push_back(x);
        if (c.size() < 6) LATCO_FAIL(dir << "/" << r.folder << "/optimization.csv line " << n << ": expected 6 columns");
        const double it = std::strtod(c[1].c_str(), nullptr);
        by[c[0]].x.push_back(it), by[c[0]].y.push_back(std::strtod(c[2].c_str(), nullptr));
        if (c[0] == "latco") {
          d.x.push_back(it), d.y.push_back(std::strtod(c[3].c_str(), nullptr));
          l.x.push_back(it), l.y.push_back(std::strtod(c[5].c_str(), nullptr));
        }
      }
      int k = 0;
      for (auto& [planner, ser] : by) {
        ser.color = planner == "latco" ? 0 : 1 + k++;
        const bool first = std::none_of(reward.begin(), reward.end(), [&](const Series& x) { return x.color == ser.color; });
        ser.label = first ? planner : "";
        ser.marker = 0;
        reward.push_back(ser);
      }
      d.label = l.label = "s" + r.seed;
      d.color = l.color = int(dyn.size());
      d.marker = l.marker = 0;
      dyn.push_back(d), lam.push_back(l);
    }
    if (reward.empty()) continue;
    rows.push_back(plot_row({plot_lines(reward, PlotStyle{task + ": planned reward", "iteration", "sum r(z_t)", false, 420, 300}),
                             plot_lines(dyn, PlotStyle{task + ": latco dynamics violation", "iteration", "sum sq.", true, 420, 300}),
                             plot_lines(lam, PlotStyle{task + ": latco multiplier", "iteration", "mean lambda", true, 420, 300})}));
  }
  return rows.empty() ? Image() : image_grid(rows, 1, 4);
}

// A demo sweep's learning curves: each entry's world model (model/metrics.csv, shared by its
// planners), one row per task: the ELBO loss and the reward log-likelihood against gradient steps,
// one line per seed. An empty image when no run has the file.
Image model_curves_figure(const std::string& dir, const std::vector<RunResult>& runs) {
  std::vector<Image> rows;
  for (const auto& task : distinct(runs, [](const RunResult& r) { return r.task; })) {
    std::vector<Series> loss, reward;
    std::set<std::string> seen;
    for (const auto& r : runs) {
      const std::string csv = dir + "/" + r.folder + "/model/metrics.csv";
      if (r.task != task || !seen.insert(r.folder).second || !fs::exists(csv)) continue;
      const auto m = read_metrics(csv);
      for (const char* c : {"grad_step", "loss", "reward_ll"})
        if (!m.count(c)) LATCO_FAIL(csv << ": no column '" << c << "'");
      const int color = int(loss.size());
      loss.push_back({"s" + r.seed, m.at("grad_step"), m.at("loss"), color, 0, false, 0});
      reward.push_back({"s" + r.seed, m.at("grad_step"), m.at("reward_ll"), color, 0, false, 0});
    }
    if (loss.empty()) continue;
    rows.push_back(plot_row({plot_lines(loss, PlotStyle{task + ": world model, ELBO loss", "gradient steps", "loss", false, 420, 300}),
                             plot_lines(reward, PlotStyle{task + ": reward log-likelihood", "gradient steps", "reward_ll", false, 420, 300})}));
  }
  return rows.empty() ? Image() : image_grid(rows, 1, 4);
}

}  // namespace

MeanCI paired_difference(const std::vector<RunResult>& runs, const std::string& task, const std::string& reference,
                         const std::string& other, const std::string& metric) {
  std::vector<double> d;
  for (const auto& a : runs) {
    if (a.task != task || a.method != reference || std::isnan(metric_of(a, metric))) continue;
    for (const auto& b : runs)
      if (b.task == task && b.method == other && b.seed == a.seed && b.axes == a.axes &&
          !std::isnan(metric_of(b, metric)))
        d.push_back(metric_of(a, metric) - metric_of(b, metric));
  }
  return mean_ci95(d);
}

double t_critical_95(int df) {
  LATCO_CHECK(df >= 1) << "t_critical_95: df must be at least 1, got " << df;
  static const double table[30] = {12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004,
                                   2.262157,  2.228139, 2.200985, 2.178813, 2.160369, 2.144787, 2.131450, 2.119905,
                                   2.109816,  2.100922, 2.093024, 2.085963, 2.079614, 2.073873, 2.068658, 2.063899,
                                   2.059539,  2.055529, 2.051831, 2.048407, 2.045230, 2.042272};
  if (df <= 30) return table[df - 1];
  // Cornish-Fisher expansion of the t quantile around the normal one (error < 1e-6 for df > 30).
  const double z = 1.959963985, n = df;
  return z + (z * z * z + z) / (4 * n) + (5 * std::pow(z, 5) + 16 * z * z * z + 3 * z) / (96 * n * n) +
         (3 * std::pow(z, 7) + 19 * std::pow(z, 5) + 17 * z * z * z - 15 * z) / (384 * n * n * n);
}

MeanCI mean_ci95(const std::vector<double>& v) {
  MeanCI c;
  c.n = int(v.size());
  if (v.empty()) return c;
  for (double x : v) c.mean += x / double(v.size());
  if (v.size() == 1) {
    c.half = NAN;
    return c;
  }
  double ss = 0;
  for (double x : v) ss += (x - c.mean) * (x - c.mean);
  const double sd = std::sqrt(ss / double(v.size() - 1));
  c.half = t_critical_95(c.n - 1) * sd / std::sqrt(double(c.n));
  return c;
}

std::vector<RunResult> collect_results(const std::string& dir, int last_k, std::vector<std::string>* unfinished) {
  LATCO_CHECK(last_k >= 1) << "report: --last must be at least 1";
  const Config settings = read_sweep_settings(dir);
  std::set<std::string> other;
  std::stringstream axes(settings.get_string("axes", ""));
  for (std::string a; std::getline(axes, a, ',');)
    if (a != "task" && a != "planner" && a != "seed" && a != "include" && !a.empty()) other.insert(a);
  const bool demo = settings.get_string("command", "train") == "demo";
  std::vector<RunResult> out;
  for (const auto& p : read_sweep_tsv(dir)) {
    const std::string run = dir + "/" + p.folder;
    if (run_status(run).state != RunState::Finished) {
      if (unfinished) unfinished->push_back(p.folder);
      continue;
    }
    const Config cfg = Config::load(run + "/config.sweep.yaml");
    auto value = [&](const std::string& k, const std::string& def) {
      const Config::Entry* e = cfg.find(k);
      return e ? e->value : def;
    };
    RunResult r;
    r.folder = p.folder;
    r.task = value("task", "reach");
    r.method = value("planner", demo ? "demo" : "latco");
    r.seed = value("seed", "0");
    for (const auto& k : other) r.axes[k] = value(k, "");
    if (demo && fs::exists(run + "/model/metrics.csv")) {
      const auto m = read_metrics(run + "/model/metrics.csv");
      if (m.count("grad_step") && !m.at("grad_step").empty()) r.model_grad_steps = m.at("grad_step").back();
    } else if (demo && value("demo_train_seconds", "") == "0") {  // a model from elsewhere (demo_model_from),
      // trained for step counts alone: its offline and online steps
      r.model_grad_steps = std::strtod(value("demo_train_steps", "nan").c_str(), nullptr) +
                           std::strtod(value("demo_online_rounds", "nan").c_str(), nullptr) *
                               std::strtod(value("demo_online_steps", "nan").c_str(), nullptr);
    }
    if (demo && fs::exists(run + "/eval.csv")) {  // one row per evaluation episode, planners in order
      std::ifstream f(run + "/eval.csv");
      std::string line;
      std::getline(f, line);
      if (line.rfind("planner,episode,return,success_any,success_end", 0) != 0)
        LATCO_FAIL(run << "/eval.csv: unexpected header '" << line << "'");
      std::vector<std::string> order;
      std::map<std::string, std::vector<std::array<double, 3>>> rows;  // planner -> (return, any, end)
      for (int n = 2; std::getline(f, line); ++n) {
        std::stringstream ls(line);
        std::vector<std::string> c;
        for (std::string x; std::getline(ls, x, ',');) c.push_back(x);
        if (c.size() < 5) LATCO_FAIL(run << "/eval.csv line " << n << ": expected 6 columns, got '" << line << "'");
        if (!rows.count(c[0])) order.push_back(c[0]);
        rows[c[0]].push_back({std::strtod(c[2].c_str(), nullptr), std::strtod(c[3].c_str(), nullptr),
                              std::strtod(c[4].c_str(), nullptr)});
      }
      for (const auto& p : order) {
        RunResult d = r;
        d.method = p;
        double ret = 0, any = 0, end = 0;
        for (const auto& e : rows[p]) ret += e[0], any += e[1], end += e[2], d.episode_returns.push_back(e[0]);
        const double n = double(rows[p].size());
        d.final_return = ret / n, d.final_success = any / n, d.final_success_end = end / n;
        out.push_back(d);
      }
      continue;
    }
    if (demo) {  // results.md (a demo without eval.csv): one row per planner, each evaluated on the same model
      std::ifstream md(run + "/results.md");
      if (!md) LATCO_FAIL(run << "/results.md: missing from a finished demo run");
      for (std::string line; std::getline(md, line);) {
        std::vector<std::string> cells;
        std::stringstream ls(line);
        for (std::string c; std::getline(ls, c, '|');) cells.push_back(c);
        if (cells.size() < 5 || line[0] != '|') continue;
        auto trimmed = [](std::string s) {
          s.erase(0, s.find_first_not_of(' '));
          return s.substr(0, s.find_last_not_of(' ') + 1);
        };
        const std::string planner = trimmed(cells[1]);
        if (planner == "planner" || planner.rfind("---", 0) == 0) continue;
        RunResult d = r;
        d.method = planner;
        d.final_success = std::strtod(trimmed(cells[3]).c_str(), nullptr);
        d.final_return = std::strtod(trimmed(cells[4]).c_str(), nullptr);
        out.push_back(d);
      }
      continue;
    }
    // metrics.csv's evaluation rows; an evaluation of several episodes gives several rows.
    const auto m = read_metrics(run + "/metrics.csv");
    for (const char* c : {"episode", "env_steps", "eval", "success", "return"})
      if (!m.count(c)) LATCO_FAIL(run << "/metrics.csv: no column '" << c << "'");
    const auto &ep = m.at("episode"), &steps = m.at("env_steps"), &ev = m.at("eval"), &succ = m.at("success"),
               &ret = m.at("return");
    std::map<double, std::pair<int, size_t>> at;  // episode -> (rows, index in xs) for the latest write
    for (size_t i = 0; i < ep.size(); ++i) {
      if (ev[i] != 1) continue;
      if (!r.xs.empty() && ep[i] == at.rbegin()->first) {  // another episode of the same evaluation
        auto& [rows, j] = at.rbegin()->second;
        r.success[j] = (r.success[j] * rows + succ[i]) / (rows + 1);
        r.returns[j] = (r.returns[j] * rows + ret[i]) / (rows + 1);
        ++rows;
        continue;
      }
      // A resumed run logs again from its checkpoint: a repeated episode replaces the rows from there on.
      while (!r.xs.empty() && at.rbegin()->first >= ep[i]) {
        at.erase(std::prev(at.end()));
        r.xs.pop_back(), r.success.pop_back(), r.returns.pop_back();
      }
      at[ep[i]] = {1, r.xs.size()};
      r.xs.push_back(steps[i]);
      r.success.push_back(succ[i]);
      r.returns.push_back(ret[i]);
    }
    r.final_success = mean_last(r.success, last_k);
    r.final_return = mean_last(r.returns, last_k);
    out.push_back(r);
  }
  return out;
}

std::string report_markdown(const std::vector<RunResult>& runs, const std::vector<std::string>& other_axes, int last_k,
                            const std::string& title) {
  std::string s = "# " + title + "\n\n";
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "%zu results. A run's score is the mean of its last %d evaluation%s; a cell is the mean over seeds "
                "± the half-width of the Student's t 95%% confidence interval, n the number of seeds; the best mean "
                "per column is in bold.\n\n",
                runs.size(), last_k, last_k == 1 ? "" : "s");
  s += buf;
  const auto methods = distinct(runs, label);
  const bool with_end = std::any_of(runs.begin(), runs.end(), [](const RunResult& r) { return !std::isnan(r.final_success_end); });
  const bool paired = std::count_if(runs.begin(), runs.end(), [](const RunResult& r) { return r.method == "latco"; }) > 0 &&
                      distinct(runs, [](const RunResult& r) { return r.method; }).size() > 1;
  std::vector<std::pair<std::string, std::string>> metrics = {{"success", "Final success rate (success at any step)"}};
  if (with_end) metrics.push_back({"success_end", "Final success rate at the last step"});
  metrics.push_back({"return", "Final return"});
  for (const auto& [metric, title] : metrics) s += "## " + title + "\n\n" + table(runs, "method", methods, label, metric) + "\n";
  if (paired) {
    s += "## Paired differences, latco minus each method\n\nPer task, the difference of each seed's scores (the "
         "runs of one task, seed and other axes; in a demo sweep they share a model and episode seeds), mean ± the "
         "half-width of its Student's t 95% interval, n the number of pairs. An interval that excludes 0 is a "
         "difference at the 5% level.\n\n";
    for (const auto& [metric, title] : metrics) s += "### " + title + "\n\n" + paired_table(runs, metric) + "\n";
  }
  if (std::any_of(runs.begin(), runs.end(), [](const RunResult& r) { return r.task == "lottery" && !r.episode_returns.empty(); }))
    s += "## Lottery: the goal reached\n\nThe share of evaluation episodes that reached the safe goal (return +1), "
         "the lottery goal (+2 or -10) or neither (0), mean over seeds ± 95% interval; the return is the mean "
         "(its expectation: safe +1, lottery -0.4).\n\n" + lottery_table(runs) + "\n";
  for (const auto& a : other_axes) {
    const auto values = distinct(runs, [&](const RunResult& r) { return r.axes.count(a) ? r.axes.at(a) : ""; });
    auto row = [&](const RunResult& r) { return r.axes.count(a) ? r.axes.at(a) : ""; };
    s += "## Final success rate by " + a + " (pooled over the other axes)\n\n" + table(runs, a, values, row, "success") + "\n";
  }
  s += "## Runs\n\n| run | task | method | seed | evaluations | final success | final return |\n|---|---|---|---|---|---|---|\n";
  for (const auto& r : runs) {
    std::snprintf(buf, sizeof buf, "| %s | %s | %s | %s | %zu | %.2f | %.1f |\n", r.folder.c_str(), r.task.c_str(),
                  label(r).c_str(), r.seed.c_str(), r.xs.size(), r.final_success, r.final_return);
    s += buf;
  }
  return s;
}

void write_report(const std::string& dir, const std::string& out, int last_k) {
  std::vector<std::string> unfinished;
  const auto runs = collect_results(dir, last_k, &unfinished);
  LATCO_CHECK(!runs.empty()) << "report: no finished run in " << dir << " (latco sweep status " << dir << ")";
  std::vector<std::string> other;
  std::stringstream axes(read_sweep_settings(dir).get_string("axes", ""));
  for (std::string a; std::getline(axes, a, ',');)
    if (a != "task" && a != "planner" && a != "seed" && a != "include" && !a.empty()) other.push_back(a);
  fs::create_directories(out);
  std::string md = report_markdown(runs, other, last_k, "Report of " + fs::path(dir).lexically_normal().filename().string());
  if (!unfinished.empty()) {
    md += "\nNot finished, left out:";
    for (const auto& u : unfinished) md += " " + u;
    md += "\n";
  }
  const bool demo = read_sweep_settings(dir).get_string("command", "train") == "demo";
  const Image opt = optimization_figure(dir, runs);
  const Image model = demo ? model_curves_figure(dir, runs) : Image();
  if (model.width > 0)
    md += "\n`model_curves.png`: each seed's world model, shared by the planners of its entry (its "
          "`model/metrics.csv`): the ELBO loss and the reward log-likelihood against gradient steps; one line per "
          "seed, one row per task. `scores.json` gives each planner's final success rate at the model's last "
          "gradient step.\n";
  if (opt.width > 0)
    md += "\n`optimization.png`: Figure 6 across seeds, from each run's `optimization.csv` (one LatCo and one "
          "shooting GD plan of the first evaluation episode's first observation on that run's model): the planned "
          "reward per iteration, LatCo's dynamics violation and mean multiplier; one line per seed, one row per task.\n";
  std::ofstream(out + "/report.md") << md;
  if (!demo) {  // a demo's planners have one final score each, not a curve over environment steps
    write_png(out + "/curves.png", curves(runs, true));
    write_png(out + "/curves_return.png", curves(runs, false));
  }
  if (model.width > 0) write_png(out + "/model_curves.png", model);
  if (opt.width > 0) write_png(out + "/optimization.png", opt);
  std::ofstream js(out + "/scores.json");
  js << "[\n";
  bool first = true;
  for (const auto& r : runs) {
    // A train run's curve over environment steps; a demo planner's one final score, at its model's
    // gradient steps (named by "x", as the two are different axes).
    const bool point = r.xs.empty();
    if (point && std::isnan(r.model_grad_steps)) continue;
    js << (first ? "" : ",\n") << "  {\"task\": " << json_string(r.task) << ", \"method\": " << json_string(label(r))
       << ", \"seed\": " << json_string(r.seed)
       << (point ? ", \"x\": \"gradient_steps\", \"xs\": " + json_numbers({r.model_grad_steps}) : ", \"xs\": " + json_numbers(r.xs))
       << ", \"ys\": " << (point ? json_numbers({r.final_success}) : json_numbers(r.success)) << "}";
    first = false;
  }
  js << "\n]\n";
  std::printf("report: %zu results from %s (%zu runs not finished) -> %s/report.md scores.json%s%s%s\n", runs.size(),
              dir.c_str(), unfinished.size(), out.c_str(), demo ? "" : " curves.png curves_return.png",
              model.width > 0 ? " model_curves.png" : "", opt.width > 0 ? " optimization.png" : "");
}

int cmd_report(const Args& args) {
  LATCO_CHECK(args.positional.size() == 1) << "report: expected one sweep folder: latco report runs/NAME";
  const std::string dir = args.positional[0];
  const std::string out = args.get("out", dir + "/report");
  const int last_k = static_cast<int>(args.get_int("last", 1));
  args.check_all_read("report");
  write_report(dir, out, last_k);
  std::ifstream md(out + "/report.md");
  std::stringstream ss;
  ss << md.rdbuf();
  std::printf("\n%s", ss.str().c_str());
  return 0;
}

}  // namespace latco
