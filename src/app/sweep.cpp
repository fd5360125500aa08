// Sweep files, grid expansion, the planned sweep folder (sweep.tsv, sweep.yaml, one
// config.sweep.yaml per run) and the skip / resume / start decision of one run folder.
#include "app/sweep.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "agent/agent.h"
#include "app/manifest.h"
#include "app/command.h"
#include "io/checkpoint.h"

namespace fs = std::filesystem;

namespace latco {
namespace {

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t\r"), b = s.find_last_not_of(" \t\r");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

std::vector<std::string> split_list(const std::string& inner) {
  std::vector<std::string> out;
  std::stringstream ss(inner);
  for (std::string item; std::getline(ss, item, ',');) out.push_back(trim(item));
  return out;
}

// Keys the sweep file gives to the sweep itself rather than to the runs.
bool is_setting(const std::string& key) { return key.rfind("slurm_", 0) == 0 || key == "manifest_host"; }
const std::set<std::string> kSlurmKeys = {"slurm_partition", "slurm_time", "slurm_cpus", "slurm_mem", "slurm_gpus",
                                          "slurm_max_running"};

std::string name_part(const std::string& v) {
  std::string s = v;
  for (char& c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '+' || c == '-')) c = '_';
  return s;
}

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  if (!f) return "";
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string config_text(const SweepEntry& e, const std::string& source) {
  std::string t = "# resolved config of sweep entry " + e.name + " (from " + source + ")\n";
  for (const auto& [k, en] : e.config.entries()) t += k + ": " + en.value + "\n";
  return t;
}

}  // namespace

// ----- the sweep file -----

SweepFile read_sweep_file(const std::string& path) {
  std::ifstream f(path);
  if (!f) LATCO_FAIL(path << ": cannot open sweep file");
  std::stringstream ss;
  ss << f.rdbuf();
  SweepFile s = parse_sweep_file(ss.str(), path);
  s.path = path;
  return s;
}

SweepFile parse_sweep_file(const std::string& text, const std::string& source) {
  SweepFile s;
  s.path = source;
  std::set<std::string> seen;
  std::istringstream in(text);
  std::string line, key;
  std::vector<std::string> block;  // a `key:` followed by `- item` lines
  int key_line = 0;
  auto where = [&](int n, const std::string& k) { return source + " line " + std::to_string(n) + ", key '" + k + "'"; };
  auto add = [&](const std::string& k, const std::vector<std::string>* list, const std::string& value, int n) {
    if (!seen.insert(k).second) LATCO_FAIL(where(n, k) << ": given twice");
    if (k == "exclude") {
      if (!list) LATCO_FAIL(where(n, k) << ": expected a list [key=value key=value, ...]");
      for (const auto& item : *list) {
        std::map<std::string, std::string> m;
        std::stringstream is(item);
        for (std::string kv; is >> kv;) {
          const size_t eq = kv.find('=');
          if (eq == std::string::npos || eq == 0) LATCO_FAIL(where(n, k) << ": expected key=value, got '" << kv << "'");
          m[kv.substr(0, eq)] = kv.substr(eq + 1);
        }
        if (m.empty()) LATCO_FAIL(where(n, k) << ": empty exclusion");
        s.excludes.push_back(m);
      }
      return;
    }
    auto resolve = [&](const std::string& v) {
      return v.empty() || v[0] == '/' || fs::path(source).parent_path().string().empty()
                 ? v
                 : (fs::path(source).parent_path() / v).string();
    };
    if (list && k == "include") {  // one base config per value: an axis that names no folder
      std::vector<std::string> paths;
      for (const auto& v : *list) paths.push_back(resolve(v));
      std::vector<std::string> check = paths;
      std::sort(check.begin(), check.end());
      if (paths.empty() || std::adjacent_find(check.begin(), check.end()) != check.end() ||
          std::count(check.begin(), check.end(), std::string()))
        LATCO_FAIL(where(n, k) << ": a list of include files needs distinct, non-empty paths");
      s.axes.push_back({k, paths});
    } else if (list) {
      if (k == "command" || is_setting(k)) LATCO_FAIL(where(n, k) << ": cannot be an axis (a list)");
      if (list->empty()) LATCO_FAIL(where(n, k) << ": an axis needs at least one value");
      std::set<std::string> values;
      for (const auto& v : *list) {
        if (v.empty() || v.find_first_of(" \t") != std::string::npos)
          LATCO_FAIL(where(n, k) << ": axis value '" << v << "' is empty or has a space");
        if (!values.insert(v).second) LATCO_FAIL(where(n, k) << ": value '" << v << "' listed twice");
      }
      s.axes.push_back({k, *list});
    } else if (k == "include") {
      s.include = resolve(value);
    } else if (k == "command") {
      if (value != "train" && value != "demo") LATCO_FAIL(where(n, k) << ": expected train or demo, got '" << value << "'");
      s.command = value;
    } else if (is_setting(k)) {
      if (k != "manifest_host" && !kSlurmKeys.count(k)) LATCO_FAIL(where(n, k) << ": unknown Slurm setting");
      s.settings[k] = value;
    } else {
      s.fixed.emplace_back(k, value);
    }
  };
  auto flush_block = [&]() {
    if (key.empty()) return;
    if (block.empty()) LATCO_FAIL(where(key_line, key) << ": no value");
    add(key, &block, "", key_line);
    key.clear();
    block.clear();
  };
  for (int n = 1; std::getline(in, line); ++n) {
    const size_t hash = line.find('#');
    const std::string t = trim(hash == std::string::npos ? line : line.substr(0, hash));
    if (t.empty()) continue;
    if (t.rfind("- ", 0) == 0 || t == "-") {
      if (key.empty()) LATCO_FAIL(source << " line " << n << ": list item without a key above it");
      block.push_back(trim(t.substr(1)));
      continue;
    }
    flush_block();
    const size_t c = t.find(':');
    if (c == std::string::npos || c == 0) LATCO_FAIL(source << " line " << n << ": expected 'key: value', got '" << t << "'");
    const std::string k = trim(t.substr(0, c)), v = trim(t.substr(c + 1));
    if (v.empty()) {  // a block list follows
      key = k;
      key_line = n;
    } else if (v.front() == '[') {
      if (v.back() != ']') LATCO_FAIL(where(n, k) << ": a list must close with ] on the same line");
      const std::string inner = trim(v.substr(1, v.size() - 2));
      std::vector<std::string> list = inner.empty() ? std::vector<std::string>{} : split_list(inner);
      add(k, &list, "", n);
    } else {
      add(k, nullptr, v, n);
    }
  }
  flush_block();
  std::set<std::string> axis_keys;
  for (const auto& a : s.axes) axis_keys.insert(a.key);
  for (const auto& ex : s.excludes)
    for (const auto& [k, v] : ex)
      if (!axis_keys.count(k)) LATCO_FAIL(source << ": exclude names '" << k << "', which is not an axis");
  return s;
}

