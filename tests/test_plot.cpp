// Pictures: the GIF writer (decoded back here by a small GIF reader written for the test),
// the bitmap font's lower case, and plots (ticks and their labels, series drawn inside the axes,
// markers, the [0, 1] axis of an all-zero series, dashed and faded series, the legend away from the data).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <vector>

#include "core/error.h"
#include "io/gif.h"
#include "io/plot.h"

using namespace latco;

namespace {

// A minimal GIF reader for the files write_gif makes: global palette, full-screen frames.
struct Decoded {
  int W = 0, H = 0;
  std::vector<uint8_t> palette;
  std::vector<std::vector<uint8_t>> frames;  // palette indices (H*W)
  std::vector<int> delays;
  bool loops = false;
};

std::vector<uint8_t> lzw_decode(const std::vector<uint8_t>& data, int min_code_size) {
  const int clear = 1 << min_code_size, eoi = clear + 1;
  std::vector<std::vector<uint8_t>> table;
  auto reset = [&] {
    table.assign(eoi + 1, {});
    for (int i = 0; i < clear; ++i) table[i] = {uint8_t(i)};
  };
  reset();
  int width = min_code_size + 1, prev = -1;
  size_t bitpos = 0;
  std::vector<uint8_t> out;
  for (;;) {
    if (bitpos + width > data.size() * 8) ADD_FAILURE() << "LZW data ends without EOI";
    if (bitpos + width > data.size() * 8) break;
    int code = 0;
    for (int i = 0; i < width; ++i, ++bitpos) code |= ((data[bitpos / 8] >> (bitpos % 8)) & 1) << i;
    if (code == clear) {
      reset();
      width = min_code_size + 1;
      prev = -1;
      continue;
    }
    if (code == eoi) break;
    std::vector<uint8_t> entry;
    if (code < int(table.size())) {
      entry = table[code];
    } else {
      EXPECT_EQ(code, int(table.size()));
      EXPECT_GE(prev, 0);
      if (prev < 0) break;
      entry = table[prev];
      entry.push_back(table[prev][0]);
    }
    out.insert(out.end(), entry.begin(), entry.end());
    if (prev >= 0 && table.size() < 4096) {
      std::vector<uint8_t> add = table[prev];
      add.push_back(entry[0]);
      table.push_back(add);
      if (int(table.size()) == (1 << width) && width < 12) ++width;
    }
    prev = code;
  }
  return out;
}

Decoded read_gif(const std::vector<uint8_t>& b) {
  Decoded d;
  EXPECT_EQ(std::string(b.begin(), b.begin() + 6), "GIF89a");
  size_t p = 6;
  auto u16 = [&](size_t at) { return int(b[at]) | (int(b[at + 1]) << 8); };
  d.W = u16(p), d.H = u16(p + 2);
  EXPECT_EQ(b[p + 4] & 0x80, 0x80);
  const int ncol = 2 << (b[p + 4] & 7);
  p += 7;
  d.palette.assign(b.begin() + p, b.begin() + p + 3 * ncol);
  p += 3 * ncol;
  int delay = 0;
  while (p < b.size()) {
    const uint8_t tag = b[p++];
    if (tag == 0x3B) break;
    if (tag == 0x21) {
      const uint8_t label = b[p++];
      if (label == 0xF9) delay = u16(p + 2);
      if (label == 0xFF) d.loops = std::string(b.begin() + p + 1, b.begin() + p + 12) == "NETSCAPE2.0";
      while (b[p]) p += b[p] + 1;  // sub-blocks
      ++p;
    } else if (tag == 0x2C) {
      EXPECT_EQ(u16(p + 4), d.W);
      EXPECT_EQ(u16(p + 6), d.H);
      p += 9;
      const int mcs = b[p++];
      std::vector<uint8_t> data;
      while (b[p]) {
        data.insert(data.end(), b.begin() + p + 1, b.begin() + p + 1 + b[p]);
        p += b[p] + 1;
      }
      ++p;
      d.frames.push_back(lzw_decode(data, mcs));
      d.delays.push_back(delay);
    } else {
      ADD_FAILURE() << "unexpected GIF block " << int(tag);
      break;
    }
  }
  return d;
}

}  // namespace

