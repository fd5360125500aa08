// Episode files: .npz = an uncompressed (stored) zip of .npy arrays, readable by
// numpy.load. Writes are atomic (io/atomic_file.h); reads go through the
// bounds-checked ByteReader, so a truncated, corrupt or crafted file throws
// naming the file and the member. Not supported: compressed (deflated) members,
// Fortran order, big-endian data, object arrays.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace latco {

// One array: numpy descr ('<f4', '|u1', '|b1', '<i4', '<f8', ...), shape, raw little-endian bytes.
struct NpyArray {
  std::string descr;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
  int64_t numel() const;
  int item_size() const;  // from descr
};

uint32_t crc32(const uint8_t* data, size_t n, uint32_t crc = 0);

std::vector<uint8_t> npy_encode(const NpyArray& a);  // .npy version 1.0
NpyArray npy_decode(const uint8_t* data, size_t n, const std::string& where);

// Members are named `<key>.npy`; order is kept as given.
void write_npz(const std::string& path, const std::vector<std::pair<std::string, NpyArray>>& arrays);
std::map<std::string, NpyArray> read_npz(const std::string& path);
// The same from bytes in memory; `path` names them in errors.
std::map<std::string, NpyArray> parse_npz(const uint8_t* bytes, size_t n, const std::string& path);

// An episode, Dreamer-aligned: T = steps + 1 rows; row t holds the observation at
// t, the action that led to it (zeros at t = 0) and the reward received on
// arriving there (0 at t = 0); success[t] is the task's criterion at t.
struct Episode {
  int T = 0, H = 0, W = 0, A = 0;
  std::vector<uint8_t> image;    // (T, H, W, 3)
  std::vector<float> action;     // (T, A)
  std::vector<float> reward;     // (T)
  std::vector<uint8_t> success;  // (T), 0 or 1
  // Appends one row; image is (H, W, 3), action (A) or nullptr for zeros.
  void append(const uint8_t* img, const float* act, float rew, bool succ);
  float total_reward() const;
  bool any_success() const;
};

void save_episode(const std::string& path, const Episode& e);  // keys image, action, reward, success
Episode load_episode(const std::string& path);                 // checks shapes and dtypes
// Every *.npz in dir, in file-name order; a folder without episodes is an error.
std::vector<Episode> load_episode_dir(const std::string& dir);
std::vector<std::string> list_episode_files(const std::string& dir);

}  // namespace latco
