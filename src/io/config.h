// Configs: a flat YAML subset, one `key: value` per line, `#` comments, blank
// lines. Command-line overrides `key=value` take precedence. Settings structs
// list their keys through visit(), so a struct mirrors its config keys one to
// one:
//   struct CemSettings {
//     int samples = 1000;  // action sequences per iteration
//     template <class V> void visit(V& v) { v("cem_samples", samples, 1, 10000000); }
//   };
//   cfg.apply(cem);          // reads the keys it knows; range- and type-checked
//   cfg.check_all_used();    // any key nobody asked for is an error: file, line, key
// `include: base.yaml` (relative path) loads a base file whose keys this file overrides.
// Not supported: nesting, lists, multi-line strings, anchors.
#pragma once
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <vector>

#include "core/error.h"

namespace latco {

class Config {
 public:
  struct Entry {
    std::string value;
    std::string source;  // file name, or "command line"
    int line = 0;        // 0 for command line
    mutable bool used = false;
  };

  Config() = default;
  static Config load(const std::string& path);                   // throws Error: file:line: ...
  static Config parse(const std::string& text, const std::string& source);
  void override_with(const std::string& key_eq_value);          // "key=value"
  void set(const std::string& key, const std::string& value);   // programmatic

  bool has(const std::string& key) const { return entries_.count(key) > 0; }
  const Entry* find(const std::string& key) const;
  std::string where(const std::string& key) const;  // "file.yaml line 12, key 'x'"

  // Typed getters (mark the key used); absent -> default. Errors name file, line, key.
  int64_t get_int(const std::string& key, int64_t def, int64_t lo = std::numeric_limits<int64_t>::min(),
                  int64_t hi = std::numeric_limits<int64_t>::max()) const;
  double get_double(const std::string& key, double def, double lo = -std::numeric_limits<double>::infinity(),
                    double hi = std::numeric_limits<double>::infinity()) const;
  bool get_bool(const std::string& key, bool def) const;
  std::string get_string(const std::string& key, const std::string& def) const;

  // Binds every field a settings struct lists in visit().
  template <class S>
  void apply(S& settings) const {
    if (recorder_) {
      std::vector<std::pair<std::string, std::string>> kv;
      Describer d{kv};
      settings.visit(d);
      for (auto& [k, v] : kv) recorder_->push_back({k, v, typeid(S).name()});
    }
    Binder b{*this};
    settings.visit(b);
  }
  // `latco CMD --help`: every field later applied to this config (or a copy) is also listed in
  // `out` with its value before binding, so a config with no entries lists the defaults.
  struct KeyRecord {
    std::string key, value;
    std::string owner;  // the settings struct's (mangled) type name
  };
  void record_keys(std::vector<KeyRecord>* out) { recorder_ = out; }
  // Writes `key: value` lines for every field of a settings struct (its current values).
  template <class S>
  static void describe(S& settings, std::vector<std::pair<std::string, std::string>>& out) {
    Describer d{out};
    settings.visit(d);
  }

  // Throws naming the file, line and key of the first key no one read.
  void check_all_used() const;
  const std::map<std::string, Entry>& entries() const { return entries_; }

 private:
  struct Binder {
    const Config& c;
    void operator()(const char* k, int& f, int64_t lo = std::numeric_limits<int>::min(), int64_t hi = std::numeric_limits<int>::max()) {
      f = static_cast<int>(c.get_int(k, f, lo, hi));
    }
    void operator()(const char* k, int64_t& f, int64_t lo = std::numeric_limits<int64_t>::min(), int64_t hi = std::numeric_limits<int64_t>::max()) {
      f = c.get_int(k, f, lo, hi);
    }
    void operator()(const char* k, uint64_t& f) { f = static_cast<uint64_t>(c.get_int(k, static_cast<int64_t>(f), 0)); }
    void operator()(const char* k, double& f, double lo = -std::numeric_limits<double>::infinity(), double hi = std::numeric_limits<double>::infinity()) {
      f = c.get_double(k, f, lo, hi);
    }
    void operator()(const char* k, float& f, double lo = -std::numeric_limits<double>::infinity(), double hi = std::numeric_limits<double>::infinity()) {
      f = static_cast<float>(c.get_double(k, f, lo, hi));
    }
    void operator()(const char* k, bool& f) { f = c.get_bool(k, f); }
    void operator()(const char* k, std::string& f) { f = c.get_string(k, f); }
  };
  struct Describer {
    std::vector<std::pair<std::string, std::string>>& out;
    template <class T, class... R>
    void operator()(const char* k, T& f, R...) { out.emplace_back(k, to_text(f)); }
    static std::string to_text(const std::string& s) { return s; }
    static std::string to_text(bool b) { return b ? "true" : "false"; }
    static std::string to_text(float f) { return num_text(f, 7); }
    template <class T>
    static std::string to_text(const T& v) {
      if constexpr (std::is_integral_v<T>) return std::to_string(v);
      else return num_text(static_cast<double>(v), 15);
    }
  };
  static std::string num_text(double v, int digits);
  static Config load_nested(const std::string& path, int depth);
  std::map<std::string, Entry> entries_;
  std::vector<KeyRecord>* recorder_ = nullptr;
};

}  // namespace latco
