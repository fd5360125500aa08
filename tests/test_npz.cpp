// Tests of episode files (.npz of .npy arrays) and PNG output: round trips bit
// for bit, numpy-compatible headers, CRC-32, clear errors on truncated or
// corrupt files, and the image-grid / font helpers.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sys/stat.h>

#include "core/error.h"
#include "core/rng.h"
#include "env/episode.h"
#include "io/npz.h"
#include "io/png.h"

using namespace latco;

namespace {

std::string tmp_path(const std::string& name) { return ::testing::TempDir() + "/" + name; }

std::vector<uint8_t> read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

void write_all(const std::string& path, const std::vector<uint8_t>& b) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

Episode random_episode(uint64_t seed, int T, int H, int W, int A) {
  Rng rng(seed);
  Episode e;
  e.H = H; e.W = W; e.A = A;
  std::vector<uint8_t> img(H * W * 3);
  std::vector<float> act(A);
  for (int t = 0; t < T; ++t) {
    for (auto& p : img) p = static_cast<uint8_t>(rng.below(256));
    for (auto& a : act) a = rng.normal();
    e.append(img.data(), t == 0 ? nullptr : act.data(), t == 0 ? 0.0f : rng.normal(), rng.uniform() < 0.3f);
  }
  return e;
}

}  // namespace

TEST(Npz, Crc32CheckValue) {
  const char* s = "123456789";  // the standard CRC-32 check input
  EXPECT_EQ(crc32(reinterpret_cast<const uint8_t*>(s), 9), 0xCBF43926u);
  EXPECT_EQ(crc32(nullptr, 0), 0u);
}

TEST(Npz, NpyHeaderIsNumpyVersion1) {
  NpyArray a{"<f4", {3, 2}, std::vector<uint8_t>(24, 0)};
  std::vector<uint8_t> b = npy_encode(a);
  ASSERT_GE(b.size(), 10u);
  EXPECT_EQ(b[0], 0x93);
  EXPECT_EQ(std::string(b.begin() + 1, b.begin() + 6), "NUMPY");
  EXPECT_EQ(b[6], 1);
  EXPECT_EQ(b[7], 0);
  size_t hlen = b[8] | (b[9] << 8);
  EXPECT_EQ((10 + hlen) % 64, 0u);  // data starts aligned
  std::string h(b.begin() + 10, b.begin() + 10 + hlen);
  EXPECT_EQ(h.back(), '\n');
  EXPECT_NE(h.find("'descr': '<f4'"), std::string::npos) << h;
  EXPECT_NE(h.find("'fortran_order': False"), std::string::npos) << h;
  EXPECT_NE(h.find("'shape': (3, 2)"), std::string::npos) << h;
  EXPECT_EQ(b.size(), 10 + hlen + 24);
  // One-dimensional shapes carry numpy's trailing comma.
  std::string h1;
  {
    std::vector<uint8_t> c = npy_encode(NpyArray{"|b1", {5}, std::vector<uint8_t>(5, 1)});
    h1.assign(c.begin() + 10, c.begin() + 10 + (c[8] | (c[9] << 8)));
  }
  EXPECT_NE(h1.find("'shape': (5,)"), std::string::npos) << h1;
  NpyArray back = npy_decode(b.data(), b.size(), "test");
  EXPECT_EQ(back.descr, "<f4");
  EXPECT_EQ(back.shape, (std::vector<int64_t>{3, 2}));
  EXPECT_THROW(npy_encode(NpyArray{"<f4", {3}, std::vector<uint8_t>(5)}), Error);  // wrong byte count
}

