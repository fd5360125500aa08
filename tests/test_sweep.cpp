// `latco sweep`: sweep files, grid expansion and exclusions, stable names, manifests of real train
// runs, skip / resume / start decisions, a resume through `sweep run` equal to a straight run, and
// the tiny 2 x 2 x 2 sweep through `latco sweep local` and `latco report` with the built binary.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "app/command.h"
#include "app/manifest.h"
#include "app/sweep.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "io/checkpoint.h"

#include "tests/test_files.h"

using namespace latco;
namespace fs = std::filesystem;

namespace {

std::string fresh_dir(const std::string& name) { return fresh_test_dir("sweep", name); }
std::string read(const std::string& path) { return read_text(path); }

std::vector<std::string> names(const std::vector<SweepEntry>& es) {
  std::vector<std::string> v;
  for (const auto& e : es) v.push_back(e.name);
  return v;
}

std::string error_of(const std::string& text) {
  try {
    parse_sweep_file(text, "bad.yaml");
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

const std::string kBase = fs::absolute("tests/cluster/tiny.yaml").string();

}  // namespace

TEST(Sweep, ExpandsAxesFixedKeysAndExclusions) {
  SweepFile s = parse_sweep_file("include: " + kBase +
                                     "\ntask: [reach, button]   # an axis\nplanner: [latco, cem]\nseed: [0, 1, 2]\n"
                                     "model_lr: 0.001\nhorizon:\n  - 4\n  - 8\nexclude: [task=button planner=cem]\n"
                                     "command: train\nslurm_time: 30\n",
                                 "grid.yaml");
  ASSERT_EQ(s.axes.size(), 4u);
  EXPECT_EQ(s.axes[3].key, "horizon");
  EXPECT_EQ(s.axes[3].values, (std::vector<std::string>{"4", "8"}));
  EXPECT_EQ(s.settings.at("slurm_time"), "30");
  const auto es = expand_sweep(s);
  EXPECT_EQ(es.size(), 2u * 2 * 3 * 2 - 1 * 1 * 3 * 2);
  const auto n = names(es);
  EXPECT_EQ(n.front(), "reach-latco-s0-horizon=4");
  EXPECT_TRUE(std::count(n.begin(), n.end(), "button-latco-s2-horizon=8"));
  EXPECT_FALSE(std::count(n.begin(), n.end(), "button-cem-s0-horizon=4"));
  // Each entry's config: the base file, the fixed key, then its axis values.
  const SweepEntry& e = es.front();
  EXPECT_EQ(e.config.find("model_lr")->value, "0.001");
  EXPECT_EQ(e.config.find("horizon")->value, "4");
  EXPECT_EQ(e.config.find("model_stoch")->value, "3");  // from tiny.yaml
  EXPECT_EQ(e.overrides.front(), (std::pair<std::string, std::string>{"model_lr", "0.001"}));
}

TEST(Sweep, NamesAreStable) {
  // Task, planner and seed come from the base config when they are not axes.
  SweepFile s = parse_sweep_file("include: " + kBase + "\nmodel_lr: [0.01, 0.001]\n", "a.yaml");
  EXPECT_EQ(names(expand_sweep(s)), (std::vector<std::string>{"reach-latco-s0-model_lr=0.01", "reach-latco-s0-model_lr=0.001"}));
  // The order of the lists and of the axes does not change the names; a new seed renames nothing.
  auto a = names(expand_sweep(parse_sweep_file("seed: [0, 1]\ntask: [reach, push]\nhorizon: [4, 8]\n", "a.yaml")));
  auto b = names(expand_sweep(parse_sweep_file("horizon: [8, 4]\ntask: [push, reach]\nseed: [1, 0, 2]\n", "b.yaml")));
  std::set<std::string> sa(a.begin(), a.end()), sb(b.begin(), b.end());
  for (const auto& x : sa) EXPECT_TRUE(sb.count(x)) << x;
  EXPECT_EQ(sb.size(), sa.size() + 4);
  EXPECT_TRUE(sb.count("push-latco-s2-horizon=8"));

  // Planning into the same folder again with one more seed keeps every index and appends.
  const std::string dir = fresh_dir("stable");
  const std::string f1 = "include: " + kBase + "\ntask: [reach, button]\nseed: [0, 1]\n";
  const auto p1 = plan_sweep(parse_sweep_file(f1, "s.yaml"), dir);
  const auto p2 = plan_sweep(parse_sweep_file("include: " + kBase + "\ntask: [reach, button]\nseed: [0, 1, 2]\n", "s.yaml"), dir);
  ASSERT_EQ(p1.size(), 4u);
  ASSERT_EQ(p2.size(), 6u);
  for (size_t i = 0; i < p1.size(); ++i) EXPECT_EQ(p1[i].folder, p2[i].folder);
  EXPECT_EQ(p2[4].folder, "reach-latco-s2");
  EXPECT_EQ(read_sweep_tsv(dir).size(), 6u);
  EXPECT_EQ(read_sweep_tsv(dir)[1].overrides, "task=reach seed=1");
  // Dropping a planned entry is refused.
  EXPECT_THROW(plan_sweep(parse_sweep_file("include: " + kBase + "\ntask: [reach]\nseed: [0, 1, 2]\n", "s.yaml"), dir), Error);
  // The run's config is a complete config file: the base's keys and the entry's.
  Config c = Config::load(dir + "/reach-latco-s1/config.sweep.yaml");
  EXPECT_EQ(c.find("seed")->value, "1");
  EXPECT_EQ(c.find("time_limit")->value, "12");
}

TEST(Sweep, SweepFileErrorsNameFileLineAndKey) {
  EXPECT_NE(error_of("seed: [0, 1]\nseed: [2]\n").find("bad.yaml line 2, key 'seed': given twice"), std::string::npos);
  EXPECT_NE(error_of("task: []\n").find("bad.yaml line 1, key 'task': an axis needs at least one value"), std::string::npos);
  EXPECT_NE(error_of("seed: [0, 0]\n").find("listed twice"), std::string::npos);
  EXPECT_NE(error_of("seed: [0, 1\n").find("line 1, key 'seed'"), std::string::npos);
  EXPECT_NE(error_of("seed: [0]\nexclude: [task=push]\n").find("exclude names 'task', which is not an axis"),
            std::string::npos);
  EXPECT_NE(error_of("command: eval\n").find("expected train or demo"), std::string::npos);
  EXPECT_NE(error_of("slurm_nodes: 4\n").find("unknown Slurm setting"), std::string::npos);
  EXPECT_NE(error_of("just words\n").find("bad.yaml line 1: expected 'key: value'"), std::string::npos);
  EXPECT_THROW(expand_sweep(parse_sweep_file("seed: [0]\nexclude: [seed=0]\n", "x.yaml")), Error);  // nothing left
}

TEST(Sweep, ManifestOfRealTrainRuns) {
  const std::string dir = fresh_dir("manifest");
  ASSERT_EQ(run_command("train", {"--config", kBase, "--out", dir + "/run", "episodes=1"}), 0);
  auto m = read_manifest(dir + "/run/manifest.yaml");
  for (const char* k : {"commit", "dirty", "build_flags", "host", "cpu", "gpu", "threads", "start_time", "end_time"})
    EXPECT_FALSE(m[k].empty()) << k;
  EXPECT_EQ(m["command"], "train");
  EXPECT_EQ(m["run"], "run");
  EXPECT_EQ(m["seed"], "0");
  EXPECT_EQ(m["exit_status"], "0");
  EXPECT_EQ(m["interrupted"], "false");
  EXPECT_EQ(m["attempts"], "1");
  EXPECT_EQ(m["resumed_from"], "");
  EXPECT_EQ(m["host"], host_name());
  EXPECT_EQ(m["threads"], std::to_string(num_threads()));
  EXPECT_TRUE(m["dirty"] == "true" || m["dirty"] == "false");
  EXPECT_NE(m["config"].find("model_stoch: 3\n"), std::string::npos) << m["config"];  // the resolved config
  EXPECT_EQ(run_status(dir + "/run").state, RunState::Finished);

  // --resume continues the same run (a second attempt); --no-host leaves the host out.
  ASSERT_EQ(run_command("train", {"--config", kBase, "--out", dir + "/run", "--resume", "--no-host", "episodes=2"}), 0);
  m = read_manifest(dir + "/run/manifest.yaml");
  EXPECT_EQ(m["attempts"], "2");
  EXPECT_EQ(m["resumed_from"].rfind("ckpt-", 0), 0u) << m["resumed_from"];
  EXPECT_FALSE(m.count("host"));

  // A failing run records exit status 1 and its error line; the error still reaches the caller.
  EXPECT_THROW(run_command("train", {"--config", kBase, "--out", dir + "/bad", "horizn=3"}), Error);
  m = read_manifest(dir + "/bad/manifest.yaml");
  EXPECT_EQ(m["exit_status"], "1");
  EXPECT_NE(m["error"].find("horizn"), std::string::npos) << m["error"];
  const RunStatus st = run_status(dir + "/bad");
  EXPECT_EQ(st.state, RunState::Failed);
  EXPECT_NE(st.detail.find("horizn"), std::string::npos);
}

TEST(Sweep, SkipResumeStartDecisions) {
  const std::string d = fresh_dir("decide");
  auto status_of = [&](const std::string& manifest, bool checkpoint) {
    const std::string run = d + "/r";
    fs::remove_all(run);
    fs::create_directories(run + "/checkpoints");
    if (!manifest.empty()) std::ofstream(run + "/manifest.yaml") << manifest;
    if (checkpoint) save_checkpoint(checkpoint_path(run + "/checkpoints", 3), Checkpoint());
    return run_status(run);
  };
  const std::string ended = "start_time: t\nend_time: t\n";
  // Nothing there: start.
  RunStatus s = status_of("", false);
  EXPECT_EQ(s.state, RunState::NotStarted);
  EXPECT_EQ(decide_action(s, false), RunAction::Start);
  // Finished: skip, also with --retry-failed.
  s = status_of(ended + "exit_status: 0\ninterrupted: false\n", true);
  EXPECT_EQ(s.state, RunState::Finished);
  EXPECT_EQ(decide_action(s, true), RunAction::Skip);
  // Failed: skipped unless --retry-failed, which resumes from a checkpoint or starts.
  s = status_of(ended + "exit_status: 1\nerror: out of memory\n", false);
  EXPECT_EQ(s.state, RunState::Failed);
  EXPECT_EQ(s.detail, "out of memory");
  EXPECT_EQ(decide_action(s, false), RunAction::SkipFailed);
  EXPECT_EQ(decide_action(s, true), RunAction::Start);
  EXPECT_EQ(decide_action(status_of(ended + "exit_status: 1\n", true), true), RunAction::Resume);
  // Stopped by a signal after a checkpoint (ended cleanly, or killed: started and never ended): resume.
  s = status_of(ended + "exit_status: 0\ninterrupted: true\n", true);
  EXPECT_EQ(s.state, RunState::Interrupted);
  EXPECT_EQ(decide_action(s, false), RunAction::Resume);
  EXPECT_EQ(decide_action(status_of("start_time: t\n", true), false), RunAction::Resume);
  // Killed before its first checkpoint: start again.
  EXPECT_EQ(decide_action(status_of("start_time: t\n", false), false), RunAction::Start);
  // Started here by a process that still lives: running; by one that is gone: interrupted.
  const std::string here = "start_time: t\nhost: " + host_name() + "\npid: ";
  EXPECT_EQ(status_of(here + std::to_string(getpid()) + "\n", true).state, RunState::Running);
  pid_t child = fork();
  if (child == 0) _exit(0);
  ASSERT_GT(child, 0);
  waitpid(child, nullptr, 0);
  EXPECT_EQ(status_of(here + std::to_string(child) + "\n", true).state, RunState::Interrupted);
}

TEST(Sweep, RunResumesAKilledEntryLikeAStraightRun) {
  set_num_threads(1);
  const std::string dir = fresh_dir("resume");
  plan_sweep(parse_sweep_file("include: " + kBase + "\nplanner: [cem]\nseed: [3]\n", "r.yaml"), dir);
  const std::string run = dir + "/reach-cem-s3";
  // A first attempt that stopped after 3 of 4 episodes and was killed (its manifest never ended).
  ASSERT_EQ(run_command("train", {"--config", run + "/config.sweep.yaml", "--out", run, "episodes=1"}), 0);
  std::string m = read(run + "/manifest.yaml");
  m.erase(m.find("end_time:"), m.find("config: |") - m.find("end_time:"));
  std::ofstream(run + "/manifest.yaml") << m;
  EXPECT_EQ(decide_action(run_status(run), false), RunAction::Resume);
  ASSERT_EQ(run_command("sweep", {"run", dir, "--index", "0"}), 0);
  EXPECT_EQ(run_status(run).state, RunState::Finished);
  EXPECT_EQ(read_manifest(run + "/manifest.yaml")["resumed_from"], "ckpt-000000003.bin");
  // Finished now: a second `sweep run` skips it.
  const auto before = fs::last_write_time(run + "/manifest.yaml");
  ASSERT_EQ(run_command("sweep", {"run", dir, "--index", "0"}), 0);
  EXPECT_EQ(fs::last_write_time(run + "/manifest.yaml"), before);
  // The same entry straight through ends with the same parameters.
  ASSERT_EQ(run_command("train", {"--config", run + "/config.sweep.yaml", "--out", dir + "/straight"}), 0);
  Checkpoint x = load_checkpoint(latest_checkpoint(run + "/checkpoints"));
  Checkpoint y = load_checkpoint(latest_checkpoint(dir + "/straight/checkpoints"));
  EXPECT_EQ(x.episodes, 4);
  EXPECT_EQ(x.grad_steps, y.grad_steps);
  for (const auto& [name, t] : x.tensors) EXPECT_EQ(t.to_vector(), y.tensors.at(name).to_vector()) << name;
  EXPECT_THROW(run_command("sweep", {"run", dir, "--index", "1"}), Error);  // out of range
  set_num_threads(2);
}

TEST(Sweep, TinyGridThroughSweepLocalAndReport) {
  const char* env = std::getenv("LATCO_BIN");
  const std::string bin = fs::absolute(env ? env : "build/latco").string();
  ASSERT_TRUE(fs::exists(bin)) << bin << " (build it first: make build/latco)";
  const std::string dir = fresh_dir("local"), log = dir + "/out.txt";
  auto sh = [&](const std::string& args) { return std::system((bin + " " + args + " > " + log + " 2>&1").c_str()); };
  ASSERT_EQ(sh("sweep plan tests/cluster/tiny_sweep.yaml --out " + dir + "/g"), 0) << read(log);
  EXPECT_NE(read(log).find("disk estimate:"), std::string::npos);
  ASSERT_EQ(sh("sweep status " + dir + "/g"), 0);
  EXPECT_NE(read(log).find("8 runs: 0 finished, 0 running, 0 interrupted, 0 failed, 8 not started"), std::string::npos)
      << read(log);
  ASSERT_EQ(sh("sweep local " + dir + "/g --jobs 2"), 0) << read(log);
  EXPECT_NE(read(log).find("8/8 done, 0 running, 0 failed"), std::string::npos) << read(log);
  // A second invocation finds everything finished and runs nothing.
  ASSERT_EQ(sh("sweep local " + dir + "/g --jobs 2"), 0) << read(log);
  EXPECT_NE(read(log).find("8 finished before, 0 failed before, 0 to run"), std::string::npos) << read(log);
  ASSERT_EQ(sh("sweep status " + dir + "/g"), 0);
  EXPECT_NE(read(log).find("8 runs: 8 finished"), std::string::npos) << read(log);
  ASSERT_EQ(sh("report " + dir + "/g"), 0) << read(log);
  const std::string md = read(dir + "/g/report/report.md");
  EXPECT_NE(md.find("8 results."), std::string::npos) << md;
  EXPECT_NE(md.find("| method | reach | button |"), std::string::npos) << md;
  EXPECT_NE(md.find("| latco | "), std::string::npos) << md;
  EXPECT_NE(md.find("(n=2)"), std::string::npos) << md;

  // The Slurm script: a job array over the 8 entries, requeued, per-index logs, this binary by its
  // absolute path; no partition, memory or GPU request unless given.
  ASSERT_EQ(sh("sweep slurm " + dir + "/g --max-running 3"), 0) << read(log);
  std::string sb = read(dir + "/g/sweep.sbatch");
  for (const std::string& line : std::vector<std::string>{"#SBATCH --array=0-7%3\n", "#SBATCH --requeue\n", "/logs/%a.log\n",
                                 "#SBATCH --time=10\n", "#SBATCH --cpus-per-task=1\n",
                                 "exec " + bin + " sweep run " + dir + "/g --index \"$SLURM_ARRAY_TASK_ID\""})
    EXPECT_NE(sb.find(line), std::string::npos) << line << "\n" << sb;
  for (const char* absent : {"--partition", "--mem", "--gpus"}) EXPECT_EQ(sb.find(absent), std::string::npos) << absent;
  ASSERT_EQ(sh("sweep slurm " + dir + "/g --partition gpu --gpus 1 --mem 8G --time 90 --cpus 4"), 0) << read(log);
  sb = read(dir + "/g/sweep.sbatch");
  for (const char* line : {"#SBATCH --array=0-7\n", "#SBATCH --partition=gpu\n", "#SBATCH --gpus=1\n",
                           "#SBATCH --mem=8G\n", "#SBATCH --time=90\n", "#SBATCH --cpus-per-task=4\n"})
    EXPECT_NE(sb.find(line), std::string::npos) << line << "\n" << sb;
}

TEST(Sweep, DemoEntriesReportEachPlanner) {
  const std::string dir = fresh_dir("demo");
  std::ofstream(dir + "/demo.yaml")
      << "task: reach\nhorizon: 4\nreplan_every: 2\ntime_limit: 8\ndemo_expert_episodes: 2\ndemo_random_episodes: 1\n"
         "demo_train_steps: 3\ndemo_online_rounds: 1\ndemo_online_steps: 1\ndemo_eval_episodes: 2\n"
         "demo_planners: latco,cem\nmodel_image_size: 16\nmodel_stoch: 3\nmodel_deter: 6\nmodel_hidden: 6\n"
         "model_depth: 2\nmodel_reward_hidden: 6\nmodel_batch: 2\nmodel_length: 4\nlatco_iterations: 3\n"
         "cem_samples: 20\ncem_elites: 4\ncem_iterations: 2\n";
  std::ofstream(dir + "/sweep.yaml") << "include: demo.yaml\ncommand: demo\nseed: [5]\nmanifest_host: false\n";
  const auto runs = plan_sweep(read_sweep_file(dir + "/sweep.yaml"), dir + "/g");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].folder, "reach-demo-s5");
  ASSERT_EQ(run_command("sweep", {"run", dir + "/g", "--index", "0"}), 0);
  auto m = read_manifest(dir + "/g/reach-demo-s5/manifest.yaml");
  EXPECT_EQ(m["command"], "demo");
  EXPECT_EQ(m["exit_status"], "0");
  EXPECT_FALSE(m.count("host"));  // manifest_host: false
  EXPECT_EQ(run_status(dir + "/g/reach-demo-s5").state, RunState::Finished);
  ASSERT_EQ(run_command("report", {dir + "/g"}), 0);
  const std::string md = read(dir + "/g/report/report.md");
  EXPECT_NE(md.find("| latco | **"), std::string::npos) << md;
  EXPECT_NE(md.find("| cem | "), std::string::npos) << md;
}

