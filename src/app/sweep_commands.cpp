// `latco sweep plan | run | local | slurm | status`: a planned sweep folder run entry by
// entry, on this machine (child processes of this binary) or as a Slurm job array.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <thread>

#include "app/command.h"
#include "app/manifest.h"
#include "app/sweep.h"
#include "core/error.h"
#include "core/timer.h"
#include "io/progress.h"

namespace fs = std::filesystem;

namespace latco {
namespace {

std::string bytes_text(double b) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000 && u < 4) b /= 1000, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", b, units[u]);
  return buf;
}

std::string need_dir(const Args& args, const char* sub) {
  LATCO_CHECK(args.positional.size() == 2) << "sweep " << sub << ": expected one sweep folder, e.g. latco sweep " << sub
                                           << " runs/NAME";
  return args.positional[1];
}

int sweep_plan(const Args& args) {
  LATCO_CHECK(args.positional.size() == 2) << "sweep plan: expected a sweep file: latco sweep plan SWEEP.yaml --out runs/NAME";
  const std::string out = args.get("out", "");
  LATCO_CHECK(!out.empty()) << "sweep plan: --out runs/NAME is required";
  args.check_all_read("sweep plan");
  const SweepFile sweep = read_sweep_file(args.positional[1]);
  const auto entries = expand_sweep(sweep);
  // Every entry's config is checked (and its disk use estimated) before anything is written.
  // Entries that differ only in their seed are checked once (the estimate does not depend on it).
  int64_t total = 0, largest = 0;
  std::map<std::string, int64_t> checked;
  for (const auto& e : entries) {
    std::string key;
    for (const auto& [k, en] : e.config.entries())
      if (k != "seed") key += k + "=" + en.value + "\n";
    if (!checked.count(key)) {
      try {
        checked[key] = estimate_run_bytes(e.config, sweep.command);
      } catch (const Error& err) {
        LATCO_FAIL(sweep.path << ", entry " << e.name << ": " << err.what());
      }
    }
    const int64_t b = checked.at(key);
    total += b;
    largest = std::max(largest, b);
  }
  const auto runs = plan_sweep(sweep, out);
  std::printf("sweep plan: %zu runs in %s (sweep.tsv, one folder each with config.sweep.yaml)\n", runs.size(),
              out.c_str());
  for (const auto& r : runs) std::printf("  %3d  %s\n", r.index, r.folder.c_str());
  std::printf("disk estimate: %s in all (episode files and checkpoints), at most %s per run\n", bytes_text(total).c_str(),
              bytes_text(largest).c_str());
  return 0;
}

int sweep_run(const Args& args) {
  const std::string dir = need_dir(args, "run");
  LATCO_CHECK(args.has("index")) << "sweep run: --index I is required (an index of " << dir << "/sweep.tsv)";
  const int64_t index = args.get_int("index", -1);
  const bool retry = args.has("retry-failed");
  args.check_all_read("sweep run");
  const auto runs = read_sweep_tsv(dir);
  LATCO_CHECK(index >= 0 && index < int64_t(runs.size()))
      << "sweep run: --index " << index << " is not in " << dir << "/sweep.tsv (0.." << runs.size() - 1 << ")";
  const Config settings = read_sweep_settings(dir);
  const std::string command = settings.get_string("command", "train");
  const bool with_host = settings.get_bool("manifest_host", true);
  const std::string run_dir = dir + "/" + runs[index].folder, cfg = run_dir + "/config.sweep.yaml";
  const RunStatus st = run_status(run_dir);
  const RunAction action = decide_action(st, retry);
  std::printf("sweep run %lld: %s: %s\n", (long long)index, runs[index].folder.c_str(), action_name(action));
  if (action == RunAction::Skip) return 0;
  if (action == RunAction::SkipFailed) {
    std::printf("  it failed before: %s\n", st.detail.c_str());
    return 1;
  }
  if (command == "demo") {  // the demo has no checkpoints to resume from: it starts over
    RunManifest manifest(run_dir, "demo", Config::load(cfg), "", with_host);
    try {
      run_command("demo", {"--config", cfg, "demo_out=" + run_dir});
      manifest.finish(0);
    } catch (const std::exception& e) {
      manifest.fail(e.what());
      throw;
    }
    return 0;
  }
  // The run's config is passed on resume too, so a resumed run reads exactly the planned keys.
  std::vector<std::string> a = {"--config", cfg, "--out", run_dir};
  if (action == RunAction::Resume) a.push_back("--resume");
  if (!with_host) a.push_back("--no-host");
  return run_command("train", a);
}

