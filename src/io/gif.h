// Animated GIFs (GIF89a, looping), written here: one palette of at most 256 colours for
// all frames (the most frequent colours at 5 bits per channel, every pixel mapped to the
// nearest), LZW-compressed frames. `latco render --out episode.gif` writes one.
// Not here: per-frame palettes, dithering, transparency, reading GIFs.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/png.h"

namespace latco {

// Frames of equal size; delay_cs: hundredths of a second per frame. Atomic (tmp + rename).
void write_gif(const std::string& path, const std::vector<Image>& frames, int delay_cs = 10);

// The GIF bytes themselves (write_gif writes these).
std::vector<uint8_t> encode_gif(const std::vector<Image>& frames, int delay_cs);

// GIF's variable-length-code LZW of indices < 2^min_code_size, packed LSB first (no sub-blocks).
std::vector<uint8_t> lzw_encode(const std::vector<uint8_t>& indices, int min_code_size);

}  // namespace latco