// `include:` as a list: one base config per file, the entries named by their task and planner.
TEST(Sweep, IncludeListIsAnAxisNamedByTaskAndPlanner) {
  const std::string dir = fresh_dir("include");
  std::ofstream(dir + "/a.yaml") << "include: " << kBase << "\ntask: button\nplanner: cem\nhorizon: 7\n";
  std::ofstream(dir + "/b.yaml") << "include: " << kBase << "\ntask: push\nplanner: latco\n";
  std::ofstream(dir + "/s.yaml") << "include:\n  - a.yaml\n  - b.yaml\nseed: [0, 1]\nmodel_lr: 0.002\n";
  const auto es = expand_sweep(read_sweep_file(dir + "/s.yaml"));
  EXPECT_EQ(names(es), (std::vector<std::string>{"button-cem-s0", "button-cem-s1", "push-latco-s0", "push-latco-s1"}));
  EXPECT_EQ(es[0].config.get_string("horizon", ""), "7");
  EXPECT_FALSE(es[2].config.has("horizon") && es[2].config.get_string("horizon", "") == "7");
  EXPECT_EQ(es[3].config.get_string("model_lr", ""), "0.002");
  for (const auto& e : es)
    for (const auto& [k, v] : e.overrides) EXPECT_NE(k, "include");
  // Two files with the same task and planner would share a folder name: an error.
  std::ofstream(dir + "/c.yaml") << "include: " << kBase << "\ntask: button\nplanner: cem\nhorizon: 9\n";
  std::ofstream(dir + "/t.yaml") << "include: [a.yaml, c.yaml]\n";
  EXPECT_THROW(expand_sweep(read_sweep_file(dir + "/t.yaml")), Error);
  EXPECT_NE(error_of("include: [a.yaml, a.yaml]\n").find("distinct"), std::string::npos);
}

// Every sweep file the repository ships plans: its keys resolve (demo entries by a dry run). The
// built binary plans each (a process per file, as a user runs it).
TEST(Sweep, EverySweepFileInConfigsPlans) {
  const char* env = std::getenv("LATCO_BIN");
  const std::string bin = fs::absolute(env ? env : "build/latco").string();
  ASSERT_TRUE(fs::exists(bin)) << bin << " (build it first: make build/latco)";
  int files = 0;
  for (const auto& f : fs::recursive_directory_iterator("configs/sweeps")) {
    if (f.path().extension() != ".yaml") continue;
    const std::string out = fresh_dir("configs_" + f.path().parent_path().filename().string() + "_" +
                                      f.path().stem().string());
    const std::string log = out + ".log";
    ASSERT_EQ(std::system((bin + " sweep plan " + f.path().string() + " --out " + out + "/g > " + log + " 2>&1").c_str()), 0)
        << f.path() << "\n" << read(log);
    EXPECT_FALSE(read_sweep_tsv(out + "/g").empty()) << f.path();
    ++files;
  }
  EXPECT_GE(files, 12);
}
