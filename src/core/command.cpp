#include "core/command.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "core/error.h"

namespace latco {
namespace {
std::map<std::string, std::pair<std::string, CommandFn>>& command_table() {
  static std::map<std::string, std::pair<std::string, CommandFn>> t;
  return t;
}
std::map<std::string, CommandFn>& bench_table() {
  static std::map<std::string, CommandFn> t;
  return t;
}
}  // namespace

Args Args::parse(int argc, char** argv, int first) {
  Args a;
  for (int i = first; i < argc; ++i) {
    std::string s = argv[i];
    if (s.rfind("--", 0) == 0) {
      std::string name = s.substr(2), value = "true";
      size_t eq = name.find('=');
      if (eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      } else if (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0 &&
                 std::string(argv[i + 1]).find('=') == std::string::npos) {
        value = argv[++i];
      } else {
        a.switches.insert(name);  // no value: a switch; get() of it is an error
      }
      a.flags[name] = value;
    } else if (s.find('=') != std::string::npos) {
      a.overrides.push_back(s);
    } else {
      a.positional.push_back(s);
    }
  }
  return a;
}

bool Args::has(const std::string& f) const {
  read[f] = true;
  return flags.count(f) > 0;
}
std::string Args::get(const std::string& f, const std::string& def) const {
  read[f] = true;
  auto it = flags.find(f);
  if (it == flags.end()) return def;
  if (switches.count(f))
    LATCO_FAIL("--" << f << " needs a value (a key=value after it is a config override, not its value)");
  return it->second;
}

namespace {
// Flags that count things mean the same in every command: the range of values that make sense.
std::pair<int64_t, int64_t> count_range(const std::string& f) {
  constexpr int64_t kInt = std::numeric_limits<int>::max();
  static const std::map<std::string, std::pair<int64_t, int64_t>> ranges = {
      {"episodes", {1, kInt}}, {"threads", {1, 1024}},  {"repeats", {1, kInt}}, {"reps", {1, kInt}},
      {"cols", {1, 10000}},    {"scale", {1, 64}},      {"size", {1, 4096}},    {"hold", {1, kInt}},
      {"horizon", {1, kInt}},  {"steps", {1, kInt}},    {"samples", {1, kInt}}, {"batch", {1, kInt}},
      {"every", {0, kInt}},    {"plan-iterations", {1, kInt}}};
  auto it = ranges.find(f);
  return it == ranges.end() ? std::make_pair(std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max())
                            : it->second;
}
}  // namespace

int64_t Args::get_int(const std::string& f, int64_t def, int64_t lo, int64_t hi) const {
  std::string v = get(f, "");
  if (v.empty()) return def;
  lo = std::max(lo, count_range(f).first);
  hi = std::min(hi, count_range(f).second);
  if (f == "seed") lo = std::max<int64_t>(lo, 0), hi = std::numeric_limits<int64_t>::max();  // any 63-bit seed
  errno = 0;
  char* end = nullptr;
  long long x = std::strtoll(v.c_str(), &end, 10);
  if (*end || errno == ERANGE) LATCO_FAIL("--" << f << ": expected an integer, got '" << v << "'");
  if (x < lo || x > hi) LATCO_FAIL("--" << f << ": " << x << " is out of range [" << lo << ", " << hi << "]");
  return x;
}
double Args::get_double(const std::string& f, double def, double lo, double hi) const {
  std::string v = get(f, "");
  if (v.empty()) return def;
  if (f == "noise") lo = std::max(lo, 0.0);
  errno = 0;
  char* end = nullptr;
  double x = std::strtod(v.c_str(), &end);
  if (*end || errno == ERANGE || !std::isfinite(x)) LATCO_FAIL("--" << f << ": expected a number, got '" << v << "'");
  if (x < lo || x > hi) LATCO_FAIL("--" << f << ": " << x << " is out of range [" << lo << ", " << hi << "]");
  return x;
}
void Args::check_all_read(const std::string& command) const {
  for (const auto& [k, v] : flags)
    if (!read.count(k)) LATCO_FAIL(command << ": unknown option --" << k);
}

bool register_command(const std::string& name, const std::string& help, CommandFn fn) {
  command_table()[name] = {help, std::move(fn)};
  return true;
}
bool register_bench(const std::string& name, CommandFn fn) {
  bench_table()[name] = std::move(fn);
  return true;
}
const std::map<std::string, std::pair<std::string, CommandFn>>& commands() { return command_table(); }
const std::map<std::string, CommandFn>& benches() { return bench_table(); }

int run_command(const std::string& name, std::vector<std::string> args) {
  auto it = command_table().find(name);
  LATCO_CHECK(it != command_table().end()) << "unknown command '" << name << "'";
  args.insert(args.begin(), {"latco", name});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(&a[0]);
  return it->second.second(Args::parse(static_cast<int>(argv.size()), argv.data(), 2));
}

void bench_print(const std::string& name, double value, const std::string& unit) {
  std::printf("%s %.6g %s\n", name.c_str(), value, unit.c_str());
  std::fflush(stdout);
}

}  // namespace latco
