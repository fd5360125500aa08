// Parameter files (format in serialize.h): stream and file readers/writers with
// checks on every field, atomic saves, and copying loaded tensors into parameters.
// Left out: memory-mapped loading, endianness conversion (big-endian hosts refuse).
#include "nn/serialize.h"

#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "core/error.h"

namespace latco::nn {

namespace {

constexpr char kMagic[8] = {'L', 'A', 'T', 'C', 'O', 'T', 'N', 'S'};
constexpr uint32_t kVersion = 1;
constexpr uint32_t kMaxName = 4096, kMaxDims = 8;

bool little_endian() {
  const uint32_t one = 1;
  unsigned char c;
  std::memcpy(&c, &one, 1);
  return c == 1;
}

// FNV-1a, 64-bit.
struct Fnv {
  uint64_t h = 0xcbf29ce484222325ull;
  void add(const void* p, size_t n) {
    const unsigned char* b = static_cast<const unsigned char*>(p);
    for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 0x100000001b3ull;
  }
};

template <class T>
void put(std::ostream& os, const T& v) {
  os.write(reinterpret_cast<const char*>(&v), sizeof(T));
}

// Reads exactly n bytes or throws naming the source and what was being read.
void get_bytes(std::istream& is, void* p, size_t n, const std::string& source, const std::string& what) {
  is.read(static_cast<char*>(p), static_cast<std::streamsize>(n));
  if (static_cast<size_t>(is.gcount()) != n)
    LATCO_FAIL(source << ": truncated file while reading " << what << " (wanted " << n << " bytes, got "
                      << is.gcount() << ")");
}
template <class T>
T get(std::istream& is, const std::string& source, const std::string& what) {
  T v;
  get_bytes(is, &v, sizeof(T), source, what);
  return v;
}

// Bytes left in a seekable stream, or -1 if it cannot tell.
int64_t bytes_left(std::istream& is) {
  const std::streampos here = is.tellg();
  if (here == std::streampos(-1)) return -1;
  is.seekg(0, std::ios::end);
  const std::streampos end = is.tellg();
  is.seekg(here);
  if (end == std::streampos(-1) || !is) { is.clear(); is.seekg(here); return -1; }
  return static_cast<int64_t>(end - here);
}

}  // namespace

void write_tensors(std::ostream& os, const NamedTensors& ts, const std::string& source) {
  LATCO_CHECK(little_endian()) << "parameter files are little-endian; this host is not";
  os.write(kMagic, sizeof(kMagic));
  put<uint32_t>(os, kVersion);
  put<uint64_t>(os, ts.size());
  for (const auto& [name, t0] : ts) {
    LATCO_CHECK(t0.defined()) << source << ": tensor '" << name << "' is undefined";
    LATCO_CHECK(!name.empty() && name.size() <= kMaxName) << source << ": bad tensor name '" << name << "'";
    LATCO_CHECK(t0.dim() <= int(kMaxDims)) << source << ": tensor '" << name << "' has " << t0.dim() << " dims";
    const Tensor t = t0.device() == Device::CPU ? t0 : t0.to(Device::CPU);
    Fnv h;
    const uint32_t len = static_cast<uint32_t>(name.size()), nd = static_cast<uint32_t>(t.dim());
    put(os, len);
    os.write(name.data(), len);
    put(os, nd);
    h.add(name.data(), len);
    for (int64_t d : t.shape()) {
      put<int64_t>(os, d);
      h.add(&d, sizeof(d));
    }
    const size_t bytes = static_cast<size_t>(t.numel()) * sizeof(float);
    os.write(reinterpret_cast<const char*>(t.data()), static_cast<std::streamsize>(bytes));
    h.add(t.data(), bytes);
    put<uint64_t>(os, h.h);
  }
  if (!os) LATCO_FAIL(source << ": write failed");
}

NamedTensors read_tensors(std::istream& is, const std::string& source) {
  LATCO_CHECK(little_endian()) << "parameter files are little-endian; this host is not";
  char magic[8];
  get_bytes(is, magic, sizeof(magic), source, "the header");
  if (std::memcmp(magic, kMagic, sizeof(kMagic)) != 0) LATCO_FAIL(source << ": not a latco parameter file (bad magic)");
  const uint32_t version = get<uint32_t>(is, source, "the header");
  if (version != kVersion)
    LATCO_FAIL(source << ": parameter file version " << version << ", this build reads version " << kVersion);
  const uint64_t count = get<uint64_t>(is, source, "the header");
  if (count > (uint64_t(1) << 24)) LATCO_FAIL(source << ": corrupted header (tensor count " << count << ")");
  NamedTensors out;
  for (uint64_t k = 0; k < count; ++k) {
    const std::string which = "tensor #" + std::to_string(k);
    const uint32_t len = get<uint32_t>(is, source, which + " name length");
    if (len == 0 || len > kMaxName) LATCO_FAIL(source << ": corrupted " << which << " (name length " << len << ")");
    std::string name(len, '\0');
    get_bytes(is, &name[0], len, source, which + " name");
    const std::string tn = "tensor '" + name + "'";
    const uint32_t nd = get<uint32_t>(is, source, tn + " rank");
    if (nd > kMaxDims) LATCO_FAIL(source << ": corrupted " << tn << " (rank " << nd << ")");
    Fnv h;
    h.add(name.data(), len);
    Shape shape(nd);
    int64_t numel = 1;
    for (uint32_t d = 0; d < nd; ++d) {
      shape[d] = get<int64_t>(is, source, tn + " shape");
      h.add(&shape[d], sizeof(int64_t));
      if (shape[d] < 0 || shape[d] > (int64_t(1) << 40) || (shape[d] > 0 && numel > (int64_t(1) << 40) / shape[d]))
        LATCO_FAIL(source << ": corrupted " << tn << " (dimension " << shape[d] << ")");
      numel *= shape[d];
    }
    const int64_t bytes = numel * int64_t(sizeof(float));
    const int64_t left = bytes_left(is);
    if (left >= 0 && left < bytes + int64_t(sizeof(uint64_t)))
      LATCO_FAIL(source << ": truncated file in " << tn << " " << shape_str(shape) << " (needs " << bytes
                        << " bytes of data, " << left << " left)");
    Tensor t(shape);
    get_bytes(is, t.data(), static_cast<size_t>(bytes), source, tn + " data");
    h.add(t.data(), static_cast<size_t>(bytes));
    const uint64_t sum = get<uint64_t>(is, source, tn + " checksum");
    if (sum != h.h) LATCO_FAIL(source << ": checksum mismatch in " << tn << " (file corrupted)");
    for (const auto& e : out)
      if (e.first == name) LATCO_FAIL(source << ": " << tn << " appears twice");
    out.push_back({name, t});
  }
  return out;
}

void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& write) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream os(tmp, std::ios::binary | std::ios::trunc);
    if (!os) LATCO_FAIL(path << ": cannot open " << tmp << " for writing");
    write(os);
    os.flush();
    if (!os) LATCO_FAIL(path << ": write to " << tmp << " failed");
  }
  // fsync the data before the rename makes it visible under the real name.
  const int fd = ::open(tmp.c_str(), O_RDONLY);
  if (fd < 0) LATCO_FAIL(path << ": cannot reopen " << tmp << " to sync it");
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) LATCO_FAIL(path << ": fsync of " << tmp << " failed");
  if (std::rename(tmp.c_str(), path.c_str()) != 0) LATCO_FAIL(path << ": cannot rename " << tmp << " to " << path);
}

