// Checkpoint file layout (little-endian):
//   "LATCOCKP" (8 bytes) | version u32 | payload size u64 | payload | FNV-1a 64 of payload u64
// payload: grad_steps, env_steps, episodes (i64 each);
//   n_tensors u64, then per tensor: name (u32 length + bytes), ndim u32, dims i64[ndim], floats;
//   n_rngs u64, then per stream: name, key u64, counter u64;
//   n_notes u64, then per note: key, value (u32 length + bytes each).
#include "io/checkpoint.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/byte_reader.h"

namespace fs = std::filesystem;

namespace latco {
namespace {

const char kMagic[8] = {'L', 'A', 'T', 'C', 'O', 'C', 'K', 'P'};
constexpr uint64_t kMaxCheckpointBytes = uint64_t(64) << 30;  // refused before reading

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
  write_file_atomic(path, file.buf);
}

Checkpoint load_checkpoint(const std::string& path) {
  const std::vector<uint8_t> data = read_file(path, kMaxCheckpointBytes, "checkpoint");
  return parse_checkpoint(data, path);
}

Checkpoint parse_checkpoint(const std::vector<uint8_t>& data, const std::string& path) {
  ByteReader hdr(data, path);
  if (std::memcmp(hdr.take(8, "magic"), kMagic, 8) != 0) hdr.fail("not a latco checkpoint (bad magic)");
  const uint32_t version = hdr.u32("version");
  if (version != kCheckpointVersion)
    LATCO_FAIL(path << ": checkpoint version " << version << ", this build reads version " << kCheckpointVersion);
  const uint64_t size = hdr.u64("payload size");
  if (size > hdr.left() || hdr.left() - size != sizeof(uint64_t))
    LATCO_FAIL(path << ": checkpoint truncated or corrupted (header says " << size << " payload bytes, file has "
                    << data.size() << " bytes)");
  ByteReader r = hdr.sub(size, "payload", path);
  const uint64_t sum = hdr.u64("checksum");
  if (sum != fnv1a(reinterpret_cast<const char*>(data.data()) + 20, size_t(size)))
    LATCO_FAIL(path << ": checkpoint corrupted (checksum mismatch)");

  auto str = [&](const char* what) { return r.str(r.u32(what), what); };
  Checkpoint ck;
  ck.grad_steps = r.i64("counters");
  ck.env_steps = r.i64("counters");
  ck.episodes = r.i64("counters");
  if (ck.grad_steps < 0 || ck.env_steps < 0 || ck.episodes < 0) r.fail("checkpoint corrupted (negative counter)");
  const uint64_t nt = r.u64("tensor count");
  for (uint64_t i = 0; i < nt; ++i) {
    std::string name = str("tensor name");
    const uint32_t nd = r.u32("tensor rank");
    if (nd > 8) LATCO_FAIL(path << ": checkpoint corrupted (tensor '" << name << "' has rank " << nd << ")");
    Shape shape;
    uint64_t numel = 1;
    for (uint32_t d = 0; d < nd; ++d) {
      const int64_t dim = r.i64("tensor dims");
      if (dim < 0 || dim > (int64_t(1) << 40)) LATCO_FAIL(path << ": checkpoint corrupted (tensor '" << name << "' dim " << dim << ")");
      shape.push_back(dim);
      numel = checked_mul(numel, uint64_t(dim), path + ": tensor '" + name + "'");
    }
    const uint8_t* p = r.take(checked_mul(numel, sizeof(float), path + ": tensor '" + name + "'"), "tensor data");
    Tensor t(shape);
    std::memcpy(t.data(), p, size_t(numel) * sizeof(float));
    ck.tensors[name] = t;
  }
  const uint64_t nr = r.u64("stream count");
  for (uint64_t i = 0; i < nr; ++i) {
    std::string name = str("stream name");
    const uint64_t key = r.u64("stream key");
    const uint64_t counter = r.u64("stream counter");
    Rng g;
    g.set_state(key, counter);
    ck.rngs[name] = g;
  }
  const uint64_t nn = r.u64("note count");
  for (uint64_t i = 0; i < nn; ++i) {
    std::string k = str("note key");
    ck.notes[k] = str("note value");
  }
  if (r.left() != 0) LATCO_FAIL(path << ": checkpoint corrupted (" << r.left() << " trailing payload bytes)");
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
    if (digits.empty() || digits.size() > 18 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
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

std::string load_latest_intact(const std::string& dir, Checkpoint& ck, std::vector<std::string>* skipped) {
  auto all = list_checkpoints(dir);
  for (size_t i = all.size(); i-- > 0;) {
    try {
      ck = load_checkpoint(all[i].second);
      return all[i].second;
    } catch (const Error& e) {
      std::fprintf(stderr, "warning: %s; trying the previous checkpoint\n", e.what());
      if (skipped) skipped->push_back(e.what());
    }
  }
  return "";
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
