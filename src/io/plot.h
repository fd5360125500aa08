// Line plots to PNG for diagnostics (the style of the paper's Figures 6 and 11):
// axes with "nice" ticks, tick labels in the 5x7 bitmap font of io/png.h, a title,
// axis labels, a legend, and an optional log-10 y axis. Panels can be placed side
// by side. Not here: anti-aliasing, scatter/bar plots, rotated text.
#pragma once
#include <string>
#include <vector>

#include "io/png.h"

namespace latco {

struct Series {
  std::string label;          // legend entry ("" = not in the legend)
  std::vector<double> x, y;   // same length; non-finite points (and y <= 0 on a log axis) break the line
};

struct PlotStyle {
  std::string title, xlabel, ylabel;
  bool log_y = false;
  int width = 400, height = 300;  // pixels of one panel
};

// One panel.
Image plot_lines(const std::vector<Series>& series, const PlotStyle& style);
// Panels left to right (e.g. reward | dynamics violation (log) | multiplier (log)).
Image plot_row(const std::vector<Image>& panels);

// Tick positions for [lo, hi] on a linear axis: multiples of 1, 2 or 5 x 10^k, about `target` of them.
std::vector<double> nice_ticks(double lo, double hi, int target = 5);
// Short tick label: "0.25", "1200", "1e-04".
std::string tick_label(double v, bool log_axis);

}  // namespace latco