int sweep_status(const Args& args) {
  const std::string dir = need_dir(args, "status");
  args.check_all_read("sweep status");
  const auto runs = read_sweep_tsv(dir);
  size_t w = 3;
  for (const auto& r : runs) w = std::max(w, r.folder.size());
  std::printf("%5s  %-*s  %-11s  %s\n", "index", int(w), "run", "state", "detail");
  std::map<RunState, int> count;
  for (const auto& r : runs) {
    const RunStatus st = run_status(dir + "/" + r.folder);
    ++count[st.state];
    std::printf("%5d  %-*s  %-11s  %s\n", r.index, int(w), r.folder.c_str(), state_name(st.state), st.detail.c_str());
  }
  std::printf("%zu runs: %d finished, %d running, %d interrupted, %d failed, %d not started\n", runs.size(),
              count[RunState::Finished], count[RunState::Running], count[RunState::Interrupted],
              count[RunState::Failed], count[RunState::NotStarted]);
  return 0;
}

int sweep_local(const Args& args) {
  const std::string dir = need_dir(args, "local");
  const int jobs = static_cast<int>(args.get_int("jobs", 1));
  const bool retry = args.has("retry-failed");
  args.check_all_read("sweep local");
  LATCO_CHECK(jobs >= 1) << "sweep local: --jobs must be at least 1";
  const auto runs = read_sweep_tsv(dir);
  read_sweep_settings(dir);
  const int cores = std::max(1u, std::thread::hardware_concurrency());
  const int threads = std::max(1, cores / jobs);
  const std::string exe = fs::read_symlink("/proc/self/exe").string();
  fs::create_directories(dir + "/logs");

  std::vector<int> todo;
  int done = 0, failed = 0;
  for (const auto& r : runs) {
    const RunAction a = decide_action(run_status(dir + "/" + r.folder), retry);
    if (a == RunAction::Skip) ++done;
    else if (a == RunAction::SkipFailed) ++failed;
    else todo.push_back(r.index);
  }
  std::printf("sweep local: %zu runs: %d finished before, %d failed before%s, %zu to run, %d at a time with %d "
              "threads each; logs in %s/logs/\n",
              runs.size(), done, failed, failed && !retry ? " (--retry-failed runs them)" : "", todo.size(), jobs,
              threads, dir.c_str());
  std::map<pid_t, std::pair<int, double>> running;  // pid -> (index, start second)
  Timer clock;
  double run_seconds = 0;
  int finished_here = 0;
  size_t next = 0;
  std::string last;
  double last_print = -1e9;
  while (next < todo.size() || !running.empty()) {
    while (next < todo.size() && int(running.size()) < jobs) {
      const int index = todo[next++];
      const std::string log = dir + "/logs/" + std::to_string(index) + ".log";
      const pid_t pid = fork();
      LATCO_CHECK(pid >= 0) << "sweep local: fork failed";
      if (pid == 0) {
        const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) dup2(fd, 1), dup2(fd, 2);
        const std::string idx = std::to_string(index), th = std::to_string(threads);
        std::vector<const char*> argv = {"latco", "sweep", "run", dir.c_str(), "--index", idx.c_str(),
                                         "--threads", th.c_str()};
        if (retry) argv.push_back("--retry-failed");
        argv.push_back(nullptr);
        execv(exe.c_str(), const_cast<char* const*>(argv.data()));
        _exit(127);
      }
      running[pid] = {index, clock.seconds()};
    }
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid > 0 && running.count(pid)) {
      const auto [index, start] = running[pid];
      running.erase(pid);
      const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (ok) {
        ++done;
        ++finished_here;
        run_seconds += clock.seconds() - start;
      } else {
        ++failed;
        std::printf("sweep local: run %d (%s) failed; see %s/logs/%d.log\n", index, runs[index].folder.c_str(),
                    dir.c_str(), index);
      }
    } else if (pid <= 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    const size_t left = todo.size() - next + running.size();
    std::string eta = "estimating the time left";
    if (finished_here > 0)
      eta = "about " + Progress::format_seconds(run_seconds / finished_here * double(left) / jobs) + " left";
    const std::string line = "sweep local: " + std::to_string(done) + "/" + std::to_string(runs.size()) + " done, " +
                             std::to_string(running.size()) + " running, " + std::to_string(failed) + " failed";
    if (line != last || clock.seconds() - last_print > 30) {
      std::printf("%s, %s (%s)\n", line.c_str(), eta.c_str(), Progress::format_seconds(clock.seconds()).c_str());
      std::fflush(stdout);
      last = line;
      last_print = clock.seconds();
    }
  }
  std::printf("sweep local: %d of %zu runs finished, %d failed (%s)\n", done, runs.size(), failed,
              Progress::format_seconds(clock.seconds()).c_str());
  return failed ? 1 : 0;
}