// ----- expansion and names -----

std::string entry_name(const Config& c, const std::map<std::string, std::string>& axes, const std::string& command) {
  AgentSettings d;
  if (command == "demo") d.planner = "demo";
  auto value = [&](const std::string& k, const std::string& def) {
    const Config::Entry* e = c.find(k);
    return e ? e->value : def;
  };
  std::string name = name_part(value("task", d.task)) + "-" + name_part(value("planner", d.planner)) + "-s" +
                     name_part(value("seed", std::to_string(d.seed)));
  for (const auto& [k, v] : axes)  // std::map: key order; an include axis is named by its task and planner
    if (k != "task" && k != "planner" && k != "seed" && k != "include") name += "-" + name_part(k) + "=" + name_part(v);
  return name;
}

std::vector<SweepEntry> expand_sweep(const SweepFile& sweep) {
  const Config base = sweep.include.empty() ? Config() : Config::load(sweep.include);
  std::map<std::string, Config> bases;  // an include axis: its files, loaded once each
  for (const auto& a : sweep.axes)
    if (a.key == "include")
      for (const auto& f : a.values) bases[f] = Config::load(f);
  std::vector<SweepEntry> out;
  std::set<std::string> names;
  std::map<std::string, std::string> pick;
  std::function<void(size_t)> rec = [&](size_t a) {
    if (a < sweep.axes.size()) {
      for (const auto& v : sweep.axes[a].values) {
        pick[sweep.axes[a].key] = v;
        rec(a + 1);
      }
      return;
    }
    for (const auto& ex : sweep.excludes) {
      bool all = true;
      for (const auto& [k, v] : ex) all = all && pick.at(k) == v;
      if (all) return;
    }
    SweepEntry e;
    e.axes = pick;
    for (const auto& kv : sweep.fixed) e.overrides.push_back(kv);
    for (const auto& ax : sweep.axes)
      if (ax.key != "include") e.overrides.emplace_back(ax.key, pick.at(ax.key));
    e.config = pick.count("include") ? bases.at(pick.at("include")) : base;
    for (const auto& [k, v] : e.overrides) e.config.set(k, v);
    e.name = entry_name(e.config, e.axes, sweep.command);
    if (!names.insert(e.name).second)
      LATCO_FAIL(sweep.path << ": two entries are both named '" << e.name << "' (axis values that differ only in "
                            << "characters a folder name cannot hold, or included files with the same task and planner?)");
    out.push_back(std::move(e));
  };
  rec(0);
  if (out.empty()) LATCO_FAIL(sweep.path << ": the exclusions leave no run");
  return out;
}

