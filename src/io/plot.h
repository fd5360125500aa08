// Line plots to PNG for diagnostics (the style of the paper's Figures 6 and 11):
// axes with "nice" ticks, tick labels in the bitmap font of io/png.h, a title, axis
// labels, a legend, an optional log-10 y axis, markers on sparse series, dashed
// reference lines, faded colours (optimisation iterates) and fixed axis ranges (plans
// in the plane). Panels can be placed side by side. Not here: anti-aliasing, bar
// plots, rotated text.
#pragma once
#include <string>
#include <vector>

#include "io/png.h"

namespace latco {

struct Series {
  std::string label;          // legend entry ("" = not in the legend)
  std::vector<double> x, y;   // same length; non-finite points (and y <= 0 on a log axis) break the line
  int color = -1;             // palette index; -1: the series' position
  double fade = 0;            // 0: full colour .. 1: white (earlier iterates)
  bool dashed = false;        // reference lines (a known optimum)
  int marker = -1;            // radius of a dot at each point; -1: 2 on series of at most 40 points, else 0
  bool line = true;           // false: markers only
};

struct PlotStyle {
  std::string title, xlabel, ylabel;
  bool log_y = false;
  int width = 400, height = 300;  // pixels of one panel
  // Fixed axis ranges (both ends finite to apply); otherwise the data's range.
  double x_lo = 0, x_hi = 0, y_lo = 0, y_hi = 0;
  bool equal_aspect = false;      // one unit is as long on both axes (plans in the plane)
};

// The palette colour of index k (RGB).
const uint8_t* plot_color(int k);

// One panel.
Image plot_lines(const std::vector<Series>& series, const PlotStyle& style);
// Panels left to right (e.g. reward | dynamics violation (log) | multiplier (log)).
Image plot_row(const std::vector<Image>& panels);

// Tick positions for [lo, hi] on a linear axis: multiples of 1, 2 or 5 x 10^k, about `target` of them.
std::vector<double> nice_ticks(double lo, double hi, int target = 5);
// Short tick label: "0.25", "1200", "1e-04".
std::string tick_label(double v, bool log_axis);

}  // namespace latco