int sweep_slurm(const Args& args) {
  const std::string dir = need_dir(args, "slurm");
  const Config settings = read_sweep_settings(dir);
  auto pick = [&](const char* flag, const char* key) {
    const std::string from_file = settings.get_string(key, "");
    return args.has(flag) ? args.get(flag) : from_file;
  };
  const std::string partition = pick("partition", "slurm_partition"), time = pick("time", "slurm_time"),
                    cpus = pick("cpus", "slurm_cpus"), mem = pick("mem", "slurm_mem"), gpus = pick("gpus", "slurm_gpus"),
                    max_running = pick("max-running", "slurm_max_running");
  const bool submit = args.has("submit");
  settings.get_string("command", "");
  settings.get_string("axes", "");
  settings.get_bool("manifest_host", true);
  settings.check_all_used();
  args.check_all_read("sweep slurm");
  const auto runs = read_sweep_tsv(dir);
  const std::string abs_dir = fs::absolute(dir).lexically_normal().string();
  const std::string exe = fs::read_symlink("/proc/self/exe").string();
  fs::create_directories(dir + "/logs");
  const std::string name = fs::path(abs_dir).filename().string();
  std::string s = "#!/bin/bash\n";
  s += "# latco sweep " + name + ": " + std::to_string(runs.size()) + " runs as a Slurm job array (latco sweep slurm).\n";
  s += "# Array task I runs entry I of sweep.tsv: it skips a finished entry, resumes one that has a\n"
       "# checkpoint and starts the others, so a requeued or re-submitted task repeats only the work since\n"
       "# its last checkpoint (Slurm sends SIGTERM at a time limit or a preemption).\n"
       "# Assumes a filesystem shared by all nodes: this binary, the task data and the sweep folder\n"
       "# must be at the same paths on every node.\n";
  s += "#SBATCH --job-name=latco-" + name + "\n";
  s += "#SBATCH --array=0-" + std::to_string(runs.size() - 1) + (max_running.empty() ? "" : "%" + max_running) + "\n";
  s += "#SBATCH --requeue\n#SBATCH --open-mode=append\n";
  s += "#SBATCH --output=" + abs_dir + "/logs/%a.log\n";
  s += "#SBATCH --chdir=" + fs::current_path().string() + "\n";
  s += "#SBATCH --cpus-per-task=" + (cpus.empty() ? std::string("1") : cpus) + "\n";
  if (!time.empty()) s += "#SBATCH --time=" + time + "\n";
  if (!partition.empty()) s += "#SBATCH --partition=" + partition + "\n";
  if (!mem.empty()) s += "#SBATCH --mem=" + mem + "\n";
  if (!gpus.empty()) s += "#SBATCH --gpus=" + gpus + "\n";
  s += "exec " + exe + " sweep run " + abs_dir + " --index \"$SLURM_ARRAY_TASK_ID\" --threads \"${SLURM_CPUS_PER_TASK:-1}\"\n";
  const std::string path = dir + "/sweep.sbatch";
  std::ofstream(path) << s;
  fs::permissions(path, fs::perms::owner_exec, fs::perm_options::add);
  std::printf("sweep slurm: wrote %s (array 0-%zu, logs in %s/logs/); it assumes a filesystem shared by all "
              "nodes, as Slurm sites have\n",
              path.c_str(), runs.size() - 1, dir.c_str());
  if (!submit) return 0;
  const std::string cmd = "sbatch --parsable " + path + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  LATCO_CHECK(p) << "sweep slurm: cannot run sbatch";
  std::string out;
  char buf[256];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  const int rc = pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  if (rc != 0) LATCO_FAIL("sweep slurm: '" << cmd << "' failed: " << out);
  const std::string job = out.substr(0, out.find(';'));
  std::printf("sweep slurm: submitted job %s\n", job.c_str());
  return 0;
}

}  // namespace

int cmd_sweep(const Args& args) {
  LATCO_CHECK(!args.positional.empty()) << "sweep: expected plan, run, local, slurm or status";
  const std::string sub = args.positional[0];
  if (sub == "plan") return sweep_plan(args);
  if (sub == "run") return sweep_run(args);
  if (sub == "local") return sweep_local(args);
  if (sub == "slurm") return sweep_slurm(args);
  if (sub == "status") return sweep_status(args);
  LATCO_FAIL("sweep: unknown subcommand '" << sub << "'; expected plan, run, local, slurm or status");
}

}  // namespace latco
