// Line plots rasterised directly into an RGB image: data-to-pixel maps, Bresenham
// lines (2 px wide, or 1 px dashed), dots, ticks and text through io/png's bitmap font.
#include "io/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/error.h"

namespace latco {

namespace {

const uint8_t kPalette[][3] = {{31, 119, 180}, {214, 39, 40}, {44, 160, 44}, {255, 127, 14},
                               {148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {127, 127, 127}};
const uint8_t kInk[3] = {20, 20, 20};
const uint8_t kGrid[3] = {225, 225, 225};
const uint8_t kWhite[3] = {255, 255, 255};

void put(Image& img, int r, int c, const uint8_t col[3]) {
  if (r < 0 || c < 0 || r >= img.height || c >= img.width) return;
  uint8_t* p = img.at(r, c);
  p[0] = col[0], p[1] = col[1], p[2] = col[2];
}

// Bresenham; dashed: 6 pixels on, 4 off.
void line(Image& img, int r0, int c0, int r1, int c1, const uint8_t col[3], int thick, bool dashed = false) {
  const int dc = std::abs(c1 - c0), dr = -std::abs(r1 - r0);
  const int sc = c0 < c1 ? 1 : -1, sr = r0 < r1 ? 1 : -1;
  int err = dc + dr;
  for (int n = 0;; ++n) {
    if (!dashed || n % 10 < 6)
      for (int a = 0; a < thick; ++a)
        for (int b = 0; b < thick; ++b) put(img, r0 + a, c0 + b, col);
    if (r0 == r1 && c0 == c1) break;
    const int e2 = 2 * err;
    if (e2 >= dr) err += dr, c0 += sc;
    if (e2 <= dc) err += dc, r0 += sr;
  }
}

void dot(Image& img, int r, int c, int radius, const uint8_t col[3]) {
  for (int a = -radius; a <= radius; ++a)
    for (int b = -radius; b <= radius; ++b)
      if (a * a + b * b <= radius * radius + radius) put(img, r + a, c + b, col);
}

}  // namespace

const uint8_t* plot_color(int k) { return kPalette[((k % 8) + 8) % 8]; }

std::vector<double> nice_ticks(double lo, double hi, int target) {
  std::vector<double> t;
  if (!(hi > lo) || !std::isfinite(lo) || !std::isfinite(hi)) return {lo};
  const double raw = (hi - lo) / std::max(1, target);
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  double step = p;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * p >= raw) {
      step = m * p;
      break;
    }
  for (long k = long(std::ceil(lo / step - 1e-9)); k * step <= hi + 1e-9 * step; ++k) t.push_back(k * step);
  return t;
}

std::string tick_label(double v, bool log_axis) {
  char buf[32];
  if (log_axis) {
    std::snprintf(buf, sizeof(buf), "1e%+d", int(std::lround(v)));
  } else if (v != 0 && (std::fabs(v) >= 1e5 || std::fabs(v) < 1e-3)) {
    std::snprintf(buf, sizeof(buf), "%.0e", v);
  } else {
    std::snprintf(buf, sizeof(buf), "%g", v);
  }
  return buf;
}

Image plot_lines(const std::vector<Series>& series, const PlotStyle& st) {
  LATCO_CHECK(st.width >= 120 && st.height >= 100) << "plot: panel too small (" << st.width << "x" << st.height << ")";
  Image img(st.height, st.width, 255);
  // ----- data ranges (y in log10 units on a log axis) -----
  auto ty = [&](double y) { return st.log_y ? (y > 0 ? std::log10(y) : NAN) : y; };
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const auto& s : series) {
    LATCO_CHECK(s.x.size() == s.y.size()) << "plot: series '" << s.label << "' has " << s.x.size() << " x and "
                                          << s.y.size() << " y values";
    for (size_t i = 0; i < s.x.size(); ++i) {
      const double y = ty(s.y[i]);
      if (!std::isfinite(s.x[i]) || !std::isfinite(y)) continue;
      x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]), y0 = std::min(y0, y), y1 = std::max(y1, y);
    }
  }
  if (!(x1 >= x0)) x0 = 0, x1 = 1;
  if (!(y1 >= y0)) y0 = 0, y1 = 1;
  if (x1 == x0) x0 -= 0.5, x1 += 0.5;
  // A constant series: an all-zero one (a success rate) gets the axis [0, 1].
  if (y1 == y0 && !st.log_y && y0 == 0) y1 = 1;
  else if (y1 == y0) y0 -= st.log_y ? 1 : 0.5 * std::fabs(y0), y1 += st.log_y ? 1 : 0.5 * std::fabs(y1);
  if (st.log_y) y0 = std::floor(y0), y1 = std::ceil(y1);
  const bool fixed_x = st.x_hi > st.x_lo, fixed_y = st.y_hi > st.y_lo;
  if (fixed_x) x0 = st.x_lo, x1 = st.x_hi;
  if (fixed_y) y0 = st.y_lo, y1 = st.y_hi;
  const double ypad = st.log_y || fixed_y ? 0 : 0.05 * (y1 - y0);
  y0 -= ypad, y1 += ypad;
  // ----- layout -----
  const int left = 58, right = 12, top = 32, bottom = 40;
  const int pw = st.width - left - right, ph = st.height - top - bottom;
  if (st.equal_aspect) {  // widen the shorter range so that a unit is as long on both axes
    const double sx = pw / (x1 - x0), sy = ph / (y1 - y0);
    if (sx > sy) {
      const double c = 0.5 * (x0 + x1), half = 0.5 * pw / sy;
      x0 = c - half, x1 = c + half;
    } else {
      const double c = 0.5 * (y0 + y1), half = 0.5 * ph / sx;
      y0 = c - half, y1 = c + half;
    }
  }
  auto px = [&](double x) { return left + int(std::lround((x - x0) / (x1 - x0) * (pw - 1))); };
  auto py = [&](double y) { return top + int(std::lround((y1 - y) / (y1 - y0) * (ph - 1))); };
  // ----- grid and ticks -----
  std::vector<double> yt;
  if (st.log_y) {
    const int span = int(y1 - y0), every = std::max(1, (span + 5) / 6);
    for (int e = int(y0); e <= int(y1); ++e)
      if ((e - int(y0)) % every == 0) yt.push_back(e);
  } else {
    yt = nice_ticks(y0, y1);
  }
  for (double v : yt) {
    const int r = py(v);
    line(img, r, left, r, left + pw - 1, kGrid, 1);
    line(img, r, left - 4, r, left - 1, kInk, 1);
    const std::string s = tick_label(v, st.log_y);
    draw_text(img, r - 3, left - 6 - text_width(s), s, kInk);
  }
  for (double v : nice_ticks(x0, x1)) {
    const int c = px(v);
    line(img, top, c, top + ph - 1, c, kGrid, 1);
    line(img, top + ph, c, top + ph + 3, c, kInk, 1);
    const std::string s = tick_label(v, false);
    draw_text(img, top + ph + 6, c - text_width(s) / 2, s, kInk);
  }
  // ----- axes and labels -----
  line(img, top, left - 1, top + ph, left - 1, kInk, 1);
  line(img, top + ph, left - 1, top + ph, left + pw - 1, kInk, 1);
  if (!st.title.empty()) draw_text(img, 4, std::max(2, left + (pw - text_width(st.title)) / 2), st.title, kInk);
  if (!st.xlabel.empty()) draw_text(img, top + ph + 20, left + (pw - text_width(st.xlabel)) / 2, st.xlabel, kInk);
  if (!st.ylabel.empty()) draw_text(img, 17, 4, st.ylabel + (st.log_y ? " (log)" : ""), kInk);
  // ----- series -----
  auto colour = [&](size_t k, uint8_t out[3]) {
    const uint8_t* c = plot_color(series[k].color >= 0 ? series[k].color : int(k));
    const double f = std::clamp(series[k].fade, 0.0, 1.0);
    for (int i = 0; i < 3; ++i) out[i] = uint8_t(std::lround(c[i] + f * (255 - c[i])));
  };
  auto marker_radius = [&](const Series& s) { return s.marker >= 0 ? s.marker : (s.x.size() <= 40 ? 2 : 0); };
  for (size_t k = 0; k < series.size(); ++k) {
    const auto& s = series[k];
    uint8_t col[3];
    colour(k, col);
    const int mr = marker_radius(s);
    bool have = false;
    int pr = 0, pc = 0;
    for (size_t i = 0; i < s.x.size(); ++i) {
      const double y = ty(s.y[i]);
      if (!std::isfinite(s.x[i]) || !std::isfinite(y)) {
        have = false;
        continue;
      }
      const int r = std::clamp(py(y), top, top + ph - 1), c = std::clamp(px(s.x[i]), left, left + pw - 1);
      if (have && s.line) line(img, pr, pc, r, c, col, s.dashed ? 1 : 2, s.dashed);
      else if (mr == 0) put(img, r, c, col);
      if (mr > 0) dot(img, r, c, mr, col);
      pr = r, pc = c, have = true;
    }
  }
  // ----- legend, on white, in the corner of the plot area that covers the fewest points -----
  int n = 0, w = 0;
  for (const auto& s : series)
    if (!s.label.empty()) ++n, w = std::max(w, text_width(s.label));
  if (n > 0) {
    const int lw = w + 29, lh = n * (kFontLineHeight + 1) + 3;
    int best = -1, c0 = 0, r0 = 0;
    for (int corner = 0; corner < 4; ++corner) {
      const int cc = corner % 2 ? left + 3 : left + pw - lw + 1, rr = corner / 2 ? top + ph - lh - 2 : top + 3;
      int covered = 0;
      for (const auto& s : series)
        for (size_t i = 0; i < s.x.size(); ++i) {
          const double y = ty(s.y[i]);
          if (!std::isfinite(s.x[i]) || !std::isfinite(y)) continue;
          const int r = py(y), c = px(s.x[i]);
          covered += r >= rr - 2 && r < rr + lh && c >= cc - 3 && c < cc + lw;
        }
      if (best < 0 || covered < best) best = covered, c0 = cc, r0 = rr;
    }
    for (int r = r0 - 2; r < r0 + lh - 2; ++r)
      for (int c = c0 - 3; c < c0 + lw - 3; ++c) put(img, r, c, kWhite);
    int row = r0;
    for (size_t k = 0; k < series.size(); ++k) {
      if (series[k].label.empty()) continue;
      uint8_t col[3];
      colour(k, col);
      if (series[k].line) line(img, row + 4, c0, row + 4, c0 + 12, col, series[k].dashed ? 1 : 2, series[k].dashed);
      if (marker_radius(series[k]) > 0 || !series[k].line) dot(img, row + 4, c0 + 6, 2, col);
      draw_text(img, row, c0 + 17, series[k].label, kInk);
      row += kFontLineHeight + 1;
    }
  }
  return img;
}

Image plot_row(const std::vector<Image>& panels) {
  int h = 0, w = 0;
  for (const auto& p : panels) h = std::max(h, p.height), w += p.width;
  Image out(std::max(h, 1), std::max(w, 1), 255);
  int c = 0;
  for (const auto& p : panels) {
    blit(out, p, 0, c);
    c += p.width;
  }
  return out;
}

}  // namespace latco
