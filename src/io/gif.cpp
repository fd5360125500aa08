// GIF89a writing: palette, LZW, blocks (see gif.h).
#include "io/gif.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>

#include "core/error.h"

namespace latco {
namespace {

uint32_t bin15(const uint8_t* p) { return (uint32_t(p[0] >> 3) << 10) | (uint32_t(p[1] >> 3) << 5) | (p[2] >> 3); }

// The palette: the 256 most frequent 15-bit colours (each the mean of its pixels).
std::vector<uint8_t> make_palette(const std::vector<Image>& frames) {
  std::vector<uint64_t> count(1 << 15, 0), sum(3 << 15, 0);
  for (const Image& f : frames)
    for (size_t i = 0; i < f.rgb.size(); i += 3) {
      const uint32_t b = bin15(&f.rgb[i]);
      ++count[b];
      for (int c = 0; c < 3; ++c) sum[3 * b + c] += f.rgb[i + c];
    }
  std::multimap<uint64_t, uint32_t, std::greater<uint64_t>> by_count;
  for (uint32_t b = 0; b < (1u << 15); ++b)
    if (count[b]) by_count.insert({count[b], b});
  std::vector<uint8_t> pal(256 * 3, 0);
  int n = 0;
  for (const auto& [cnt, b] : by_count) {
    if (n == 256) break;
    for (int c = 0; c < 3; ++c) pal[3 * n + c] = uint8_t((sum[3 * b + c] + cnt / 2) / cnt);
    ++n;
  }
  return pal;
}

void put16(std::vector<uint8_t>& o, int v) {
  o.push_back(uint8_t(v & 255));
  o.push_back(uint8_t((v >> 8) & 255));
}

}  // namespace

std::vector<uint8_t> lzw_encode(const std::vector<uint8_t>& indices, int min_code_size) {
  const int clear = 1 << min_code_size, eoi = clear + 1;
  std::vector<uint8_t> out;
  uint32_t acc = 0;
  int nbits = 0, width = min_code_size + 1, next = eoi + 1;
  auto emit = [&](int code) {
    acc |= uint32_t(code) << nbits;
    nbits += width;
    while (nbits >= 8) {
      out.push_back(uint8_t(acc & 255));
      acc >>= 8;
      nbits -= 8;
    }
  };
  // child[code * 256 + byte]: the code of string(code) + byte, 0 when absent.
  std::vector<uint16_t> child(size_t(4096) * 256, 0);
  emit(clear);
  int cur = -1;
  for (uint8_t b : indices) {
    if (cur < 0) {
      cur = b;
      continue;
    }
    const uint16_t c = child[size_t(cur) * 256 + b];
    if (c) {
      cur = c;
      continue;
    }
    emit(cur);
    child[size_t(cur) * 256 + b] = uint16_t(next);
    // The decoder widens its codes once the table reaches the next power of two.
    if (next >= (1 << width)) ++width;
    if (next == 4095) {  // table full: start again
      emit(clear);
      std::fill(child.begin(), child.end(), 0);
      width = min_code_size + 1;
      next = eoi + 1;
    } else {
      ++next;
    }
    cur = b;
  }
  if (cur >= 0) emit(cur);
  emit(eoi);
  if (nbits > 0) out.push_back(uint8_t(acc & 255));
  return out;
}

std::vector<uint8_t> encode_gif(const std::vector<Image>& frames, int delay_cs) {
  LATCO_CHECK(!frames.empty()) << "GIF: no frames";
  const int H = frames[0].height, W = frames[0].width;
  LATCO_CHECK(H > 0 && W > 0 && H < 65536 && W < 65536) << "GIF: frame size " << H << "x" << W;
  for (const Image& f : frames)
    LATCO_CHECK(f.height == H && f.width == W) << "GIF: frames differ in size (" << f.height << "x" << f.width
                                               << " vs " << H << "x" << W << ")";
  const std::vector<uint8_t> pal = make_palette(frames);
  std::vector<int16_t> nearest(1 << 15, -1);  // 15-bit colour -> palette index
  auto index_of = [&](const uint8_t* p) {
    const uint32_t b = bin15(p);
    if (nearest[b] < 0) {
      int best = 0, bd = 1 << 30;
      for (int k = 0; k < 256; ++k) {
        const int d0 = int(pal[3 * k]) - p[0], d1 = int(pal[3 * k + 1]) - p[1], d2 = int(pal[3 * k + 2]) - p[2];
        const int d = 2 * d0 * d0 + 4 * d1 * d1 + 3 * d2 * d2;
        if (d < bd) bd = d, best = k;
      }
      nearest[b] = int16_t(best);
    }
    return uint8_t(nearest[b]);
  };
  std::vector<uint8_t> o = {'G', 'I', 'F', '8', '9', 'a'};
  put16(o, W);
  put16(o, H);
  o.insert(o.end(), {0xF7, 0, 0});  // global colour table of 256 entries, 8 bits per primary
  o.insert(o.end(), pal.begin(), pal.end());
  // Loop forever (the NETSCAPE2.0 application extension).
  const char* app = "NETSCAPE2.0";
  o.insert(o.end(), {0x21, 0xFF, 11});
  o.insert(o.end(), app, app + 11);
  o.insert(o.end(), {3, 1, 0, 0, 0});
  std::vector<uint8_t> idx(size_t(H) * W);
  for (const Image& f : frames) {
    o.insert(o.end(), {0x21, 0xF9, 4, 0x04});  // graphic control: keep the frame, delay, no transparency
    put16(o, delay_cs);
    o.insert(o.end(), {0, 0});
    o.push_back(0x2C);  // image descriptor: the whole screen, no local palette
    put16(o, 0);
    put16(o, 0);
    put16(o, W);
    put16(o, H);
    o.push_back(0);
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = index_of(&f.rgb[3 * i]);
    const std::vector<uint8_t> lzw = lzw_encode(idx, 8);
    o.push_back(8);
    for (size_t i = 0; i < lzw.size(); i += 255) {  // data sub-blocks of at most 255 bytes
      const size_t n = std::min<size_t>(255, lzw.size() - i);
      o.push_back(uint8_t(n));
      o.insert(o.end(), lzw.begin() + i, lzw.begin() + i + n);
    }
    o.push_back(0);
  }
  o.push_back(0x3B);
  return o;
}

void write_gif(const std::string& path, const std::vector<Image>& frames, int delay_cs) {
  const std::vector<uint8_t> bytes = encode_gif(frames, delay_cs);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary);
    if (!f) LATCO_FAIL("cannot write GIF " << path << " (is the folder there and writable?)");
    f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    if (!f) LATCO_FAIL("cannot write GIF " << path);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    LATCO_FAIL("cannot rename " << tmp << " to " << path);
  }
}

}  // namespace latco
