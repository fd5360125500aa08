// Learning curves from runs' metrics.csv files: one line per run, the
// evaluation rows' success (or return) against environment steps, or a
// world-model run's loss against gradient steps.
// `latco plot` and the demo draw with it.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "io/plot.h"

namespace latco {

// Columns of a metrics.csv by name; throws naming the file and line on a malformed row.
std::map<std::string, std::vector<double>> read_metrics(const std::string& path);

// y_column against x_column, rows filtered by eval (1: evaluation rows, 0: training rows, -1: all).
Series metric_series(const std::string& csv_path, const std::string& label, const std::string& x_column,
                     const std::string& y_column, int eval_filter);

// Success and return panels for `latco train` runs, a loss panel for `latco train-model` runs;
// legends name the folders (their paths where two folder names are equal).
Image learning_curves(const std::vector<std::string>& run_dirs);

}  // namespace latco
