// Reading untrusted bytes: every binary parser (npz/npy, checkpoints, parameter
// files) goes through ByteReader, which checks each offset and size against the
// bytes actually present with overflow-safe arithmetic, and through read_file,
// which reads only regular files of bounded size (no directories, FIFOs, devices).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace latco {

// a + b and a * b, or an Error naming `what` if the result exceeds 2^63 - 1.
uint64_t checked_add(uint64_t a, uint64_t b, const std::string& what);
uint64_t checked_mul(uint64_t a, uint64_t b, const std::string& what);

// A cursor over [data, data + size). Reads past the end throw latco::Error
// "<source>: truncated or corrupt (<what> needs N bytes at offset P, K present)".
class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size, std::string source);
  ByteReader(const std::vector<uint8_t>& bytes, std::string source)
      : ByteReader(bytes.data(), bytes.size(), std::move(source)) {}

  size_t size() const { return size_; }
  size_t pos() const { return pos_; }
  size_t left() const { return size_ - pos_; }
  const std::string& source() const { return source_; }

  // Moves to an absolute offset (<= size); `what` names the field that gave it.
  void seek(uint64_t offset, const char* what);
  void skip(uint64_t n, const char* what);
  // Throws unless n bytes are left from the cursor.
  void need(uint64_t n, const char* what) const;
  // A pointer to the next n bytes (checked), advancing the cursor.
  const uint8_t* take(uint64_t n, const char* what);
  uint8_t u8(const char* what) { return *take(1, what); }
  uint16_t u16(const char* what);  // little-endian
  uint32_t u32(const char* what);
  uint64_t u64(const char* what);
  int64_t i64(const char* what) { return static_cast<int64_t>(u64(what)); }
  std::string str(uint64_t n, const char* what);  // n raw bytes as a string
  // A reader over the next n bytes (checked), advancing this one past them.
  ByteReader sub(uint64_t n, const char* what, const std::string& source);
  // Little-endian fields at an absolute offset, cursor unchanged.
  uint32_t u32_at(uint64_t offset, const char* what) const;

  [[noreturn]] void fail(const std::string& msg) const;

 private:
  const uint8_t* data_;
  size_t size_, pos_ = 0;
  std::string source_;
};

// The bytes of `path`, which must be a regular file (symlinks followed) of at most
// max_bytes; `kind` names it in errors ("episode file", "config file", ...).
// A directory, FIFO, socket or device is an error naming the file, before any read.
std::vector<uint8_t> read_file(const std::string& path, uint64_t max_bytes, const char* kind);

}  // namespace latco
