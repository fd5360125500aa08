#include "app/curves.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "app/command.h"
#include "app/key_help.h"
#include "core/error.h"

namespace latco {

std::map<std::string, std::vector<double>> read_metrics(const std::string& path) {
  std::ifstream f(path);
  if (!f) LATCO_FAIL(path << ": cannot open metrics file");
  std::string line;
  if (!std::getline(f, line)) LATCO_FAIL(path << ": empty metrics file");
  std::vector<std::string> cols;
  std::stringstream hs(line);
  for (std::string c; std::getline(hs, c, ',');) cols.push_back(c);
  std::map<std::string, std::vector<double>> out;
  for (const auto& c : cols) out[c];
  int lineno = 1;
  while (std::getline(f, line)) {
    ++lineno;
    if (line.empty()) continue;
    std::stringstream ss(line);
    size_t i = 0;
    for (std::string v; std::getline(ss, v, ','); ++i) {
      if (i >= cols.size()) LATCO_FAIL(path << " line " << lineno << ": more values than columns");
      char* end = nullptr;
      double x = std::strtod(v.c_str(), &end);
      if (end == v.c_str()) LATCO_FAIL(path << " line " << lineno << ": '" << v << "' is not a number");
      out[cols[i]].push_back(x);
    }
    if (i != cols.size()) LATCO_FAIL(path << " line " << lineno << ": " << i << " values for " << cols.size() << " columns");
  }
  return out;
}

Series metric_series(const std::string& csv_path, const std::string& label, const std::string& xc,
                     const std::string& yc, int eval_filter) {
  auto m = read_metrics(csv_path);
  for (const auto& c : {xc, yc})
    if (!m.count(c)) LATCO_FAIL(csv_path << ": no column '" << c << "'");
  Series s;
  s.label = label;
  const auto& ev = m.count("eval") ? m["eval"] : std::vector<double>(m[xc].size(), 0.0);
  for (size_t i = 0; i < m[xc].size(); ++i) {
    if (eval_filter >= 0 && int(ev[i]) != eval_filter) continue;
    s.x.push_back(m[xc][i]);
    s.y.push_back(m[yc][i]);
  }
  return s;
}

namespace {
// Legend names: the folder names when they differ, otherwise the paths as given.
std::vector<std::string> run_labels(const std::vector<std::string>& runs) {
  std::vector<std::string> names, paths;
  for (std::string r : runs) {
    while (r.size() > 1 && r.back() == '/') r.pop_back();
    paths.push_back(r);
    names.push_back(std::filesystem::path(r).filename().string());
  }
  for (size_t i = 0; i < names.size(); ++i)
    for (size_t j = i + 1; j < names.size(); ++j)
      if (names[i] == names[j]) return paths;
  return names;
}
}  // namespace

Image learning_curves(const std::vector<std::string>& runs) {
  // `latco train` runs: evaluation success and return against environment steps. `latco
  // train-model` runs (no env_steps column): the ELBO loss against gradient steps.
  std::vector<Series> succ, ret, loss;
  const std::vector<std::string> labels = run_labels(runs);
  for (size_t i = 0; i < runs.size(); ++i) {
    const std::string csv = runs[i] + "/metrics.csv";
    const auto cols = read_metrics(csv);
    if (cols.count("env_steps")) {
      succ.push_back(metric_series(csv, labels[i], "env_steps", "success", 1));
      ret.push_back(metric_series(csv, labels[i], "env_steps", "return", 1));
      succ.back().color = ret.back().color = int(i);
    } else {
      loss.push_back(metric_series(csv, labels[i], "grad_step", "loss", -1));
      loss.back().color = int(i);
    }
  }
  std::vector<Image> panels;
  if (!succ.empty()) {
    panels.push_back(plot_lines(succ, PlotStyle{"evaluation success", "environment steps", "success", false, 420, 300}));
    panels.push_back(plot_lines(ret, PlotStyle{"evaluation return", "environment steps", "return", false, 420, 300}));
  }
  if (!loss.empty())
    panels.push_back(plot_lines(loss, PlotStyle{"world model: ELBO loss", "gradient steps", "loss", false, 420, 300}));
  return plot_row(panels);
}

int cmd_plot(const Args& args) {
  if (args.positional.empty()) LATCO_FAIL("plot: name at least one run folder");
  const std::string out = args.get("out", args.positional[0] + "/curves.png");
  args.check_all_read("plot");
  if (out.size() < 5 || out.substr(out.size() - 4) != ".png") LATCO_FAIL("plot: --out must end in .png, got '" << out << "'");
  const std::string parent = std::filesystem::path(out).parent_path().string();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  write_png(out, learning_curves(args.positional));
  std::printf("plot: wrote %s (%zu runs)\n", out.c_str(), args.positional.size());
  return 0;
}
CommandHelp help_plot() {
  return CommandHelp{"latco plot RUN [RUN ...] [--out curves.png]",
                          {{"--out", "FIRST_RUN/curves.png", "the picture to write (.png)"}},
                          "RUN ...: run folders of `latco train` or `latco train-model` (their metrics.csv)",
                          {}};
}

}  // namespace latco