TEST(Npz, EpisodeRoundTripsBitForBit) {
  Episode e = random_episode(11, 9, 16, 12, 4);
  std::string p = tmp_path("ep_roundtrip.npz");
  save_episode(p, e);
  Episode r = load_episode(p);
  EXPECT_EQ(r.T, 9);
  EXPECT_EQ(r.H, 16);
  EXPECT_EQ(r.W, 12);
  EXPECT_EQ(r.A, 4);
  EXPECT_EQ(r.image, e.image);
  ASSERT_EQ(r.action.size(), e.action.size());
  EXPECT_EQ(0, std::memcmp(r.action.data(), e.action.data(), e.action.size() * 4));
  EXPECT_EQ(0, std::memcmp(r.reward.data(), e.reward.data(), e.reward.size() * 4));
  EXPECT_EQ(r.success, e.success);
  // Row 0 is the reset observation: zero action and zero reward.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(r.action[i], 0.0f);
  EXPECT_EQ(r.reward[0], 0.0f);
  // Saving the loaded episode again gives the same bytes.
  std::string p2 = tmp_path("ep_roundtrip2.npz");
  save_episode(p2, r);
  EXPECT_EQ(read_all(p), read_all(p2));
  // The write was atomic: no temporary left behind.
  struct stat st;
  EXPECT_NE(stat((p + ".tmp").c_str(), &st), 0);
}

TEST(Npz, ZipMembersAreStoredAndNamed) {
  Episode e = random_episode(2, 3, 4, 4, 2);
  std::string p = tmp_path("ep_members.npz");
  save_episode(p, e);
  std::vector<uint8_t> b = read_all(p);
  ASSERT_GE(b.size(), 30u);
  EXPECT_EQ(b[0], 'P');
  EXPECT_EQ(b[1], 'K');
  EXPECT_EQ(b[2], 3);
  EXPECT_EQ(b[3], 4);
  EXPECT_EQ(b[8] | (b[9] << 8), 0);  // method 0: stored
  auto m = read_npz(p);
  EXPECT_EQ(m.size(), 4u);
  for (const char* k : {"image", "action", "reward", "success"}) EXPECT_TRUE(m.count(k)) << k;
  EXPECT_EQ(m["image"].descr, "|u1");
  EXPECT_EQ(m["success"].descr, "|b1");
  EXPECT_EQ(m["action"].shape, (std::vector<int64_t>{3, 2}));
}