// ----- the planned folder -----

std::vector<PlannedRun> read_sweep_tsv(const std::string& dir) {
  const std::string path = dir + "/sweep.tsv";
  std::ifstream f(path);
  if (!f) LATCO_FAIL(path << ": cannot open (plan the sweep first: latco sweep plan SWEEP.yaml --out " << dir << ")");
  std::vector<PlannedRun> out;
  std::string line;
  for (int n = 1; std::getline(f, line); ++n) {
    if (line.empty() || line[0] == '#') continue;
    std::stringstream ss(line);
    PlannedRun r;
    std::string idx;
    if (!std::getline(ss, idx, '\t') || !std::getline(ss, r.folder, '\t') || r.folder.empty())
      LATCO_FAIL(path << " line " << n << ": expected index<TAB>folder<TAB>overrides");
    std::getline(ss, r.overrides);
    char* end = nullptr;
    r.index = static_cast<int>(std::strtol(idx.c_str(), &end, 10));
    if (*end || idx.empty() || r.index != int(out.size()))
      LATCO_FAIL(path << " line " << n << ": index '" << idx << "', expected " << out.size());
    out.push_back(r);
  }
  return out;
}

Config read_sweep_settings(const std::string& dir) {
  const std::string path = dir + "/sweep.yaml";
  if (!fs::exists(path)) LATCO_FAIL(path << ": missing (plan the sweep first: latco sweep plan SWEEP.yaml --out " << dir << ")");
  return Config::load(path);
}

std::vector<PlannedRun> plan_sweep(const SweepFile& sweep, const std::string& dir) {
  const std::vector<SweepEntry> entries = expand_sweep(sweep);
  std::map<std::string, const SweepEntry*> by_name;
  for (const auto& e : entries) by_name[e.name] = &e;
  std::vector<PlannedRun> runs;
  std::set<std::string> planned;
  if (fs::exists(dir + "/sweep.tsv")) {
    for (const auto& r : read_sweep_tsv(dir)) {
      if (!by_name.count(r.folder))
        LATCO_FAIL(dir << "/sweep.tsv lists " << r.folder << ", which " << sweep.path
                       << " no longer produces: plan into a new folder");
      runs.push_back(r);
      planned.insert(r.folder);
    }
  }
  for (const auto& e : entries)
    if (!planned.count(e.name)) runs.push_back({int(runs.size()), e.name, ""});
  fs::create_directories(dir);
  std::string tsv = "# index\tfolder\toverrides (latco sweep plan " + sweep.path + ")\n";
  for (auto& r : runs) {
    const SweepEntry& e = *by_name.at(r.folder);
    r.overrides.clear();
    for (const auto& [k, v] : e.overrides) r.overrides += (r.overrides.empty() ? "" : " ") + k + "=" + v;
    const std::string run_dir = dir + "/" + r.folder, cfg_path = run_dir + "/config.sweep.yaml";
    const std::string text = config_text(e, sweep.path);
    const std::string old = read_text(cfg_path);
    if (!old.empty() && old != text && fs::exists(run_dir + "/manifest.yaml"))
      LATCO_FAIL(cfg_path << ": this run has started and its config would change: plan into a new folder");
    fs::create_directories(run_dir);
    if (old != text) std::ofstream(cfg_path) << text;
    tsv += std::to_string(r.index) + "\t" + r.folder + "\t" + r.overrides + "\n";
  }
  std::ofstream(dir + "/sweep.tsv") << tsv;
  std::string axes;
  for (const auto& a : sweep.axes) axes += (axes.empty() ? "" : ",") + a.key;
  std::ofstream settings(dir + "/sweep.yaml");
  settings << "# settings of the sweep planned from " << sweep.path << " (latco sweep plan)\n"
           << "command: " << sweep.command << "\naxes: " << axes << "\n";
  for (const auto& [k, v] : sweep.settings) settings << k << ": " << v << "\n";
  return runs;
}

