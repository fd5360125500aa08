// .npy encoding/decoding and a minimal stored-zip writer/reader for .npz
// (local headers, central directory, end record; ZIP64 extra fields are read so
// numpy.savez files load). Not here: deflate, multi-disk archives, encryption.
#include "io/npz.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <cctype>
#include <sstream>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/byte_reader.h"

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
  uint64_t n = 1;
  for (int64_t d : shape) {
    LATCO_CHECK(d >= 0) << "npy shape has a negative dimension " << d;
    n = checked_mul(n, uint64_t(d), "npy shape");
  }
  return int64_t(n);
}

int NpyArray::item_size() const {
  // '<f4', '|u1', '<i8': byte order, kind letter, size in bytes (1 to 16).
  if (descr.size() >= 3 && descr.size() <= 4 && std::isalpha(static_cast<unsigned char>(descr[1]))) {
    int k = 0;
    for (size_t i = 2; i < descr.size(); ++i) {
      if (!std::isdigit(static_cast<unsigned char>(descr[i]))) k = -1;
      if (k >= 0) k = k * 10 + (descr[i] - '0');
    }
    if (k == 1 || k == 2 || k == 4 || k == 8 || k == 16) return k;
  }
  LATCO_FAIL("bad npy descr '" << descr << "'");
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
  const uint8_t magic[8] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  std::vector<uint8_t> out(magic, magic + 8);
  out.reserve(10 + hs.size() + a.bytes.size());
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
  ByteReader r(p, n, where);
  const uint8_t* magic = r.take(8, ".npy magic");
  if (magic[0] != 0x93 || std::memcmp(magic + 1, "NUMPY", 5) != 0) r.fail("not a .npy array (bad magic)");
  const int major = magic[6];
  if (major < 1 || major > 3) r.fail(".npy format version " + std::to_string(major) + " is not supported");
  const uint64_t hlen = major == 1 ? r.u16(".npy header length") : r.u32(".npy header length");
  if (hlen > 65536) r.fail(".npy header of " + std::to_string(hlen) + " bytes (corrupt?)");
  const std::string h = r.str(hlen, ".npy header");
  NpyArray a;
  std::string d = dict_value(h, "descr", where);
  LATCO_CHECK(d.size() >= 5 && d.front() == '\'' && d.back() == '\'') << where << ": bad descr " << d;
  a.descr = d.substr(1, d.size() - 2);
  LATCO_CHECK(a.descr[0] == '<' || a.descr[0] == '|') << where << ": only little-endian arrays, got " << a.descr;
  LATCO_CHECK(dict_value(h, "fortran_order", where) == "False") << where << ": Fortran-order arrays unsupported";
  std::string s = dict_value(h, "shape", where);
  LATCO_CHECK(s.size() >= 2 && s.front() == '(' && s.back() == ')') << where << ": bad shape " << s;
  for (size_t i = 1; i + 1 < s.size();) {
    while (i + 1 < s.size() && (s[i] == ' ' || s[i] == ',')) ++i;
    if (i + 1 >= s.size()) break;
    size_t j = i;
    while (j + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
    LATCO_CHECK(j > i && j - i <= 18) << where << ": bad shape " << s;
    a.shape.push_back(std::stoll(s.substr(i, j - i)));  // at most 18 digits: fits
    LATCO_CHECK(a.shape.size() <= 32) << where << ": more than 32 dimensions in shape " << s;
    i = j;
  }
  int item = 0;
  try {
    item = a.item_size();
  } catch (const Error& e) {
    r.fail(e.what());
  }
  const uint64_t nbytes = checked_mul(uint64_t(a.numel()), uint64_t(item), where + ": shape " + s);
  if (nbytes > r.left())
    r.fail("truncated data (" + std::to_string(r.left()) + " of " + std::to_string(nbytes) + " bytes for shape " + s +
           ")");
  const uint8_t* data = r.take(nbytes, "array data");
  a.bytes.assign(data, data + nbytes);
  return a;
}

// ----- stored zip -----
namespace {
void put16(std::vector<uint8_t>& o, uint32_t v) { o.push_back(v & 0xFF); o.push_back((v >> 8) & 0xFF); }
void put32(std::vector<uint8_t>& o, uint32_t v) { put16(o, v & 0xFFFF); put16(o, v >> 16); }
// Episode files larger than this are refused before reading (a 1000-step 64x64 episode is 12 MB).
constexpr uint64_t kMaxNpzBytes = uint64_t(8) << 30;
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

  write_file_atomic(path, out.data(), out.size());
}

std::map<std::string, NpyArray> read_npz(const std::string& path) {
  const std::vector<uint8_t> buf = read_file(path, kMaxNpzBytes, "episode file");
  return parse_npz(buf.data(), buf.size(), path);
}

std::map<std::string, NpyArray> parse_npz(const uint8_t* bytes, size_t n, const std::string& path) {
  ByteReader r(bytes, n, path);
  // End of central directory: the last signature within the final 64 KiB + 22 bytes.
  size_t eocd = std::string::npos;
  if (n >= 22)
    for (size_t i = n - 22 + 1; i-- > 0 && n - i <= 65557;)
      if (r.u32_at(i, "end record") == 0x06054b50) { eocd = i; break; }
  if (eocd == std::string::npos) r.fail("not a zip/npz file or truncated (no end-of-directory record)");
  r.seek(eocd + 10, "end record");
  uint64_t count = r.u16("entry count");
  uint64_t cd_size = r.u32("central directory size");
  uint64_t cd_off = r.u32("central directory offset");
  if (cd_off == 0xFFFFFFFFu || cd_size == 0xFFFFFFFFu || count == 0xFFFF) {
    // ZIP64: the locator just before the end record points at the ZIP64 end record.
    if (eocd < 20 || r.u32_at(eocd - 20, "ZIP64 locator") != 0x07064b50) r.fail("corrupt ZIP64 locator");
    r.seek(eocd - 20 + 8, "ZIP64 locator");
    const uint64_t z = r.u64("ZIP64 end record offset");
    r.seek(z, "ZIP64 end record offset");
    r.need(56, "ZIP64 end record");
    if (r.u32("ZIP64 end record") != 0x06064b50) r.fail("corrupt ZIP64 end record");
    r.seek(z + 32, "ZIP64 end record");
    count = r.u64("entry count");
    cd_size = r.u64("central directory size");
    cd_off = r.u64("central directory offset");
  }
  if (checked_add(cd_off, cd_size, path) > n) r.fail("truncated or corrupt (central directory past the end)");
  if (count > cd_size / 46) r.fail("corrupt (" + std::to_string(count) + " entries cannot fit the central directory)");
  r.seek(cd_off, "central directory offset");
  ByteReader cd = r.sub(cd_size, "central directory", path + " (central directory)");
  std::map<std::string, NpyArray> out;
  for (uint64_t e = 0; e < count; ++e) {
    if (cd.u32("central directory entry") != 0x02014b50) r.fail("corrupt central directory entry " + std::to_string(e));
    cd.skip(6, "central directory entry");
    const uint32_t method = cd.u16("compression method");
    cd.skip(4, "central directory entry");
    const uint32_t crc = cd.u32("CRC");
    uint64_t csize = cd.u32("compressed size"), usize = cd.u32("size");
    const uint32_t nlen = cd.u16("name length"), xlen = cd.u16("extra length"), clen = cd.u16("comment length");
    cd.skip(8, "central directory entry");
    uint64_t loff = cd.u32("local header offset");
    const std::string name = cd.str(nlen, "member name");
    // ZIP64 extra field (id 1): 64-bit sizes/offset for the fields that read 0xFFFFFFFF, in this order.
    ByteReader extra = cd.sub(xlen, "extra field", path + ": member " + name + " extra field");
    while (extra.left() >= 4) {
      const uint32_t id = extra.u16("extra id"), sz = extra.u16("extra size");
      ByteReader field = extra.sub(sz, "extra field", path + ": member " + name + " ZIP64 field");
      if (id != 1) continue;
      if (usize == 0xFFFFFFFFu) usize = field.u64("ZIP64 size");
      if (csize == 0xFFFFFFFFu) csize = field.u64("ZIP64 compressed size");
      if (loff == 0xFFFFFFFFu) loff = field.u64("ZIP64 offset");
    }
    cd.skip(clen, "member comment");
    if (method != 0)
      r.fail("member " + name + " is compressed (method " + std::to_string(method) +
             "); only stored npz files (numpy.savez, not savez_compressed) are supported");
    if (csize != usize) r.fail("member " + name + " has stored size " + std::to_string(csize) + " but size " +
                               std::to_string(usize) + " (corrupt)");
    r.seek(loff, ("local header of " + name).c_str());
    if (r.u32("local header") != 0x04034b50) r.fail("corrupt local header of " + name);
    r.skip(22, "local header");
    const uint32_t lname = r.u16("local name length"), lextra = r.u16("local extra length");
    r.skip(uint64_t(lname) + lextra, "local header");
    if (csize > r.left())
      r.fail("truncated (member " + name + " needs " + std::to_string(csize) + " bytes at " + std::to_string(r.pos()) +
             ", file has " + std::to_string(n) + ")");
    const uint8_t* data = r.take(csize, "member data");
    if (crc32(data, size_t(csize)) != crc) r.fail("CRC mismatch in member " + name + " (corrupt file)");
    std::string key = name.size() > 4 && name.substr(name.size() - 4) == ".npy" ? name.substr(0, name.size() - 4) : name;
    if (out.count(key)) r.fail("member " + name + " appears twice");
    out[key] = npy_decode(data, size_t(csize), path + ":" + name);
  }
  return out;
}

}  // namespace latco
