// The planner table's keys column (PlannerEntry::keys, read_planner_keys): each planner's entry
// binds exactly the keys its factory reads, without building it, and checks their values, so an
// unknown key or a bad value of any planner's key is an error naming it, whichever planner runs.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "app/command.h"
#include "model/rssm.h"
#include "model/rssm_latent_model.h"
#include "plan/planner.h"
#include "test_files.h"

using namespace latco;

namespace {

// Every key some planner binds, at its default value.
Config every_planner_key() {
  std::vector<Config::KeyRecord> rec;
  Config probe;
  probe.record_keys(&rec);
  read_planner_keys(probe);
  Config all;
  for (const auto& r : rec) all.set(r.key, r.value);
  return all;
}

std::set<std::string> used_keys(const Config& cfg) {
  std::set<std::string> s;
  for (const auto& [k, e] : cfg.entries())
    if (e.used) s.insert(k);
  return s;
}

}  // namespace

TEST(PlannerKeys, EachRowBindsTheKeysItsFactoryReads) {
  RssmSettings ms;
  ms.stoch = 3, ms.deter = 4, ms.hidden = 4, ms.depth = 2, ms.image_size = 16, ms.reward_hidden = 4;
  Rssm rssm(ms, 4, 1);
  RssmLatentModel latent(rssm.transition());
  const Config all = every_planner_key();
  EXPECT_GT(all.entries().size(), 50u);
  for (const PlannerEntry& e : planner_table()) {
    Config by_keys = all, by_factory = all;
    const PlannerSettings shown = e.keys(by_keys);
    make_planner(e.name, latent, 5, by_factory, &rssm);
    EXPECT_FALSE(used_keys(by_keys).empty()) << e.name;
    EXPECT_EQ(used_keys(by_keys), used_keys(by_factory)) << e.name;
    // The rows `latco config` prints are the keys it read, with the values it resolved.
    EXPECT_NE(shown.type.find(".h"), std::string::npos) << e.name;
    std::set<std::string> rows;
    for (const auto& [key, value] : shown.rows) {
      rows.insert(key);
      EXPECT_EQ(value, all.find(key) ? all.find(key)->value : "?") << e.name << " " << key;
    }
    EXPECT_EQ(rows, used_keys(by_keys)) << e.name;
  }
  // Together they read every key of the listing, so a config may hold any planner's settings.
  Config c = all;
  read_planner_keys(c);
  EXPECT_NO_THROW(c.check_all_used());
  c.set("gd_iterationz", "3");
  read_planner_keys(c);
  EXPECT_THROW(c.check_all_used(), Error);
}

// A bad value of a planner's key is an error naming the key even where another planner runs.
TEST(PlannerKeys, BadValuesOfAnyPlannerAreErrorsNamingTheKey) {
  auto error_of = [](const std::string& kv) {
    Config c;
    c.override_with(kv);
    try {
      read_planner_keys(c);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  for (const char* kv : {"gn_jacobian=sideways", "latco_solver=magic", "cem_elites=100000", "ilqr_cost=x",
                         "fo_objective=x", "latco_gaussian_preset=x", "gd_iterations=0", "ic_lr=-1"}) {
    const std::string key = std::string(kv).substr(0, std::string(kv).find('='));
    const std::string m = error_of(kv);
    EXPECT_NE(m.find(key), std::string::npos) << kv << ": '" << m << "'";
  }
  // Through the command: latco train --dry-run with the latco planner and a bad shooting_gn key.
  const std::string dir = fresh_test_dir("planner_keys", "dry_run");
  try {
    run_command("train", {"--dry-run", "--out", dir + "/run", "planner=latco", "gn_jacobian=sideways"});
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("key 'gn_jacobian': expected auto, forward or adjoint"), std::string::npos)
        << e.what();
  }
}