TEST(Gif, FramesDecodeToTheirColours) {
  // Three frames of a moving square over a gradient: 8 greys x 3 square colours < 256 colours,
  // so every pixel must come back exactly. 150x130 pixels pass the 4096-entry table limit.
  std::vector<Image> frames;
  const uint8_t sq[3][3] = {{200, 30, 30}, {30, 200, 30}, {30, 30, 200}};
  for (int f = 0; f < 3; ++f) {
    Image im(130, 150);
    for (int r = 0; r < im.height; ++r)
      for (int c = 0; c < im.width; ++c) {
        uint8_t* p = im.at(r, c);
        const bool in = r >= 20 + 10 * f && r < 60 + 10 * f && c >= 30 + 20 * f && c < 70 + 20 * f;
        for (int k = 0; k < 3; ++k) p[k] = in ? sq[f][k] : uint8_t(((r * 7 + c * 3) / 40 % 8) * 32);
      }
    frames.push_back(im);
  }
  const std::vector<uint8_t> bytes = encode_gif(frames, 12);
  Decoded d = read_gif(bytes);
  ASSERT_EQ(d.W, 150);
  ASSERT_EQ(d.H, 130);
  EXPECT_TRUE(d.loops);
  ASSERT_EQ(d.frames.size(), 3u);
  for (int f = 0; f < 3; ++f) {
    EXPECT_EQ(d.delays[f], 12);
    ASSERT_EQ(d.frames[f].size(), size_t(130 * 150));
    int wrong = 0;
    for (size_t i = 0; i < d.frames[f].size(); ++i)
      for (int k = 0; k < 3; ++k) wrong += d.palette[3 * d.frames[f][i] + k] != frames[f].rgb[3 * i + k];
    EXPECT_EQ(wrong, 0) << "frame " << f;
  }
  // Noise: many distinct strings, so the LZW table fills and restarts several times.
  std::vector<uint8_t> idx(200000);
  uint32_t x = 1;
  for (auto& v : idx) v = uint8_t((x = x * 1103515245u + 12345u) >> 24);
  EXPECT_EQ(lzw_decode(lzw_encode(idx, 8), 8), idx);
  // Files: atomic, and frames of different sizes are an error.
  const std::string path = testing::TempDir() + "/latco_test.gif";
  write_gif(path, frames, 10);
  EXPECT_EQ(std::filesystem::file_size(path), encode_gif(frames, 10).size());
  EXPECT_THROW(write_gif(path, {Image(4, 4), Image(5, 4)}), Error);
}

TEST(Font, LowerCaseHasItsOwnGlyphs) {
  const uint8_t black[3] = {0, 0, 0};
  auto ink = [&](const std::string& s) {
    Image im(14, 8, 255);
    draw_text(im, 1, 1, s, black);
    std::vector<int> rows;
    for (int r = 0; r < im.height; ++r)
      for (int c = 0; c < im.width; ++c)
        if (im.at(r, c)[0] == 0) rows.push_back(r);
    return rows;
  };
  EXPECT_NE(ink("a"), ink("A"));
  // x-height letters start two rows below capitals; descenders go below the baseline (row 1 + 6).
  EXPECT_EQ(ink("x").front(), ink("X").front() + 2);
  EXPECT_GT(ink("g").back(), ink("X").back());
  EXPECT_GT(ink("y").back(), 7);
  // '?' is the question mark (9 pixels); a character with no glyph draws the hollow box (2 rows of 5, 5 rows of 2).
  EXPECT_EQ(ink("?").size(), 9u);
  EXPECT_EQ(ink("\x7f").size(), 20u);
}

TEST(Plot, NiceTicksAndLabels) {
  EXPECT_EQ(nice_ticks(0, 200), (std::vector<double>{0, 50, 100, 150, 200}));
  EXPECT_EQ(nice_ticks(-1, 1), (std::vector<double>{-1, -0.5, 0, 0.5, 1}));
  auto t = nice_ticks(0.013, 0.061);
  const std::vector<double> want = {0.02, 0.03, 0.04, 0.05, 0.06};
  ASSERT_EQ(t.size(), want.size());
  for (size_t i = 0; i < t.size(); ++i) EXPECT_NEAR(t[i], want[i], 1e-12);
  EXPECT_EQ(tick_label(-4, true), "1e-4");
  EXPECT_EQ(tick_label(0.25, false), "0.25");
}

