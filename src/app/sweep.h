// Experiment grids. A sweep file (the configs' YAML subset, plus lists) names a base config,
// axes (`seed: [0, 1, 2]`), fixed overrides, exclusions and the Slurm resources; `latco sweep plan`
// expands it into one folder per run under runs/NAME with a resolved config each, sweep.tsv
// (index, folder, overrides) and sweep.yaml (the sweep's own settings). The backends (sweep_commands.cpp)
// run entries by index; each decides from its folder whether to skip, resume or start.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "io/config.h"

namespace latco {

struct SweepAxis {
  std::string key;
  std::vector<std::string> values;  // in file order
};

struct SweepFile {
  std::string path;           // the sweep file itself
  std::string include;        // base config (relative paths resolved against the sweep file); "" = defaults.
                              // A list of files is an axis `include` (one base per value) named by task and planner
  std::string command = "train";  // train | demo
  std::vector<SweepAxis> axes;    // in file order
  std::vector<std::pair<std::string, std::string>> fixed;    // plain `key: value` overrides
  std::vector<std::map<std::string, std::string>> excludes;  // a combination matching all pairs of one is dropped
  std::map<std::string, std::string> settings;  // slurm_* keys and manifest_host, as written
};

// Parses a sweep file; errors name the file, line and key.
SweepFile read_sweep_file(const std::string& path);
SweepFile parse_sweep_file(const std::string& text, const std::string& source);

struct SweepEntry {
  std::string name;                                          // folder name, e.g. reach-cem-s1-model_lr=0.001
  std::map<std::string, std::string> axes;                   // this entry's axis values
  std::vector<std::pair<std::string, std::string>> overrides;  // fixed keys, then axis values (file order)
  Config config;                                             // base config with the overrides applied
};

// The grid: the cartesian product of the axes (first axis outermost) minus exclusions.
// Names are <task>-<planner>-s<seed> and -key=value for every other axis in key order, so
// they do not depend on the order of the file's lists: adding a value adds runs, renames none.
std::vector<SweepEntry> expand_sweep(const SweepFile& sweep);
// A demo entry evaluates several planners: without a planner key its name says "demo".
std::string entry_name(const Config& resolved, const std::map<std::string, std::string>& axes,
                       const std::string& command = "train");

// ----- a planned sweep folder -----
struct PlannedRun {
  int index = 0;
  std::string folder;     // relative to the sweep folder
  std::string overrides;  // "key=value key=value"
};
std::vector<PlannedRun> read_sweep_tsv(const std::string& sweep_dir);  // throws naming the file and line
// Settings of a planned sweep (sweep.yaml): command, manifest_host, slurm_* keys.
Config read_sweep_settings(const std::string& sweep_dir);

// Writes the run folders, their config.sweep.yaml, sweep.tsv and sweep.yaml. Planning into a folder
// planned before keeps the existing entries' indices and appends new ones; an entry that disappeared
// or whose config changed after it started is an error. Returns the runs in index order.
std::vector<PlannedRun> plan_sweep(const SweepFile& sweep, const std::string& sweep_dir);

// Bytes a run will write (episode files and checkpoints), from its config.
int64_t estimate_run_bytes(const Config& cfg, const std::string& command);

// ----- state of one run folder, and what `sweep run` does with it -----
enum class RunState { NotStarted, Running, Interrupted, Failed, Finished };
struct RunStatus {
  RunState state = RunState::NotStarted;
  bool has_checkpoint = false;
  std::string detail;  // failed: the error line; running / interrupted: the last episode
};
RunStatus run_status(const std::string& run_dir);
const char* state_name(RunState s);

enum class RunAction { Skip, SkipFailed, Resume, Start };
RunAction decide_action(const RunStatus& status, bool retry_failed);
const char* action_name(RunAction a);

}  // namespace latco
