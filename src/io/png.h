// PNG images (through stb_image_write), an image grid for contact sheets and a
// small bitmap font for labels (io/font.cpp). RGB uint8, row-major (H, W, 3) everywhere.
// Not here: reading PNGs, alpha channels, anti-aliased text.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace latco {

struct Image {
  int height = 0, width = 0;
  std::vector<uint8_t> rgb;  // (H, W, 3)
  Image() = default;
  Image(int h, int w, uint8_t fill = 0) : height(h), width(w), rgb(static_cast<size_t>(h) * w * 3, fill) {}
  uint8_t* at(int row, int col) { return rgb.data() + 3 * (static_cast<size_t>(row) * width + col); }
};

// Writes an RGB PNG atomically (tmp + rename); errors name the file.
void write_png(const std::string& path, const Image& img);
void write_png(const std::string& path, int h, int w, const uint8_t* rgb);

// Copies src into dst with its top-left corner at (row, col), cropping at the borders.
void blit(Image& dst, const Image& src, int row, int col);
// Nearest-neighbour upscale by an integer factor.
Image upscale(const Image& src, int factor);

// Tiles equally sized images into a grid of `cols` columns with `pad` pixels of
// `bg` between them; labels (optional, one per image) are drawn under each tile.
Image image_grid(const std::vector<Image>& tiles, int cols, int pad = 2, const std::vector<std::string>& labels = {},
                 uint8_t bg = 255);

// Pads every image with white (right and bottom) to the largest height and width among them
// (frames of one GIF must share a size).
void pad_to_common_size(std::vector<Image>& images);

// The image under lines of text (a title), on white, left-aligned; wider text widens the image.
Image with_title(const Image& body, const std::vector<std::string>& lines);

// Draws text with the bitmap font (5x7 above the baseline, 2 rows of descenders, 6 px
// advance, 11 px line), scaled by `scale`; `row` is the top of the line. Covers ' ' to '~'.
void draw_text(Image& img, int row, int col, const std::string& text, const uint8_t color[3], int scale = 1);
int text_width(const std::string& text, int scale = 1);
constexpr int kFontLineHeight = 11;

}  // namespace latco
