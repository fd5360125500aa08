// Checkpoint file layout (little-endian):
//   "LATCOCKP" (8 bytes) | version u32 | payload size u64 | payload | FNV-1a 64 of payload u64
// payload: grad_steps, env_steps, episodes (i64 each);
//   n_tensors u64, then per tensor: name (u32 length + bytes), ndim u32, dims i64[ndim], floats;
//   n_rngs u64, then per stream: name, key u64, counter u64;
//   n_notes u64, then per note: key, value (u32 length + bytes each).
#include "io/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace fs = std::filesystem;

namespace latco {
namespace {

const char kMagic[8] = {'L', 'A', 'T', 'C', 'O', 'C', 'K', 'P'};

uint64_t fnv1a(const char* p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(p[i]);
    h *= 0x100000001b3ull;
  }
  return h;
}

struct Writer {
  std::string buf;
  template <class T>
  void pod(const T& v) { buf.append(reinterpret_cast<const char*>(&v), sizeof(T)); }
  void str(const std::string& s) {
    pod(static_cast<uint32_t>(s.size()));
    buf.append(s);
  }
};

// Bounds-checked reads: any overrun is reported as a truncated file.
struct Reader {
  const char* p;
  size_t n, pos = 0;
  const std::string& path;
  void need(size_t k, const char* what) {
    if (k > n - pos)
      LATCO_FAIL(path << ": checkpoint truncated or corrupted (reading " << what << " at byte " << pos << ")");
  }
  template <class T>
  T pod(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, p + pos, sizeof(T));
    pos += sizeof(T);
    return v;
  }
  std::string str(const char* what) {
    uint32_t len = pod<uint32_t>(what);
    need(len, what);
    std::string s(p + pos, len);
    pos += len;
    return s;
  }
};

}  // namespace

const Tensor& Checkpoint::tensor(const std::string& name, const std::string& what) const {
  auto it = tensors.find(name);
  if (it == tensors.end()) LATCO_FAIL(what << ": checkpoint has no tensor '" << name << "'");
  return it->second;
}

void Checkpoint::read_into(const std::string& name, Tensor& dst, const std::string& what) const {
  const Tensor& src = tensor(name, what);
  if (src.shape() != dst.shape())
    LATCO_FAIL(what << ": tensor '" << name << "' has shape " << shape_str(src.shape()) << " in the checkpoint, "
                    << shape_str(dst.shape()) << " in the model (different sizes in the config?)");
  dst.copy_from(src);
}

Rng Checkpoint::rng(const std::string& name, const std::string& what) const {
  auto it = rngs.find(name);
  if (it == rngs.end()) LATCO_FAIL(what << ": checkpoint has no random stream '" << name << "'");
  return it->second;
}

void save_checkpoint(const std::string& path, const Checkpoint& ck) {
  Writer w;
  w.pod(ck.grad_steps);
  w.pod(ck.env_steps);
  w.pod(ck.episodes);
  w.pod(static_cast<uint64_t>(ck.tensors.size()));
  for (const auto& [name, t] : ck.tensors) {
    w.str(name);
    w.pod(static_cast<uint32_t>(t.dim()));
    for (int d = 0; d < t.dim(); ++d) w.pod(static_cast<int64_t>(t.size(d)));
    std::vector<float> host = t.to_vector();
    w.buf.append(reinterpret_cast<const char*>(host.data()), host.size() * sizeof(float));
  }
  w.pod(static_cast<uint64_t>(ck.rngs.size()));
  for (const auto& [name, r] : ck.rngs) {
    w.str(name);
    w.pod(r.key());
    w.pod(r.counter());
  }
  w.pod(static_cast<uint64_t>(ck.notes.size()));
  for (const auto& [k, v] : ck.notes) {
    w.str(k);
    w.str(v);
  }

  Writer file;
  file.buf.append(kMagic, 8);
  file.pod(kCheckpointVersion);
  file.pod(static_cast<uint64_t>(w.buf.size()));
  file.buf.append(w.buf);
  file.pod(fnv1a(w.buf.data(), w.buf.size()));

  // Atomic replace: a reader sees the old file or the new one, never a partial one.
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) LATCO_FAIL(tmp << ": cannot create checkpoint file: " << std::strerror(errno));
  size_t off = 0;
  while (off < file.buf.size()) {
    ssize_t k = ::write(fd, file.buf.data() + off, file.buf.size() - off);
    if (k < 0) {
      ::close(fd);
      LATCO_FAIL(tmp << ": write failed: " << std::strerror(errno));
    }
    off += size_t(k);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) LATCO_FAIL(tmp << ": fsync/close failed: " << std::strerror(errno));
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    LATCO_FAIL(path << ": cannot rename " << tmp << " into place: " << std::strerror(errno));
  // Make the rename itself durable.
  const std::string dir = fs::path(path).parent_path().string();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

