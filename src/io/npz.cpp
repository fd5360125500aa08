// .npy encoding/decoding and a minimal stored-zip writer/reader for .npz
// (local headers, central directory, end record; ZIP64 extra fields are read so
// numpy.savez files load). Not here: deflate, multi-disk archives, encryption.
#include "io/npz.h"

#include <dirent.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace latco {

// ----- CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) -----
uint32_t crc32(const uint8_t* data, size_t n, uint32_t crc) {
  static uint32_t table[256];
  static bool init = [] {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      table[i] = c;
    }
    return true;
  }();
  (void)init;
  crc = ~crc;
  for (size_t i = 0; i < n; ++i) crc = table[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

int64_t NpyArray::numel() const {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

int NpyArray::item_size() const {
  LATCO_CHECK(descr.size() >= 3) << "bad npy descr '" << descr << "'";
  return std::atoi(descr.c_str() + 2);
}

// ----- .npy -----
std::vector<uint8_t> npy_encode(const NpyArray& a) {
  LATCO_CHECK(static_cast<int64_t>(a.bytes.size()) == a.numel() * a.item_size())
      << "npy_encode: " << a.bytes.size() << " bytes for " << a.numel() << " items of " << a.descr;
  std::ostringstream h;
  h << "{'descr': '" << a.descr << "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < a.shape.size(); ++i) h << a.shape[i] << (a.shape.size() == 1 ? "," : (i + 1 < a.shape.size() ? ", " : ""));
  h << "), }";
  std::string hs = h.str();
  // magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple of 64, '\n' last.
  size_t total = 10 + hs.size() + 1;
  size_t padded = (total + 63) / 64 * 64;
  hs.append(padded - total, ' ');
  hs.push_back('\n');
  std::vector<uint8_t> out;
  out.reserve(10 + hs.size() + a.bytes.size());
  const uint8_t magic[8] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  out.insert(out.end(), magic, magic + 8);
  out.push_back(static_cast<uint8_t>(hs.size() & 0xFF));
  out.push_back(static_cast<uint8_t>(hs.size() >> 8));
  out.insert(out.end(), hs.begin(), hs.end());
  out.insert(out.end(), a.bytes.begin(), a.bytes.end());
  return out;
}

namespace {
// Value of `'key': ...` in a numpy header dict, up to the next top-level comma.
std::string dict_value(const std::string& h, const std::string& key, const std::string& where) {
  size_t k = h.find("'" + key + "'");
  LATCO_CHECK(k != std::string::npos) << where << ": npy header has no '" << key << "': " << h;
  size_t c = h.find(':', k);
  LATCO_CHECK(c != std::string::npos) << where << ": malformed npy header: " << h;
  size_t b = c + 1;
  while (b < h.size() && h[b] == ' ') ++b;
  size_t e = b;
  if (b < h.size() && h[b] == '(') {
    e = h.find(')', b);
    LATCO_CHECK(e != std::string::npos) << where << ": malformed shape in npy header: " << h;
    return h.substr(b, e - b + 1);
  }
  while (e < h.size() && h[e] != ',' && h[e] != '}') ++e;
  return h.substr(b, e - b);
}
}  // namespace

NpyArray npy_decode(const uint8_t* p, size_t n, const std::string& where) {
  LATCO_CHECK(n >= 10 && p[0] == 0x93 && std::memcmp(p + 1, "NUMPY", 5) == 0) << where << ": not a .npy array";
  int major = p[6];
  size_t hlen, off;
  if (major == 1) {
    hlen = p[8] | (p[9] << 8);
    off = 10;
  } else {
    LATCO_CHECK(n >= 12) << where << ": truncated .npy header";
    hlen = p[8] | (p[9] << 8) | (static_cast<size_t>(p[10]) << 16) | (static_cast<size_t>(p[11]) << 24);
    off = 12;
  }
  LATCO_CHECK(off + hlen <= n) << where << ": truncated .npy header";
  std::string h(reinterpret_cast<const char*>(p + off), hlen);
  NpyArray a;
  std::string d = dict_value(h, "descr", where);
  LATCO_CHECK(d.size() >= 5 && d.front() == '\'' && d.back() == '\'') << where << ": bad descr " << d;
  a.descr = d.substr(1, d.size() - 2);
  LATCO_CHECK(a.descr[0] == '<' || a.descr[0] == '|') << where << ": only little-endian arrays, got " << a.descr;
  LATCO_CHECK(dict_value(h, "fortran_order", where) == "False") << where << ": Fortran-order arrays unsupported";
  std::string s = dict_value(h, "shape", where);
  for (size_t i = 1; i + 1 < s.size();) {
    while (i + 1 < s.size() && (s[i] == ' ' || s[i] == ',')) ++i;
    if (i + 1 >= s.size()) break;
    size_t j = i;
    while (j + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
    LATCO_CHECK(j > i) << where << ": bad shape " << s;
    a.shape.push_back(std::stoll(s.substr(i, j - i)));
    i = j;
  }
  size_t nbytes = static_cast<size_t>(a.numel() * a.item_size());
  LATCO_CHECK(off + hlen + nbytes <= n) << where << ": truncated data (" << (n - off - hlen) << " of " << nbytes
                                        << " bytes)";
  a.bytes.assign(p + off + hlen, p + off + hlen + nbytes);
  return a;
}

// ----- stored zip -----
namespace {
void put16(std::vector<uint8_t>& o, uint32_t v) { o.push_back(v & 0xFF); o.push_back((v >> 8) & 0xFF); }
void put32(std::vector<uint8_t>& o, uint32_t v) { put16(o, v & 0xFFFF); put16(o, v >> 16); }
uint32_t get16(const uint8_t* p) { return p[0] | (p[1] << 8); }
uint32_t get32(const uint8_t* p) { return get16(p) | (static_cast<uint32_t>(get16(p + 2)) << 16); }
uint64_t get64(const uint8_t* p) { return get32(p) | (static_cast<uint64_t>(get32(p + 4)) << 32); }
}  // namespace

void write_npz(const std::string& path, const std::vector<std::pair<std::string, NpyArray>>& arrays) {
  std::vector<uint8_t> out, central;
  for (const auto& [key, arr] : arrays) {
    std::vector<uint8_t> body = npy_encode(arr);
    LATCO_CHECK(body.size() < 0xFFFFFFFFull && out.size() < 0xFFFFFFFFull)
        << path << ": member " << key << " too large for a zip without ZIP64";
    std::string name = key + ".npy";
    uint32_t crc = crc32(body.data(), body.size());
    uint32_t offset = static_cast<uint32_t>(out.size());
    // Local file header.
    put32(out, 0x04034b50); put16(out, 20); put16(out, 0); put16(out, 0);  // version, flags, method stored
    put16(out, 0); put16(out, 0x21);                                       // time, date (1980-01-01)
    put32(out, crc); put32(out, static_cast<uint32_t>(body.size())); put32(out, static_cast<uint32_t>(body.size()));
    put16(out, static_cast<uint32_t>(name.size())); put16(out, 0);
    out.insert(out.end(), name.begin(), name.end());
    out.insert(out.end(), body.begin(), body.end());
    // Central directory entry.
    put32(central, 0x02014b50); put16(central, 20); put16(central, 20); put16(central, 0); put16(central, 0);
    put16(central, 0); put16(central, 0x21);
    put32(central, crc); put32(central, static_cast<uint32_t>(body.size()));
    put32(central, static_cast<uint32_t>(body.size()));
    put16(central, static_cast<uint32_t>(name.size())); put16(central, 0); put16(central, 0);
    put16(central, 0); put16(central, 0); put32(central, 0); put32(central, offset);
    central.insert(central.end(), name.begin(), name.end());
  }
  uint32_t cd_offset = static_cast<uint32_t>(out.size());
  out.insert(out.end(), central.begin(), central.end());
  put32(out, 0x06054b50); put16(out, 0); put16(out, 0);
  put16(out, static_cast<uint32_t>(arrays.size())); put16(out, static_cast<uint32_t>(arrays.size()));
  put32(out, static_cast<uint32_t>(central.size())); put32(out, cd_offset); put16(out, 0);

  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary);
    LATCO_CHECK(f.good()) << "cannot open " << tmp << " for writing";
    f.write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(out.size()));
    f.flush();
    LATCO_CHECK(f.good()) << "write to " << tmp << " failed (disk full?)";
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    LATCO_FAIL("cannot rename " << tmp << " to " << path);
  }
}

