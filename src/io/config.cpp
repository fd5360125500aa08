// Config loading and parsing (see config.h); files are read through read_file (io/byte_reader.h).
#include "io/config.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "io/byte_reader.h"

namespace latco {
namespace {

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

bool valid_key(const std::string& k) {
  if (k.empty()) return false;
  for (char c : k)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.')) return false;
  return true;
}

}  // namespace

Config Config::load(const std::string& path) { return load_nested(path, 0); }

// `include: other.yaml` (relative to the including file) loads that file first;
// keys of the including file then override it.
Config Config::load_nested(const std::string& path, int depth) {
  if (depth > 8) LATCO_FAIL(path << ": includes nested more than 8 deep (a cycle?)");
  // A regular file of at most 1 MiB: a directory, FIFO or device is an error naming it.
  const std::vector<uint8_t> bytes = read_file(path, uint64_t(1) << 20, "config file");
  Config own = parse(std::string(bytes.begin(), bytes.end()), path);
  auto inc = own.entries_.find("include");
  if (inc == own.entries_.end()) return own;
  const std::string& target = inc->second.value;
  if (target.empty()) LATCO_FAIL(own.where("include") << ": names no file");
  std::string dir = path.substr(0, path.find_last_of('/') + 1);
  Config base;
  try {
    base = load_nested(target.front() == '/' ? target : dir + target, depth + 1);
  } catch (const Error& e) {
    LATCO_FAIL(own.where("include") << ": " << e.what());
  }
  own.entries_.erase(inc);
  for (auto& [k, e] : own.entries_) base.entries_[k] = e;
  return base;
}

Config Config::parse(const std::string& text, const std::string& source) {
  Config c;
  std::istringstream in(text);
  std::string raw;
  int lineno = 0;
  while (std::getline(in, raw)) {
    ++lineno;
    std::string line = raw;
    // Strip comments that are not inside quotes.
    bool quoted = false;
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '"') quoted = !quoted;
      if (line[i] == '#' && !quoted) { line = line.substr(0, i); break; }
    }
    line = trim(line);
    if (line.empty()) continue;
    size_t colon = line.find(':');
    if (colon == std::string::npos)
      LATCO_FAIL(source << " line " << lineno << ": expected 'key: value', got '" << trim(raw) << "'");
    std::string key = trim(line.substr(0, colon));
    std::string value = trim(line.substr(colon + 1));
    if (!valid_key(key)) LATCO_FAIL(source << " line " << lineno << ": invalid key '" << key << "'");
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    if (c.entries_.count(key))
      LATCO_FAIL(source << " line " << lineno << ": key '" << key << "' repeated (first at line "
                        << c.entries_[key].line << ")");
    c.entries_[key] = Entry{value, source, lineno, false};
  }
  return c;
}

void Config::override_with(const std::string& kv) {
  size_t eq = kv.find('=');
  if (eq == std::string::npos) LATCO_FAIL("command line: expected key=value, got '" << kv << "'");
  std::string key = trim(kv.substr(0, eq));
  if (!valid_key(key)) LATCO_FAIL("command line: invalid key '" << key << "'");
  entries_[key] = Entry{trim(kv.substr(eq + 1)), "command line", 0, false};
}

void Config::set(const std::string& key, const std::string& value) {
  entries_[key] = Entry{value, "program", 0, false};
}

const Config::Entry* Config::find(const std::string& key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second;
}

std::string Config::where(const std::string& key) const {
  const Entry* e = find(key);
  std::ostringstream os;
  if (!e) os << "key '" << key << "'";
  else if (e->line > 0) os << e->source << " line " << e->line << ", key '" << key << "'";
  else os << e->source << ", key '" << key << "'";
  return os.str();
}

int64_t Config::get_int(const std::string& key, int64_t def, int64_t lo, int64_t hi) const {
  const Entry* e = find(key);
  if (!e) return def;
  e->used = true;
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(e->value.c_str(), &end, 10);
  if (e->value.empty() || *end != '\0' || errno)
    LATCO_FAIL(where(key) << ": expected an integer, got '" << e->value << "'");
  if (v < lo || v > hi) LATCO_FAIL(where(key) << ": " << v << " is out of range [" << lo << ", " << hi << "]");
  return v;
}

double Config::get_double(const std::string& key, double def, double lo, double hi) const {
  const Entry* e = find(key);
  if (!e) return def;
  e->used = true;
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(e->value.c_str(), &end);
  if (e->value.empty() || *end != '\0' || errno || !std::isfinite(v))
    LATCO_FAIL(where(key) << ": expected a number, got '" << e->value << "'");
  if (v < lo || v > hi) LATCO_FAIL(where(key) << ": " << v << " is out of range [" << lo << ", " << hi << "]");
  return v;
}

bool Config::get_bool(const std::string& key, bool def) const {
  const Entry* e = find(key);
  if (!e) return def;
  e->used = true;
  const std::string& v = e->value;
  if (v == "true" || v == "yes" || v == "1" || v == "on") return true;
  if (v == "false" || v == "no" || v == "0" || v == "off") return false;
  LATCO_FAIL(where(key) << ": expected true or false, got '" << v << "'");
}

std::string Config::get_string(const std::string& key, const std::string& def) const {
  const Entry* e = find(key);
  if (!e) return def;
  e->used = true;
  return e->value;
}

void Config::check_all_used() const {
  for (const auto& [k, e] : entries_)
    if (!e.used) LATCO_FAIL(where(k) << ": unknown key");
}

std::string Config::num_text(double v, int digits) {
  std::ostringstream os;
  os.precision(digits);
  os << v;
  return os.str();
}

}  // namespace latco
