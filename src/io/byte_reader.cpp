// Bounds- and overflow-checked reading of untrusted bytes and files (see byte_reader.h).
#include "io/byte_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include "core/error.h"

namespace latco {

namespace {
constexpr uint64_t kMax = uint64_t(std::numeric_limits<int64_t>::max());
}

uint64_t checked_add(uint64_t a, uint64_t b, const std::string& what) {
  if (a > kMax || b > kMax - a) LATCO_FAIL(what << ": size " << a << " + " << b << " overflows");
  return a + b;
}

uint64_t checked_mul(uint64_t a, uint64_t b, const std::string& what) {
  if (a > kMax || b > kMax || (a != 0 && b > kMax / a)) LATCO_FAIL(what << ": size " << a << " x " << b << " overflows");
  return a * b;
}

ByteReader::ByteReader(const uint8_t* data, size_t size, std::string source)
    : data_(data), size_(size), source_(std::move(source)) {}

void ByteReader::fail(const std::string& msg) const { throw Error(source_ + ": " + msg); }

void ByteReader::need(uint64_t n, const char* what) const {
  if (n > size_ - pos_)
    LATCO_FAIL(source_ << ": truncated or corrupt (" << what << " needs " << n << " bytes at offset " << pos_ << ", "
                       << size_ - pos_ << " present)");
}

void ByteReader::seek(uint64_t offset, const char* what) {
  if (offset > size_)
    LATCO_FAIL(source_ << ": truncated or corrupt (" << what << " points at offset " << offset << ", the data has "
                       << size_ << " bytes)");
  pos_ = size_t(offset);
}

void ByteReader::skip(uint64_t n, const char* what) {
  need(n, what);
  pos_ += size_t(n);
}

const uint8_t* ByteReader::take(uint64_t n, const char* what) {
  need(n, what);
  const uint8_t* p = data_ + pos_;
  pos_ += size_t(n);
  return p;
}

uint16_t ByteReader::u16(const char* what) {
  const uint8_t* p = take(2, what);
  return uint16_t(p[0] | (p[1] << 8));
}

uint32_t ByteReader::u32(const char* what) {
  const uint8_t* p = take(4, what);
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}

uint64_t ByteReader::u64(const char* what) {
  const uint64_t lo = u32(what);
  return lo | (uint64_t(u32(what)) << 32);
}

std::string ByteReader::str(uint64_t n, const char* what) {
  const uint8_t* p = take(n, what);
  return std::string(reinterpret_cast<const char*>(p), size_t(n));
}

ByteReader ByteReader::sub(uint64_t n, const char* what, const std::string& source) {
  const uint8_t* p = take(n, what);
  return ByteReader(p, size_t(n), source);
}

uint32_t ByteReader::u32_at(uint64_t offset, const char* what) const {
  ByteReader r(data_, size_, source_);
  r.seek(offset, what);
  return r.u32(what);
}

std::vector<uint8_t> read_file(const std::string& path, uint64_t max_bytes, const char* kind) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) LATCO_FAIL(path << ": cannot open " << kind << ": " << std::strerror(errno));
  if (S_ISDIR(st.st_mode)) LATCO_FAIL(path << ": is a directory, not a " << kind);
  if (!S_ISREG(st.st_mode)) LATCO_FAIL(path << ": not a regular file (a device, FIFO or socket), not a " << kind);
  if (uint64_t(st.st_size) > max_bytes)
    LATCO_FAIL(path << ": " << kind << " of " << st.st_size << " bytes, more than the " << max_bytes << " allowed");
  // O_NONBLOCK: should the path have been replaced by a FIFO since stat, open does not hang.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) LATCO_FAIL(path << ": cannot open " << kind << ": " << std::strerror(errno));
  struct stat fst;
  if (::fstat(fd, &fst) != 0 || !S_ISREG(fst.st_mode)) {
    ::close(fd);
    LATCO_FAIL(path << ": not a regular file, not a " << kind);
  }
  // Read what fstat announced; a file that grows meanwhile is read on, up to max_bytes.
  std::vector<uint8_t> buf(size_t(std::min<uint64_t>(max_bytes, uint64_t(fst.st_size))));
  size_t got = 0;
  auto fail = [&](const std::string& msg) {
    ::close(fd);
    LATCO_FAIL(path << ": " << msg);
  };
  while (true) {
    uint8_t probe[4096];
    const bool full = got == buf.size();
    const ssize_t k = full ? ::read(fd, probe, sizeof probe) : ::read(fd, buf.data() + got, buf.size() - got);
    if (k < 0) {
      if (errno == EINTR) continue;
      fail(std::string("read error in ") + kind + ": " + std::strerror(errno));
    }
    if (k == 0) break;
    if (full) {
      if (got + size_t(k) > max_bytes)
        fail(std::string(kind) + " larger than the " + std::to_string(max_bytes) + " bytes allowed");
      buf.insert(buf.end(), probe, probe + k);
    }
    got += size_t(k);
  }
  ::close(fd);
  buf.resize(got);
  return buf;
}

}  // namespace latco