// An archive laid out the way numpy.savez writes one (Python's zipfile, members
// streamed with force_zip64: 0xFFFFFFFF sizes plus a ZIP64 extra field in each
// local header): reward = [1.5, -2, 0.25] as '<f4', success = [0, 1, 1] as '|b1'.
TEST(Npz, ReadsZip64StyleMembersAsNumpyWritesThem) {
  const uint8_t bytes[] = {
    0x50, 0x4b, 0x03, 0x04, 0x2d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x21, 0x00, 0x30, 0x9a,
    0x5b, 0x82, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0a, 0x00, 0x14, 0x00, 0x72, 0x65,
    0x77, 0x61, 0x72, 0x64, 0x2e, 0x6e, 0x70, 0x79, 0x01, 0x00, 0x10, 0x00, 0x8c, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x8c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x93, 0x4e, 0x55, 0x4d,
    0x50, 0x59, 0x01, 0x00, 0x76, 0x00, 0x7b, 0x27, 0x64, 0x65, 0x73, 0x63, 0x72, 0x27, 0x3a, 0x20,
    0x27, 0x3c, 0x66, 0x34, 0x27, 0x2c, 0x20, 0x27, 0x66, 0x6f, 0x72, 0x74, 0x72, 0x61, 0x6e, 0x5f,
    0x6f, 0x72, 0x64, 0x65, 0x72, 0x27, 0x3a, 0x20, 0x46, 0x61, 0x6c, 0x73, 0x65, 0x2c, 0x20, 0x27,
    0x73, 0x68, 0x61, 0x70, 0x65, 0x27, 0x3a, 0x20, 0x28, 0x33, 0x2c, 0x29, 0x2c, 0x20, 0x7d, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0a, 0x00, 0x00, 0xc0, 0x3f,
    0x00, 0x00, 0x00, 0xc0, 0x00, 0x00, 0x80, 0x3e, 0x50, 0x4b, 0x03, 0x04, 0x2d, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x21, 0x00, 0x60, 0xc8, 0x55, 0xa3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0x0b, 0x00, 0x14, 0x00, 0x73, 0x75, 0x63, 0x63, 0x65, 0x73, 0x73, 0x2e, 0x6e, 0x70,
    0x79, 0x01, 0x00, 0x10, 0x00, 0x83, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x83, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00, 0x7b,
    0x27, 0x64, 0x65, 0x73, 0x63, 0x72, 0x27, 0x3a, 0x20, 0x27, 0x7c, 0x62, 0x31, 0x27, 0x2c, 0x20,
    0x27, 0x66, 0x6f, 0x72, 0x74, 0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x27, 0x3a,
    0x20, 0x46, 0x61, 0x6c, 0x73, 0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27, 0x3a,
    0x20, 0x28, 0x33, 0x2c, 0x29, 0x2c, 0x20, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x0a, 0x00, 0x01, 0x01, 0x50, 0x4b, 0x01, 0x02, 0x2d, 0x03, 0x2d, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x21, 0x00, 0x30, 0x9a, 0x5b, 0x82, 0x8c, 0x00, 0x00, 0x00,
    0x8c, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x80, 0x01, 0x00, 0x00, 0x00, 0x00, 0x72, 0x65, 0x77, 0x61, 0x72, 0x64, 0x2e, 0x6e, 0x70, 0x79,
    0x50, 0x4b, 0x01, 0x02, 0x2d, 0x03, 0x2d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x21, 0x00,
    0x60, 0xc8, 0x55, 0xa3, 0x83, 0x00, 0x00, 0x00, 0x83, 0x00, 0x00, 0x00, 0x0b, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x01, 0xc8, 0x00, 0x00, 0x00, 0x73, 0x75,
    0x63, 0x63, 0x65, 0x73, 0x73, 0x2e, 0x6e, 0x70, 0x79, 0x50, 0x4b, 0x05, 0x06, 0x00, 0x00, 0x00,
    0x00, 0x02, 0x00, 0x02, 0x00, 0x71, 0x00, 0x00, 0x00, 0x88, 0x01, 0x00, 0x00, 0x00, 0x00,
  };
  std::string p = tmp_path("zip64_style.npz");
  write_all(p, std::vector<uint8_t>(bytes, bytes + sizeof bytes));
  auto m = read_npz(p);
  ASSERT_EQ(m.size(), 2u);
  ASSERT_EQ(m["reward"].shape, (std::vector<int64_t>{3}));
  float r[3];
  std::memcpy(r, m["reward"].bytes.data(), 12);
  EXPECT_EQ(r[0], 1.5f);
  EXPECT_EQ(r[1], -2.0f);
  EXPECT_EQ(r[2], 0.25f);
  EXPECT_EQ(m["success"].descr, "|b1");
  EXPECT_EQ(m["success"].bytes, (std::vector<uint8_t>{0, 1, 1}));
}

TEST(Npz, TruncatedFileNamesTheFile) {
  Episode e = random_episode(5, 6, 8, 8, 3);
  std::string p = tmp_path("ep_truncated.npz");
  save_episode(p, e);
  std::vector<uint8_t> b = read_all(p);
  for (size_t keep : {b.size() / 2, b.size() - 10, size_t(7)}) {
    write_all(p, std::vector<uint8_t>(b.begin(), b.begin() + keep));
    try {
      load_episode(p);
      FAIL() << "truncated to " << keep << " bytes but loaded";
    } catch (const Error& err) {
      EXPECT_NE(std::string(err.what()).find("ep_truncated.npz"), std::string::npos) << err.what();
    }
  }
}

TEST(Npz, CorruptByteFailsTheCrc) {
  Episode e = random_episode(6, 4, 8, 8, 2);
  std::string p = tmp_path("ep_corrupt.npz");
  save_episode(p, e);
  std::vector<uint8_t> b = read_all(p);
  b[200] ^= 0xFF;  // inside the image member's data
  write_all(p, b);
  try {
    load_episode(p);
    FAIL() << "corrupt file loaded";
  } catch (const Error& err) {
    std::string m = err.what();
    EXPECT_NE(m.find("CRC"), std::string::npos) << m;
    EXPECT_NE(m.find("ep_corrupt.npz"), std::string::npos) << m;
  }
  EXPECT_THROW(load_episode(tmp_path("does_not_exist.npz")), Error);
}

