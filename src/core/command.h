// Subcommands of the `latco` binary and benchmarks register themselves here,
// from the file that implements them, so main.cpp never changes:
//   LATCO_COMMAND(collect, "collect episodes: --task T --policy scripted|random ...") { ...; return 0; }
//   LATCO_BENCH(gemm) { ...; bench_print("gemm_gflops_256", g, "GFLOPS"); }
#pragma once
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace latco {

// Parsed command line: `--flag value`, `--switch`, `key=value` overrides, positionals.
struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> flags;  // "--threads 2" -> flags["threads"] = "2"
  std::vector<std::string> overrides;        // "key=value"
  std::set<std::string> switches;             // flags given without a value ("--resume")
  mutable std::map<std::string, bool> read;

  static Args parse(int argc, char** argv, int first);
  bool has(const std::string& flag) const;
  std::string get(const std::string& flag, const std::string& def = "") const;
  // Checked numbers: the whole text must parse, in [lo, hi] (int: a 32-bit int by default);
  // a flag that counts things (--episodes, --threads, --cols, ...) has the same sensible range
  // in every command (at least 1; --every at least 0), --noise is at least 0; nan and inf are
  // never accepted.
  int64_t get_int(const std::string& flag, int64_t def, int64_t lo = -2147483648LL, int64_t hi = 2147483647LL) const;
  double get_double(const std::string& flag, double def, double lo = -1e300, double hi = 1e300) const;
  void check_all_read(const std::string& command) const;  // unknown flag -> Error
};

using CommandFn = std::function<int(const Args&)>;
bool register_command(const std::string& name, const std::string& help, CommandFn fn);
bool register_bench(const std::string& name, CommandFn fn);
const std::map<std::string, std::pair<std::string, CommandFn>>& commands();
const std::map<std::string, CommandFn>& benches();
// Runs a registered command as `latco name args...` would, in this process (errors propagate).
int run_command(const std::string& name, std::vector<std::string> args);

// One benchmark figure: "name value unit".
void bench_print(const std::string& name, double value, const std::string& unit);

}  // namespace latco

#define LATCO_CAT2_(a, b) a##b
#define LATCO_CAT_(a, b) LATCO_CAT2_(a, b)
#define LATCO_COMMAND(name, help)                                                         \
  static int LATCO_CAT_(latco_cmd_, name)(const ::latco::Args& args);                    \
  static bool LATCO_CAT_(latco_cmd_reg_, name) =                                          \
      ::latco::register_command(#name, help, LATCO_CAT_(latco_cmd_, name));               \
  static int LATCO_CAT_(latco_cmd_, name)(const ::latco::Args& args)
#define LATCO_BENCH(name)                                                                 \
  static int LATCO_CAT_(latco_bench_, name)(const ::latco::Args& args);                  \
  static bool LATCO_CAT_(latco_bench_reg_, name) =                                        \
      ::latco::register_bench(#name, LATCO_CAT_(latco_bench_, name));                     \
  static int LATCO_CAT_(latco_bench_, name)(const ::latco::Args& args)