Checkpoint load_checkpoint(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) LATCO_FAIL(path << ": cannot open checkpoint");
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string data = ss.str();

  Reader hdr{data.data(), data.size(), 0, path};
  hdr.need(8, "magic");
  if (std::memcmp(data.data(), kMagic, 8) != 0) LATCO_FAIL(path << ": not a latco checkpoint (bad magic)");
  hdr.pos = 8;
  const uint32_t version = hdr.pod<uint32_t>("version");
  if (version != kCheckpointVersion)
    LATCO_FAIL(path << ": checkpoint version " << version << ", this build reads version " << kCheckpointVersion);
  const uint64_t size = hdr.pod<uint64_t>("payload size");
  if (size > data.size() || data.size() - hdr.pos != size + sizeof(uint64_t))
    LATCO_FAIL(path << ": checkpoint truncated or corrupted (header says " << size << " payload bytes, file has "
                    << data.size() << " bytes)");
  const char* payload = data.data() + hdr.pos;
  uint64_t sum;
  std::memcpy(&sum, payload + size, sizeof(sum));
  if (sum != fnv1a(payload, size)) LATCO_FAIL(path << ": checkpoint corrupted (checksum mismatch)");

  Checkpoint ck;
  Reader r{payload, size, 0, path};
  ck.grad_steps = r.pod<int64_t>("counters");
  ck.env_steps = r.pod<int64_t>("counters");
  ck.episodes = r.pod<int64_t>("counters");
  const uint64_t nt = r.pod<uint64_t>("tensor count");
  for (uint64_t i = 0; i < nt; ++i) {
    std::string name = r.str("tensor name");
    const uint32_t nd = r.pod<uint32_t>("tensor rank");
    if (nd > 8) LATCO_FAIL(path << ": checkpoint corrupted (tensor '" << name << "' has rank " << nd << ")");
    Shape shape;
    int64_t numel = 1;
    for (uint32_t d = 0; d < nd; ++d) {
      shape.push_back(r.pod<int64_t>("tensor dims"));
      const int64_t dim = shape.back();
      if (dim < 0 || (dim > 0 && numel > int64_t(size / sizeof(float)) / dim))
        LATCO_FAIL(path << ": checkpoint corrupted (tensor '" << name << "' dim " << dim << ")");
      numel *= dim;
    }
    r.need(size_t(numel) * sizeof(float), "tensor data");
    Tensor t(shape);
    std::memcpy(t.data(), payload + r.pos, size_t(numel) * sizeof(float));
    r.pos += size_t(numel) * sizeof(float);
    ck.tensors[name] = t;
  }
  const uint64_t nr = r.pod<uint64_t>("stream count");
  for (uint64_t i = 0; i < nr; ++i) {
    std::string name = r.str("stream name");
    const uint64_t key = r.pod<uint64_t>("stream key");
    const uint64_t counter = r.pod<uint64_t>("stream counter");
    Rng g;
    g.set_state(key, counter);
    ck.rngs[name] = g;
  }
  const uint64_t nn = r.pod<uint64_t>("note count");
  for (uint64_t i = 0; i < nn; ++i) {
    std::string k = r.str("note key");
    ck.notes[k] = r.str("note value");
  }
  if (r.pos != size) LATCO_FAIL(path << ": checkpoint corrupted (" << size - r.pos << " trailing payload bytes)");
  return ck;
}

std::string checkpoint_path(const std::string& dir, int64_t step) {
  char name[64];
  std::snprintf(name, sizeof(name), "ckpt-%09lld.bin", static_cast<long long>(step));
  return (fs::path(dir) / name).string();
}

namespace {
// (step, path) of every ckpt-*.bin in dir, oldest first.
std::vector<std::pair<int64_t, std::string>> list_checkpoints(const std::string& dir) {
  std::vector<std::pair<int64_t, std::string>> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    if (n.size() < 9 || n.rfind("ckpt-", 0) != 0 || n.substr(n.size() - 4) != ".bin") continue;
    const std::string digits = n.substr(5, n.size() - 9);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    out.emplace_back(std::stoll(digits), e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}
}  // namespace

std::string latest_checkpoint(const std::string& dir) {
  auto all = list_checkpoints(dir);
  return all.empty() ? "" : all.back().second;
}

void prune_checkpoints(const std::string& dir, int keep) {
  LATCO_CHECK(keep >= 1) << "keep at least one checkpoint, got " << keep;
  auto all = list_checkpoints(dir);
  for (size_t i = 0; i + keep < all.size(); ++i) {
    std::error_code ec;
    fs::remove(all[i].second, ec);
  }
}

}  // namespace latco