int64_t estimate_run_bytes(const Config& cfg, const std::string& command) {
  if (command == "train") {
    // A dry-run agent resolves every key (a typo fails here, not in every run) and writes nothing.
    Agent probe(cfg, "", false, true, true);
    const AgentSettings& s = probe.settings();
    const int64_t step = int64_t(probe.model().settings().image_size) * probe.model().settings().image_size * 3 +
                         4 * probe.env().action_dim() + 16;
    return int64_t(s.prefill_episodes + s.episodes) * (probe.env().time_limit() + 1) * step +
           int64_t(s.keep_checkpoints + 1) * 3 * 4 * probe.model().num_parameters();
  }
  // The demo: its dataset's episodes and one checkpoint. A dry run resolves every key.
  std::vector<std::string> keys = {"--dry-run"};
  for (const auto& [k, e] : cfg.entries()) keys.push_back(k + "=" + e.value);
  run_command("demo", keys);
  Config c = cfg;
  AgentSettings s;
  RssmSettings ms;
  c.apply(s);
  c.apply(ms);
  auto env = make_run_env(s, ms);
  Rssm model(ms, env->action_dim(), s.seed);
  const int64_t step = int64_t(ms.image_size) * ms.image_size * 3 + 4 * env->action_dim() + 16;
  const int64_t episodes = c.get_int("demo_expert_episodes", 0) + c.get_int("demo_random_episodes", 0);
  return episodes * (env->time_limit() + 1) * step + 3 * 4 * model.num_parameters();
}

// ----- one run folder -----

RunStatus run_status(const std::string& dir) {
  RunStatus st;
  st.has_checkpoint = fs::exists(dir + "/checkpoints") && !latest_checkpoint(dir + "/checkpoints").empty();
  const auto m = read_manifest(dir + "/manifest.yaml");
  auto field = [&](const char* k) { return m.count(k) ? m.at(k) : std::string(); };
  auto last_episode = [&]() {
    std::ifstream f(dir + "/metrics.csv");
    std::string line, last;
    while (std::getline(f, line))
      if (!line.empty()) last = line;
    const std::string ep = last.substr(0, last.find(','));
    return ep.empty() || ep == "episode" ? std::string("no episode yet") : "episode " + ep;
  };
  if (m.empty()) {
    st.state = st.has_checkpoint ? RunState::Interrupted : RunState::NotStarted;
  } else if (!field("end_time").empty()) {
    if (field("interrupted") == "true") {  // stopped by a signal after its checkpoint: resume it
      st.state = RunState::Interrupted;
    } else if (field("exit_status") != "0") {
      st.state = RunState::Failed;
      st.detail = field("error").empty() ? "exit status " + field("exit_status") : field("error");
    } else {
      st.state = RunState::Finished;
    }
  } else {
    // Started and not ended: running, unless its process is gone (killed). The run folder's lock
    // (io/run_lock.h) tells, on any host: the kernel releases it however the process ends. Without
    // one (killed before taking it), the pid tells when the manifest names this host.
    bool dead = false;
    const int fd = ::open((dir + "/.lock").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      dead = ::flock(fd, LOCK_SH | LOCK_NB) == 0;  // a free lock: nobody writes this run
      ::close(fd);                                  // (closing releases the probe)
    } else {
      const std::string pid = field("pid");
      const bool here = field("host") == host_name() && !pid.empty();
      dead = here && ::kill(static_cast<pid_t>(std::atol(pid.c_str())), 0) != 0 && errno == ESRCH;
    }
    st.state = dead ? RunState::Interrupted : RunState::Running;
  }
  if (st.state == RunState::Running || st.state == RunState::Interrupted) st.detail = last_episode();
  return st;
}

const char* state_name(RunState s) {
  switch (s) {
    case RunState::NotStarted: return "not started";
    case RunState::Running: return "running";
    case RunState::Interrupted: return "interrupted";
    case RunState::Failed: return "failed";
    case RunState::Finished: return "finished";
  }
  return "?";
}

RunAction decide_action(const RunStatus& st, bool retry_failed) {
  if (st.state == RunState::Finished) return RunAction::Skip;
  if (st.state == RunState::Failed && !retry_failed) return RunAction::SkipFailed;
  return st.has_checkpoint ? RunAction::Resume : RunAction::Start;
}

const char* action_name(RunAction a) {
  switch (a) {
    case RunAction::Skip: return "skip (finished)";
    case RunAction::SkipFailed: return "skip (failed; --retry-failed runs it again)";
    case RunAction::Resume: return "resume";
    case RunAction::Start: return "start";
  }
  return "?";
}

}  // namespace latco
