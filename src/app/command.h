// Subcommands of the `latco` binary and benchmarks register themselves here,
// from the file that implements them, so main.cpp never changes:
//   LATCO_COMMAND(collect, "collect episodes: --task T --policy scripted|random ...") { ...; return 0; }
//   LATCO_BENCH(gemm) { ...; bench_print("gemm_gflops_256", g, "GFLOPS"); }
// and describe themselves for `latco CMD --help` (usage, flags, the config keys they read):
//   LATCO_COMMAND_HELP(collect, {"latco collect --task T --out DIR [...]", {{"--task", "", "..."}}, ""});
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

// One line of a command's help: a flag or a config key, its default and its meaning.
struct HelpLine {
  std::string name, value, meaning;  // value: the default ("" for a required flag or no default)
};
struct CommandHelp {
  std::string usage;            // "latco train --config FILE [--out DIR] [key=value ...]"
  std::vector<HelpLine> flags;  // every --flag the command reads
  std::string positional;       // what positional arguments mean; "" = the command takes none
  // The config keys the command reads, with defaults and meanings (app/key_help.h builds them
  // from the settings structs); empty function: the command reads no config keys.
  std::function<std::vector<HelpLine>()> keys;
};
bool register_help(const std::string& name, CommandHelp help);
const CommandHelp* command_help(const std::string& name);  // nullptr if none registered
std::string format_help(const std::string& name);         // the text `latco NAME --help` prints
// `latco NAME args`: --help prints the help; positional arguments are an error for a command
// whose help says it takes none; otherwise runs it.
int dispatch(const std::string& name, const Args& args);
// "latco 0.1.0 (commit abc1234)"; the commit is the build's `git rev-parse --short HEAD`.
std::string version_text();
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
#define LATCO_COMMAND_HELP(name, ...)                                                    \
  static bool LATCO_CAT_(latco_help_reg_, name) = ::latco::register_help(#name, ::latco::CommandHelp __VA_ARGS__)
#define LATCO_BENCH(name)                                                                 \
  static int LATCO_CAT_(latco_bench_, name)(const ::latco::Args& args);                  \
  static bool LATCO_CAT_(latco_bench_reg_, name) =                                        \
      ::latco::register_bench(#name, LATCO_CAT_(latco_bench_, name));                     \
  static int LATCO_CAT_(latco_bench_, name)(const ::latco::Args& args)