void save_tensors(const std::string& path, const NamedTensors& ts) {
  write_file_atomic(path, [&](std::ostream& os) { write_tensors(os, ts, path); });
}

NamedTensors load_tensors(const std::string& path) {
  std::ifstream is(path, std::ios::binary);
  if (!is) LATCO_FAIL(path << ": cannot open parameter file");
  NamedTensors ts = read_tensors(is, path);
  char extra;
  if (is.read(&extra, 1) && is.gcount() == 1) LATCO_FAIL(path << ": trailing bytes after the last tensor (corrupted?)");
  return ts;
}

void assign_tensors(const NamedTensors& src, const NamedTensors& dst, const std::string& source, bool allow_extra) {
  std::vector<const Tensor*> found;
  for (const auto& [name, t] : dst) {
    const Tensor* s = nullptr;
    for (const auto& e : src)
      if (e.first == name) { s = &e.second; break; }
    if (!s) LATCO_FAIL(source << ": missing tensor '" << name << "'");
    if (s->shape() != t.shape())
      LATCO_FAIL(source << ": tensor '" << name << "' has shape " << shape_str(s->shape()) << ", expected "
                        << shape_str(t.shape()));
    found.push_back(s);
  }
  if (!allow_extra)
    for (const auto& e : src) {
      bool known = false;
      for (const auto& d : dst) known = known || d.first == e.first;
      if (!known) LATCO_FAIL(source << ": unexpected tensor '" << e.first << "' (not a parameter of this model)");
    }
  // Everything checked: now copy (dst keeps its storage, so shared views see the new values).
  for (size_t i = 0; i < dst.size(); ++i) {
    Tensor d = dst[i].second;
    d.copy_from(*found[i]);
  }
}

NamedTensors param_tensors(const NamedVars& params) {
  NamedTensors ts;
  for (const auto& p : params) ts.push_back({p.first, p.second.value()});
  return ts;
}

void save_parameters(const std::string& path, const Module& m) { save_tensors(path, param_tensors(m.parameters())); }

void load_parameters(const std::string& path, const Module& m) {
  assign_tensors(load_tensors(path), param_tensors(m.parameters()), path);
}

}  // namespace latco::nn
