// The pieces every `latco` command shares: the parsed command line (Args), a command's help
// (usage, flags, config keys) and its dispatch. Commands and benchmarks are listed, each on one
// line, in the tables of app/commands.cpp.
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

using CommandFn = int (*)(const Args&);
// One row of the command table: `latco NAME ...` runs `run`; `help` is its line in `latco --help`,
// `usage()` the text of `latco NAME --help`.
struct Command {
  const char* name;
  const char* help;
  CommandFn run;
  CommandHelp (*usage)();
};
// One row of the benchmark table: `latco bench NAME`.
struct Bench {
  const char* name;
  CommandFn run;
};
const std::vector<Command>& commands();  // app/commands.cpp, in the order `latco --help` lists them
const std::vector<Bench>& benches();     // app/commands.cpp
const Command* find_command(const std::string& name);  // nullptr if there is none
CommandFn find_bench(const std::string& name);         // nullptr if there is none

std::string format_help(const std::string& name);         // the text `latco NAME --help` prints
// `latco NAME args`: --help prints the help; positional arguments are an error for a command
// whose help says it takes none; otherwise runs it.
int dispatch(const std::string& name, const Args& args);
// "latco 0.1.0 (commit abc1234)"; the commit is the build's `git rev-parse --short HEAD`.
std::string version_text();
// Runs a command as `latco name args...` would, in this process (errors propagate).
int run_command(const std::string& name, std::vector<std::string> args);

}  // namespace latco
