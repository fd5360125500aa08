// `latco config --config FILE [key=value ...]`: the fully resolved settings of a run,
// every key with its value and where the value came from (default, preset, file and
// line, or command line), checked as `latco train` checks them; nothing is run.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "agent/agent.h"
#include "app/command.h"
#include "core/error.h"
#include "plan/collocation/image_collocation.h"
#include "plan/collocation/latco.h"
#include "plan/collocation/latco_first_order.h"
#include "plan/collocation/latco_gaussian.h"
#include "plan/sampling/sampling_planners.h"
#include "plan/shooting/ilqr.h"
#include "plan/shooting/shooting_gd.h"
#include "plan/shooting/shooting_gn.h"

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

// A settings struct resolved as its planner's factory reads it: load(cfg) where the struct has one
// (presets first, then the keys), else the plain keys.
template <class S>
auto resolve(S& s, const Config& c, int) -> decltype(s.load(c), void()) {
  s.load(c);
}
template <class S>
void resolve(S& s, const Config& c, long) {
  c.apply(s);
}
template <class S>
Rows all_rows(S& s) {
  return rows_of(s);
}
Rows all_rows(GaussianLatcoSettings& s) {  // the shared latco_* keys, then its own
  Rows r = rows_of(s.lm);
  Config::describe(s, r);
  return r;
}

// A value that differs from an empty config's though no key set it comes from a preset key.
template <class S>
Block block_of(const std::string& title, const Config& cfg, const std::string& preset_key) {
  const Config none;
  S s, d;
  resolve(s, cfg, 0);
  resolve(d, none, 0);
  std::string preset = "preset";
  if (!preset_key.empty() && cfg.has(preset_key)) preset += " " + preset_key + ": " + cfg.find(preset_key)->value;
  return {title, all_rows(s), all_rows(d), preset};
}

// The planner's settings, resolved the way its factory reads them (one entry per settings struct).
std::vector<Block> planner_blocks(const std::string& planner, const Config& cfg) {
  std::vector<Block> out;
  if (planner == "latco" || planner == "latco_no_relax" || planner == "latco_no_constrained" ||
      planner == "latco_const_damping" || planner == "latco_released") {
    // A named variant's own preset (src/plan/collocation/latco.cpp) lies under these keys and is not shown here.
    const std::string note = planner == "latco" ? "" : "; its preset in src/plan/collocation/latco.cpp lies under keys not given";
    out.push_back(block_of<LatcoSettings>("planner " + planner + " (LatcoSettings, src/plan/collocation/latco.h)" + note, cfg, ""));
  } else if (planner == "latco_gaussian") {
    // Gaussian LatCo's own defaults differ from deterministic LatCo's: "default" is its own.
    out.push_back(block_of<GaussianLatcoSettings>("planner latco_gaussian (GaussianLatcoSettings, src/plan/collocation/latco_gaussian.h)",
                                                  cfg, "latco_gaussian_preset"));
  } else if (planner == "cem" || planner == "mppi") {
    const Config none;
    std::string preset = "preset";
    if (cfg.has(planner + "_preset")) preset += " " + planner + "_preset: " + cfg.find(planner + "_preset")->value;
    out.push_back({"planner " + planner + " (SamplingSettings, src/plan/sampling/sampling_planners.h)",
                   rows_of(sampling_settings_from(planner, cfg)), rows_of(sampling_settings_from(planner, none)), preset});
  } else if (planner == "shooting_gd") {
    out.push_back(block_of<ShootingGdSettings>("planner shooting_gd (ShootingGdSettings, src/plan/shooting/shooting_gd.h)", cfg,
                                               "gd_preset"));
  } else if (planner == "shooting_gn") {
    out.push_back(block_of<ShootingGnSettings>("planner shooting_gn (ShootingGnSettings, src/plan/shooting/shooting_gn.h)", cfg,
                                               "gn_preset"));
  } else if (planner == "ilqr") {
    out.push_back(block_of<IlqrSettings>("planner ilqr (IlqrSettings, src/plan/shooting/ilqr.h)", cfg, "ilqr_preset"));
  } else if (planner == "latco_no_second_order") {
    out.push_back(block_of<LatcoFirstOrderSettings>(
        "planner latco_no_second_order (LatcoFirstOrderSettings, src/plan/collocation/latco_first_order.h)", cfg, "fo_preset"));
  } else if (planner == "image_collocation") {
    out.push_back(block_of<ImageCollocationSettings>(
        "planner image_collocation (ImageCollocationSettings, src/plan/collocation/image_collocation.h)", cfg, ""));
  }
  return out;
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
  for (const Block& b : planner_blocks(s.planner, cfg)) print_block(b, cfg, printed);

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
