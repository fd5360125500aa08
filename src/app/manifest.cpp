// manifest.yaml writer and reader (see manifest.h). The file is rewritten whole, atomically,
// at the start and at the end of every attempt.
#include "app/manifest.h"

#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/tensor.h"
#include "core/thread_pool.h"

#ifndef LATCO_GIT_STATE
#define LATCO_GIT_STATE "unknown"
#endif
#ifndef LATCO_BUILD_FLAGS
#define LATCO_BUILD_FLAGS "unknown"
#endif

namespace fs = std::filesystem;

namespace latco {
namespace {

// The field order of the file.
const char* const kFields[] = {"command", "run", "commit", "dirty", "build_flags", "seed", "host", "cpu", "gpu",
                               "threads", "pid", "attempts", "resumed_from", "start_time", "end_time", "exit_status",
                               "interrupted", "error"};

std::string now_utc() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string first_line(const std::string& s) {
  std::string l = s.substr(0, s.find('\n'));
  return l.size() > 400 ? l.substr(0, 400) + "..." : l;
}

void write_text_atomic(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) LATCO_FAIL(tmp << ": cannot open for writing");
    f << text;
    f.flush();
    if (!f) LATCO_FAIL(tmp << ": write failed");
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) LATCO_FAIL(path << ": cannot rename " << tmp << " into place: " << ec.message());
}

}  // namespace

std::string build_commit() {
  std::string s = LATCO_GIT_STATE;
  const size_t d = s.find("-dirty");
  return d == std::string::npos ? s : s.substr(0, d);
}
bool build_dirty() { return std::string(LATCO_GIT_STATE).find("-dirty") != std::string::npos; }
std::string build_flags() { return LATCO_BUILD_FLAGS; }

std::string host_name() {
  char buf[256] = "";
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  for (std::string line; std::getline(f, line);) {
    if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos) {
      std::string v = line.substr(line.find(':') + 1);
      return v.substr(v.find_first_not_of(" \t"));
    }
  }
  return "unknown";
}

std::string gpu_model() {
  if (!device::cuda_available()) return "none";
  const std::string s = device::cuda_status();  // "CUDA: <name> (sm_90, N MiB)"
  return s.rfind("CUDA: ", 0) == 0 ? s.substr(6) : s;
}

std::map<std::string, std::string> read_manifest(const std::string& path) {
  std::map<std::string, std::string> out;
  std::ifstream f(path);
  if (!f) return out;
  std::string line, block, block_key;
  bool in_block = false;
  for (int n = 1; std::getline(f, line); ++n) {
    if (in_block) {
      if (line.rfind("  ", 0) == 0 || line.empty()) {
        block += (line.empty() ? "" : line.substr(2)) + "\n";
        continue;
      }
      in_block = false;
      out[block_key] = block;
    }
    if (line.empty() || line[0] == '#') continue;
    const size_t c = line.find(':');
    if (c == std::string::npos) LATCO_FAIL(path << " line " << n << ": expected 'key: value', got '" << line << "'");
    const std::string key = line.substr(0, c);
    std::string value = c + 1 < line.size() ? line.substr(c + 1) : "";
    if (!value.empty() && value[0] == ' ') value.erase(0, 1);
    if (value == "|") {
      in_block = true;
      block.clear();
      block_key = key;
      continue;
    }
    out[key] = value;
  }
  if (in_block) out[block_key] = block;
  return out;
}

RunManifest::RunManifest(const std::string& dir, const std::string& command, const Config& cfg,
                         const std::string& resumed_from, bool with_host)
    : path_(dir + "/manifest.yaml"), dir_(dir) {
  fs::create_directories(dir);
  const auto old = read_manifest(path_);
  int attempts = 0;
  if (old.count("attempts")) attempts = std::atoi(old.at("attempts").c_str());
  f_["command"] = command;
  f_["run"] = fs::path(dir).lexically_normal().filename().string();
  if (f_["run"].empty()) f_["run"] = fs::path(dir).lexically_normal().parent_path().filename().string();
  f_["commit"] = build_commit();
  f_["dirty"] = build_dirty() ? "true" : "false";
  f_["build_flags"] = build_flags();
  const Config::Entry* seed = cfg.find("seed");
  f_["seed"] = seed ? seed->value : "0";
  if (with_host) f_["host"] = host_name();
  f_["cpu"] = cpu_model();
  f_["gpu"] = gpu_model();
  f_["threads"] = std::to_string(num_threads());
  f_["pid"] = std::to_string(::getpid());
  f_["attempts"] = std::to_string(attempts + 1);
  f_["resumed_from"] = resumed_from.empty() ? "" : fs::path(resumed_from).filename().string();
  f_["start_time"] = now_utc();
  // The keys given (file and command line); replaced by the run's resolved config.yaml once it exists.
  std::string text;
  for (const auto& [k, e] : cfg.entries()) text += k + ": " + e.value + "\n";
  f_["config"] = text;
  write();
}

void RunManifest::finish(int exit_status, bool interrupted) {
  f_["end_time"] = now_utc();
  f_["exit_status"] = std::to_string(exit_status);
  f_["interrupted"] = interrupted ? "true" : "false";
  write();
}

void RunManifest::fail(const std::string& error) {
  f_["error"] = first_line(error);
  finish(1, false);
}

void RunManifest::write() const {
  std::string config = f_.at("config");
  std::ifstream resolved(dir_ + "/config.yaml");
  if (resolved) {
    std::stringstream ss;
    ss << resolved.rdbuf();
    config = ss.str();
  }
  std::string text = "# manifest of a latco run: what produced it and how it went\n";
  for (const char* k : kFields) {
    auto it = f_.find(k);
    if (it != f_.end()) text += std::string(k) + ": " + it->second + "\n";
  }
  text += "config: |\n";
  std::istringstream lines(config);
  for (std::string l; std::getline(lines, l);) text += "  " + l + "\n";
  write_text_atomic(path_, text);
}

}  // namespace latco
