// .npz files (episodes, see env/episode.h): an uncompressed (stored) zip of .npy arrays, readable by
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

}  // namespace latco
