// `latco config --config FILE [key=value ...]`: the fully resolved settings of a run,
// every key with its value and where the value came from (default, preset, file and
// line, or command line), checked as `latco train` checks them; nothing is run.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "agent/agent.h"
#include "app/command.h"
#include "core/error.h"
#include "plan/planner.h"

namespace latco {
namespace {

using Rows = std::vector<std::pair<std::string, std::string>>;

template <class S>
Rows rows_of(S s) {
  Rows r;
  Config::describe(s, r);
  return r;
}

// One block of settings: the values a run resolves and those of an empty config.
struct Block {
  std::string title;
  Rows resolved, defaults;
  std::string preset;  // the source of a value that differs from the default though no key set it
};

// The planner's settings, resolved the way its factory reads them: the keys column of its row in the
// planner table (src/plan/planners.cpp), against the same of an empty config.
Block planner_block(const std::string& planner, const Config& cfg) {
  const PlannerEntry& e = find_planner(planner);
  const PlannerSettings s = e.keys(cfg), d = e.keys(Config());
  std::string preset = "preset";
  if (!s.preset_key.empty() && cfg.has(s.preset_key)) preset += " " + s.preset_key + ": " + cfg.find(s.preset_key)->value;
  return {"planner " + planner + " (" + s.type + ")" + (s.note.empty() ? "" : "; " + s.note), s.rows, d.rows, preset};
}

std::string source_of(const Config::Entry& e) {
  if (e.line == 0) return e.source;  // "command line"
  return std::filesystem::path(e.source).lexically_normal().string() + " line " + std::to_string(e.line);
}

void print_block(const Block& b, const Config& cfg, std::vector<std::string>& printed) {
  std::printf("\n# %s\n", b.title.c_str());
  size_t width = 0;
  for (const auto& [k, v] : b.resolved) width = std::max(width, k.size() + 2 + v.size());
  for (size_t i = 0; i < b.resolved.size(); ++i) {
    const auto& [key, value] = b.resolved[i];
    std::string from;
    if (const Config::Entry* e = cfg.find(key)) from = source_of(*e);
    else if (i < b.defaults.size() && value != b.defaults[i].second) from = b.preset;
    else from = "default";
    const std::string line = key + ": " + value;
    std::printf("%-*s  # %s\n", int(width), line.c_str(), from.c_str());
    printed.push_back(key);
  }
}

}  // namespace

int cmd_config(const Args& args) {
  const std::string file = args.get("config", "");
  LATCO_CHECK(!file.empty()) << "config: --config FILE is required";
  Config cfg = Config::load(file);
  for (const auto& kv : args.overrides) cfg.override_with(kv);
  args.check_all_read("config");

  AgentSettings s;
  RssmSettings ms;
  cfg.apply(s);
  cfg.apply(ms);
  auto env = make_run_env(s, ms, false);
  // Every planner of the table reads its keys (a config may hold any planner's settings).
  find_planner(s.planner);  // an unknown planner is an error listing them
  read_planner_keys(cfg);
  // The demo's own keys (configs/demo.yaml) are listed, not checked: `latco demo` checks them.
  for (const auto& [key, e] : cfg.entries())
    if (key.rfind("demo_", 0) == 0) cfg.get_string(key, "");
  cfg.check_all_used();
  parse_free_nats_mode(ms.free_nats_mode);

  std::printf("# latco config --config %s: the resolved settings, each with its source; nothing is run\n",
              file.c_str());
  const long long episodes = (long long)s.prefill_episodes + s.episodes;
  const long long per_episode = (long long)env->time_limit() * env->action_repeat();
  std::printf("# training length: %lld episodes (%d random prefill + %d online) x %lld environment steps "
              "(%d decisions x action repeat %d) = %lld environment steps\n",
              episodes, s.prefill_episodes, s.episodes, per_episode, env->time_limit(), env->action_repeat(),
              episodes * per_episode);
  std::vector<std::string> printed;
  print_block({"agent (AgentSettings, src/agent/agent.h)", rows_of(s), rows_of(AgentSettings{}), ""}, cfg, printed);
  print_block({"model, ELBO and optimiser (RssmSettings, src/model/rssm.h)", rows_of(ms), rows_of(RssmSettings{}), ""},
              cfg, printed);
  print_block(planner_block(s.planner, cfg), cfg, printed);

  // What else the config gives: other planners' keys (the bases hold every planner's settings).
  Rows other;
  for (const auto& [key, e] : cfg.entries())
    if (std::find(printed.begin(), printed.end(), key) == printed.end()) other.emplace_back(key, e.value);
  if (!other.empty()) {
    Block b{"other keys given (presets, the settings of planners this run does not use, the demo's keys)", other, {}, ""};
    print_block(b, cfg, printed);
  }
  return 0;
}

}  // namespace latco
