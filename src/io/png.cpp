// PNG writing (stb_image_write owns its implementation here, and only here) and
// image grids; the bitmap font is io/font.cpp. Not here: PNG reading, colour management.
#define STB_IMAGE_WRITE_IMPLEMENTATION
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <stb_image_write.h>
#pragma GCC diagnostic pop

#include "io/png.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "core/error.h"

namespace latco {

void write_png(const std::string& path, int h, int w, const uint8_t* rgb) {
  LATCO_CHECK(h > 0 && w > 0) << "write_png " << path << ": empty image " << h << "x" << w;
  std::string tmp = path + ".tmp";
  if (!stbi_write_png(tmp.c_str(), w, h, 3, rgb, w * 3))
    LATCO_FAIL("cannot write PNG " << path << " (is the folder there and writable?)");
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    LATCO_FAIL("cannot rename " << tmp << " to " << path);
  }
}

void write_png(const std::string& path, const Image& img) { write_png(path, img.height, img.width, img.rgb.data()); }

void blit(Image& dst, const Image& src, int row, int col) {
  for (int r = 0; r < src.height; ++r) {
    int y = row + r;
    if (y < 0 || y >= dst.height) continue;
    for (int c = 0; c < src.width; ++c) {
      int x = col + c;
      if (x < 0 || x >= dst.width) continue;
      std::memcpy(dst.at(y, x), src.rgb.data() + 3 * (static_cast<size_t>(r) * src.width + c), 3);
    }
  }
}

Image upscale(const Image& src, int f) {
  LATCO_CHECK(f >= 1) << "upscale factor " << f;
  Image out(src.height * f, src.width * f);
  for (int r = 0; r < out.height; ++r)
    for (int c = 0; c < out.width; ++c)
      std::memcpy(out.at(r, c), src.rgb.data() + 3 * (static_cast<size_t>(r / f) * src.width + c / f), 3);
  return out;
}

Image image_grid(const std::vector<Image>& tiles, int cols, int pad, const std::vector<std::string>& labels,
                 uint8_t bg) {
  LATCO_CHECK(!tiles.empty()) << "image_grid: no images";
  LATCO_CHECK(cols >= 1) << "image_grid: cols = " << cols;
  LATCO_CHECK(labels.empty() || labels.size() == tiles.size())
      << "image_grid: " << labels.size() << " labels for " << tiles.size() << " images";
  const int th = tiles[0].height, tw = tiles[0].width;
  for (const Image& t : tiles)
    LATCO_CHECK(t.height == th && t.width == tw) << "image_grid: tiles differ in size (" << t.height << "x" << t.width
                                                 << " vs " << th << "x" << tw << ")";
  const int n = static_cast<int>(tiles.size());
  const int rows = (n + cols - 1) / cols;
  const int lh = labels.empty() ? 0 : kFontLineHeight + 2;
  Image out(pad + rows * (th + lh + pad), pad + cols * (tw + pad), bg);
  const uint8_t ink[3] = {static_cast<uint8_t>(255 - bg), static_cast<uint8_t>(255 - bg), static_cast<uint8_t>(255 - bg)};
  for (int i = 0; i < n; ++i) {
    int r0 = pad + (i / cols) * (th + lh + pad), c0 = pad + (i % cols) * (tw + pad);
    blit(out, tiles[i], r0, c0);
    if (!labels.empty()) draw_text(out, r0 + th + 1, c0, labels[i], ink);
  }
  return out;
}

void pad_to_common_size(std::vector<Image>& images) {
  int h = 0, w = 0;
  for (const Image& f : images) h = std::max(h, f.height), w = std::max(w, f.width);
  for (Image& f : images) {
    if (f.height == h && f.width == w) continue;
    Image padded(h, w, 255);
    blit(padded, f, 0, 0);
    f = std::move(padded);
  }
}

Image with_title(const Image& body, const std::vector<std::string>& lines) {
  int w = body.width;
  for (const auto& l : lines) w = std::max(w, text_width(l) + 8);
  const int head = int(lines.size()) * kFontLineHeight + 6;
  Image out(body.height + head, w, 255);
  const uint8_t ink[3] = {20, 20, 20};
  for (size_t i = 0; i < lines.size(); ++i) draw_text(out, 3 + int(i) * kFontLineHeight, 4, lines[i], ink);
  blit(out, body, head, 0);
  return out;
}

}  // namespace latco
