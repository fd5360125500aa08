// Parameter files (format in serialize.h): stream and file readers/writers with
// checks on every field, atomic saves, and copying loaded tensors into parameters.
// Left out: memory-mapped loading, endianness conversion (big-endian hosts refuse).
#include "nn/serialize.h"

#include <cstdio>
#include <cstring>
#include <iterator>
#include <sstream>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/byte_reader.h"

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

namespace {
// The tensor list at r's cursor; leaves the cursor after its last checksum.
NamedTensors parse_tensors(ByteReader& r) {
  const std::string& source = r.source();
  LATCO_CHECK(little_endian()) << "parameter files are little-endian; this host is not";
  if (std::memcmp(r.take(8, "the header"), kMagic, sizeof(kMagic)) != 0)
    LATCO_FAIL(source << ": not a latco parameter file (bad magic)");
  const uint32_t version = r.u32("the header");
  if (version != kVersion)
    LATCO_FAIL(source << ": parameter file version " << version << ", this build reads version " << kVersion);
  const uint64_t count = r.u64("the header");
  if (count > (uint64_t(1) << 24)) LATCO_FAIL(source << ": corrupted header (tensor count " << count << ")");
  NamedTensors out;
  for (uint64_t k = 0; k < count; ++k) {
    const std::string which = "tensor #" + std::to_string(k);
    const uint32_t len = r.u32("tensor name length");
    if (len == 0 || len > kMaxName) LATCO_FAIL(source << ": corrupted " << which << " (name length " << len << ")");
    const std::string name = r.str(len, "tensor name");
    const std::string tn = "tensor '" + name + "'";
    const uint32_t nd = r.u32("tensor rank");
    if (nd > kMaxDims) LATCO_FAIL(source << ": corrupted " << tn << " (rank " << nd << ")");
    Fnv h;
    h.add(name.data(), len);
    Shape shape(nd);
    uint64_t numel = 1;
    for (uint32_t d = 0; d < nd; ++d) {
      shape[d] = r.i64("tensor shape");
      h.add(&shape[d], sizeof(int64_t));
      if (shape[d] < 0 || shape[d] > (int64_t(1) << 40))
        LATCO_FAIL(source << ": corrupted " << tn << " (dimension " << shape[d] << ")");
      numel = checked_mul(numel, uint64_t(shape[d]), source + ": " + tn);
    }
    const uint64_t bytes = checked_mul(numel, sizeof(float), source + ": " + tn);
    if (bytes > r.left() || r.left() - bytes < sizeof(uint64_t))
      LATCO_FAIL(source << ": truncated file in " << tn << " " << shape_str(shape) << " (needs " << bytes
                        << " bytes of data, " << r.left() << " left)");
    const uint8_t* p = r.take(bytes, "tensor data");
    Tensor t(shape);
    std::memcpy(t.data(), p, size_t(bytes));
    h.add(t.data(), size_t(bytes));
    const uint64_t sum = r.u64("tensor checksum");
    if (sum != h.h) LATCO_FAIL(source << ": checksum mismatch in " << tn << " (file corrupted)");
    for (const auto& e : out)
      if (e.first == name) LATCO_FAIL(source << ": " << tn << " appears twice");
    out.push_back({name, t});
  }
  return out;
}
}  // namespace

// The rest of the stream is read into memory and parsed by the bounds-checked reader;
// the stream is then positioned just after the list (so several lists can follow each other).
NamedTensors read_tensors(std::istream& is, const std::string& source) {
  const std::streampos start = is.tellg();
  std::string rest((std::istreambuf_iterator<char>(is)), std::istreambuf_iterator<char>());
  ByteReader r(reinterpret_cast<const uint8_t*>(rest.data()), rest.size(), source);
  NamedTensors ts = parse_tensors(r);
  is.clear();
  if (start != std::streampos(-1)) is.seekg(start + std::streamoff(r.pos()));
  return ts;
}

void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& write) {
  std::ostringstream os;
  write(os);
  if (!os) LATCO_FAIL(path << ": serialising failed");
  latco::write_file_atomic(path, os.str());
}

void save_tensors(const std::string& path, const NamedTensors& ts) {
  write_file_atomic(path, [&](std::ostream& os) { write_tensors(os, ts, path); });
}

NamedTensors load_tensors(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file(path, uint64_t(64) << 30, "parameter file");
  ByteReader r(bytes, path);
  NamedTensors ts = parse_tensors(r);
  if (r.left() != 0) LATCO_FAIL(path << ": trailing bytes after the last tensor (corrupted?)");
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