TEST(Npz, EpisodeDirLoadsInNameOrder) {
  std::string dir = tmp_path("episodes_dir");
  mkdir(dir.c_str(), 0755);
  Episode a = random_episode(1, 3, 4, 4, 2), b = random_episode(2, 5, 4, 4, 2);
  save_episode(dir + "/ep_001.npz", b);
  save_episode(dir + "/ep_000.npz", a);
  std::ofstream(dir + "/notes.txt") << "not an episode";
  std::vector<Episode> eps = load_episode_dir(dir);
  ASSERT_EQ(eps.size(), 2u);
  EXPECT_EQ(eps[0].T, 3);
  EXPECT_EQ(eps[1].T, 5);
  EXPECT_EQ(eps[1].image, b.image);
  std::string empty = tmp_path("episodes_empty");
  mkdir(empty.c_str(), 0755);
  EXPECT_THROW(load_episode_dir(empty), Error);
}

TEST(Npz, WrongDtypeIsRejected) {
  std::string p = tmp_path("ep_dtype.npz");
  std::vector<std::pair<std::string, NpyArray>> arrays = {
      {"image", {"|u1", {1, 2, 2, 3}, std::vector<uint8_t>(12)}},
      {"action", {"<f8", {1, 2}, std::vector<uint8_t>(16)}},  // float64, not float32
      {"reward", {"<f4", {1}, std::vector<uint8_t>(4)}},
      {"success", {"|u1", {1}, std::vector<uint8_t>(1)}}};
  write_npz(p, arrays);
  try {
    load_episode(p);
    FAIL() << "float64 actions accepted";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("'action'"), std::string::npos) << err.what();
  }
}

TEST(Png, WritesAValidHeader) {
  Image img(5, 7);
  for (int r = 0; r < 5; ++r)
    for (int c = 0; c < 7; ++c) img.at(r, c)[0] = static_cast<uint8_t>(r * 40 + c);
  std::string p = tmp_path("img.png");
  write_png(p, img);
  std::vector<uint8_t> b = read_all(p);
  ASSERT_GE(b.size(), 24u);
  const uint8_t sig[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  EXPECT_EQ(0, std::memcmp(b.data(), sig, 8));
  EXPECT_EQ(std::string(b.begin() + 12, b.begin() + 16), "IHDR");
  uint32_t w = (b[16] << 24) | (b[17] << 16) | (b[18] << 8) | b[19];
  uint32_t h = (b[20] << 24) | (b[21] << 16) | (b[22] << 8) | b[23];
  EXPECT_EQ(w, 7u);
  EXPECT_EQ(h, 5u);
  EXPECT_THROW(write_png(tmp_path("no_such_dir/x.png"), img), Error);
}

TEST(Png, GridAndText) {
  std::vector<Image> tiles;
  for (int i = 0; i < 5; ++i) tiles.push_back(Image(10, 12, static_cast<uint8_t>(i * 50)));
  Image g = image_grid(tiles, 3, 2, {"0", "1", "2", "3", "4"});
  EXPECT_EQ(g.width, 2 + 3 * (12 + 2));
  EXPECT_EQ(g.height, 2 + 2 * (10 + kFontLineHeight + 2 + 2));
  EXPECT_EQ(g.at(2 + (10 + kFontLineHeight + 2 + 2), 2)[0], 150);  // tile 3: row 1, col 0
  EXPECT_EQ(g.at(2, 2 + 2 * 14)[0], 100);                          // tile 2: row 0, col 2
  Image canvas(12, 40, 255);
  const uint8_t black[3] = {0, 0, 0};
  draw_text(canvas, 2, 2, "A1", black);
  int ink = 0;
  for (int r = 0; r < 12; ++r)
    for (int c = 0; c < 40; ++c) ink += canvas.at(r, c)[0] == 0;
  // 'A' has 18 lit cells, '1' has 10 in the 5x7 font.
  EXPECT_EQ(ink, 18 + 10);
  EXPECT_EQ(text_width("A1"), 12);
  EXPECT_THROW(image_grid({Image(2, 2), Image(3, 2)}, 2), Error);
  Image big = upscale(tiles[1], 3);
  EXPECT_EQ(big.height, 30);
  EXPECT_EQ(big.at(29, 35)[0], 50);
}