TEST(Plot, DrawsSeriesInsideTheAxes) {
  Series up{"UP", {0, 1, 2, 3}, {1, 10, 100, 1000}}, flat{"", {0, 3}, {-1, 0}};  // flat: nothing on a log axis
  PlotStyle st{"T", "X", "Y", true, 300, 200};
  Image img = plot_lines({up, flat}, st);
  ASSERT_EQ(img.width, 300);
  // The first palette colour must appear, both at the lower-left and the upper-right of the plot area.
  auto blue = [&](int r, int c) { const uint8_t* p = img.at(r, c); return p[0] == 31 && p[1] == 119 && p[2] == 180; };
  int any_ll = 0, any_ur = 0;
  for (int r = img.height / 2; r < img.height; ++r)
    for (int c = 0; c < img.width / 2; ++c) any_ll += blue(r, c);
  for (int r = 0; r < img.height / 2; ++r)
    for (int c = img.width / 2; c < img.width; ++c) any_ur += blue(r, c);
  EXPECT_GT(any_ll, 5);
  EXPECT_GT(any_ur, 5);
  Series bad{"B", {0, 1}, {1}};
  EXPECT_THROW(plot_lines({bad}, st), Error);
}

TEST(Plot, AllZeroSeriesGetsTheUnitAxisAndMarkers) {
  Series zero{"run", {1000, 2000, 3000}, {0, 0, 0}};
  PlotStyle st{"success", "steps", "success", false, 300, 200};
  Image img = plot_lines({zero}, st);
  // The series lies on the bottom of the axis [0, 1] (not in the middle of [-0.5, 0.5]), with dots.
  const uint8_t* blue = plot_color(0);
  int rows_with_blue_low = 0, rows_with_blue_mid = 0, thick = 0;
  for (int r = 0; r < img.height; ++r) {
    int n = 0;
    for (int c = 0; c < img.width / 2; ++c) {  // left half: away from the legend
      const uint8_t* p = img.at(r, c);
      n += p[0] == blue[0] && p[1] == blue[1] && p[2] == blue[2];
    }
    if (n) (r > img.height * 2 / 3 ? rows_with_blue_low : rows_with_blue_mid)++;
    thick += n > 0;
  }
  EXPECT_GT(rows_with_blue_low, 0);
  EXPECT_EQ(rows_with_blue_mid, 0);
  EXPECT_GE(thick, 5);  // a marker of radius 2 spans 5 rows, a bare line 2
}

TEST(Plot, FadedDashedAndFixedRanges) {
  Series faded{"", {0, 1}, {0, 1}}, dashed{"", {0, 1}, {0.5, 0.5}};
  faded.fade = 0.5, faded.marker = 0;
  dashed.dashed = true, dashed.color = 3, dashed.marker = 0;
  PlotStyle st{"", "", "", false, 300, 200, -1, 2, -1, 2, true};
  Image img = plot_lines({faded, dashed}, st);
  const uint8_t* c0 = plot_color(0);
  uint8_t light[3];
  for (int k = 0; k < 3; ++k) light[k] = uint8_t(std::lround(c0[k] + 0.5 * (255 - c0[k])));
  int n_light = 0, n_full = 0, on = 0, off = 0;
  int dash_row = -1;
  for (int r = 0; r < img.height; ++r)
    for (int c = 0; c < img.width; ++c) {
      const uint8_t* p = img.at(r, c);
      n_light += p[0] == light[0] && p[1] == light[1] && p[2] == light[2];
      n_full += p[0] == c0[0] && p[1] == c0[1] && p[2] == c0[2];
      if (dash_row < 0 && p[0] == plot_color(3)[0] && p[1] == plot_color(3)[1] && p[2] == plot_color(3)[2]) dash_row = r;
    }
  EXPECT_GT(n_light, 20);
  EXPECT_EQ(n_full, 0);
  ASSERT_GE(dash_row, 0);
  for (int c = 0; c < img.width; ++c) {
    const uint8_t* p = img.at(dash_row, c);
    (p[0] == plot_color(3)[0] && p[1] == plot_color(3)[1] ? on : off)++;
  }
  EXPECT_GT(on, 20);
  EXPECT_GT(off, on / 3);  // gaps between the dashes
}