std::map<std::string, NpyArray> read_npz(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  LATCO_CHECK(f.good()) << "cannot open episode file " << path;
  std::vector<uint8_t> buf((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const size_t n = buf.size();
  const uint8_t* p = buf.data();
  // End of central directory: the last signature within the final 64 KiB + 22 bytes.
  size_t eocd = std::string::npos;
  for (size_t i = n >= 22 ? n - 22 + 1 : 0; i-- > 0 && n - i <= 65557;)
    if (get32(p + i) == 0x06054b50) { eocd = i; break; }
  LATCO_CHECK(eocd != std::string::npos) << path << ": not a zip/npz file or truncated (no end-of-directory record)";
  uint64_t count = get16(p + eocd + 10), cd_size = get32(p + eocd + 12), cd_off = get32(p + eocd + 16);
  if (cd_off == 0xFFFFFFFFu || count == 0xFFFF) {
    // ZIP64: locator just before the end record points at the ZIP64 end record.
    LATCO_CHECK(eocd >= 20 && get32(p + eocd - 20) == 0x07064b50) << path << ": corrupt ZIP64 locator";
    uint64_t z = get64(p + eocd - 20 + 8);
    LATCO_CHECK(z + 56 <= n && get32(p + z) == 0x06064b50) << path << ": corrupt ZIP64 end record";
    count = get64(p + z + 32);
    cd_size = get64(p + z + 40);
    cd_off = get64(p + z + 48);
  }
  LATCO_CHECK(cd_off + cd_size <= n) << path << ": truncated or corrupt (central directory past the end)";
  std::map<std::string, NpyArray> out;
  size_t q = cd_off;
  for (uint64_t e = 0; e < count; ++e) {
    LATCO_CHECK(q + 46 <= n && get32(p + q) == 0x02014b50) << path << ": corrupt central directory entry " << e;
    uint32_t method = get16(p + q + 10), crc = get32(p + q + 16);
    uint64_t csize = get32(p + q + 20), usize = get32(p + q + 24), loff = get32(p + q + 42);
    uint32_t nlen = get16(p + q + 28), xlen = get16(p + q + 30), clen = get16(p + q + 32);
    LATCO_CHECK(q + 46 + nlen + xlen + clen <= n) << path << ": corrupt central directory entry " << e;
    std::string name(reinterpret_cast<const char*>(p + q + 46), nlen);
    // ZIP64 extra field (id 1): 64-bit sizes/offset for the fields that read 0xFFFFFFFF, in this order.
    for (size_t x = q + 46 + nlen; x + 4 <= q + 46 + nlen + xlen;) {
      uint32_t id = get16(p + x), sz = get16(p + x + 2);
      if (id == 1) {
        size_t y = x + 4;
        if (usize == 0xFFFFFFFFu) { usize = get64(p + y); y += 8; }
        if (csize == 0xFFFFFFFFu) { csize = get64(p + y); y += 8; }
        if (loff == 0xFFFFFFFFu) { loff = get64(p + y); }
      }
      x += 4 + sz;
    }
    LATCO_CHECK(method == 0) << path << ": member " << name << " is compressed (method " << method
                             << "); only stored npz files (numpy.savez, not savez_compressed) are supported";
    LATCO_CHECK(loff + 30 <= n && get32(p + loff) == 0x04034b50) << path << ": corrupt local header of " << name;
    size_t data = loff + 30 + get16(p + loff + 26) + get16(p + loff + 28);
    LATCO_CHECK(data + csize <= n) << path << ": truncated (member " << name << " needs " << csize << " bytes at "
                                   << data << ", file has " << n << ")";
    LATCO_CHECK(crc32(p + data, csize) == crc) << path << ": CRC mismatch in member " << name << " (corrupt file)";
    std::string key = name.size() > 4 && name.substr(name.size() - 4) == ".npy" ? name.substr(0, name.size() - 4) : name;
    out[key] = npy_decode(p + data, csize, path + ":" + name);
    q += 46 + nlen + xlen + clen;
  }
  return out;
}

// ----- episodes -----
void Episode::append(const uint8_t* img, const float* act, float rew, bool succ) {
  LATCO_CHECK(H > 0 && W > 0 && A > 0) << "Episode::append: set H, W, A first";
  image.insert(image.end(), img, img + static_cast<size_t>(H) * W * 3);
  for (int i = 0; i < A; ++i) action.push_back(act ? act[i] : 0.0f);
  reward.push_back(rew);
  success.push_back(succ ? 1 : 0);
  ++T;
}

float Episode::total_reward() const {
  float s = 0;
  for (float r : reward) s += r;
  return s;
}

bool Episode::any_success() const { return std::any_of(success.begin(), success.end(), [](uint8_t s) { return s != 0; }); }

void save_episode(const std::string& path, const Episode& e) {
  LATCO_CHECK(e.T > 0) << "save_episode " << path << ": empty episode";
  auto raw = [](const void* p, size_t n) {
    const uint8_t* b = static_cast<const uint8_t*>(p);
    return std::vector<uint8_t>(b, b + n);
  };
  std::vector<std::pair<std::string, NpyArray>> a;
  a.push_back({"image", {"|u1", {e.T, e.H, e.W, 3}, e.image}});
  a.push_back({"action", {"<f4", {e.T, e.A}, raw(e.action.data(), e.action.size() * 4)}});
  a.push_back({"reward", {"<f4", {e.T}, raw(e.reward.data(), e.reward.size() * 4)}});
  a.push_back({"success", {"|b1", {e.T}, e.success}});
  write_npz(path, a);
}

Episode load_episode(const std::string& path) {
  auto m = read_npz(path);
  for (const char* k : {"image", "action", "reward", "success"})
    LATCO_CHECK(m.count(k)) << path << ": episode file has no '" << k << "' array";
  const NpyArray &im = m["image"], &ac = m["action"], &rw = m["reward"], &su = m["success"];
  LATCO_CHECK(im.descr == "|u1" && im.shape.size() == 4 && im.shape[3] == 3)
      << path << ": 'image' must be uint8 (T, H, W, 3), got " << im.descr << " with " << im.shape.size() << " dims";
  Episode e;
  e.T = static_cast<int>(im.shape[0]);
  e.H = static_cast<int>(im.shape[1]);
  e.W = static_cast<int>(im.shape[2]);
  LATCO_CHECK(ac.descr == "<f4" && ac.shape.size() == 2 && ac.shape[0] == e.T)
      << path << ": 'action' must be float32 (T, A) with T = " << e.T;
  e.A = static_cast<int>(ac.shape[1]);
  LATCO_CHECK(rw.descr == "<f4" && rw.shape.size() == 1 && rw.shape[0] == e.T)
      << path << ": 'reward' must be float32 (T) with T = " << e.T;
  LATCO_CHECK((su.descr == "|b1" || su.descr == "|u1") && su.shape.size() == 1 && su.shape[0] == e.T)
      << path << ": 'success' must be bool or uint8 (T) with T = " << e.T;
  e.image = im.bytes;
  e.action.resize(ac.numel());
  std::memcpy(e.action.data(), ac.bytes.data(), ac.bytes.size());
  e.reward.resize(rw.numel());
  std::memcpy(e.reward.data(), rw.bytes.data(), rw.bytes.size());
  e.success = su.bytes;
  for (uint8_t& s : e.success) s = s ? 1 : 0;
  return e;
}

std::vector<std::string> list_episode_files(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  LATCO_CHECK(d != nullptr) << "cannot open episode folder " << dir;
  std::vector<std::string> files;
  while (dirent* ent = readdir(d)) {
    std::string n = ent->d_name;
    if (n.size() > 4 && n.substr(n.size() - 4) == ".npz") files.push_back(dir + "/" + n);
  }
  closedir(d);
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<Episode> load_episode_dir(const std::string& dir) {
  std::vector<std::string> files = list_episode_files(dir);
  LATCO_CHECK(!files.empty()) << "episode folder " << dir << " holds no .npz files";
  std::vector<Episode> out;
  for (const auto& f : files) out.push_back(load_episode(f));
  return out;
}

}  // namespace latco
