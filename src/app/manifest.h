// manifest.yaml of a run folder: what produced the run (commit, dirty tree, build flags,
// resolved config, seed, host, CPU, GPU, threads) and how it went (start and end time,
// exit status, error line, attempts, the checkpoint an attempt resumed from).
//   RunManifest m(out, "train", cfg, resume_checkpoint);   // records the start
//   ... m.finish(0) or m.fail(e.what()) ...                 // records the end
#pragma once
#include <map>
#include <string>

#include "io/config.h"

namespace latco {

// Embedded at build time (the Makefile passes them); "unknown" outside a git checkout.
std::string build_commit();
bool build_dirty();
std::string build_flags();
// This machine.
std::string host_name();
std::string cpu_model();  // /proc/cpuinfo "model name", or "unknown"
std::string gpu_model();  // the CUDA device, or "none"

// Top-level `key: value` fields of a manifest; the `config: |` block comes back as one string
// under "config". A missing file gives an empty map; a malformed line throws naming file and line.
std::map<std::string, std::string> read_manifest(const std::string& path);

class RunManifest {
 public:
  // Writes dir/manifest.yaml with the start of a new attempt (attempts counts them across
  // invocations). resumed_from: the checkpoint this attempt continues from ("" when it starts).
  // with_host = false leaves the host name out (manifests meant to be committed).
  RunManifest(const std::string& dir, const std::string& command, const Config& cfg, const std::string& resumed_from,
              bool with_host = true);
  // Completes it: end time and exit status; interrupted marks a run that stopped before its last
  // episode without an error (a signal), so it is resumed rather than counted as finished.
  void finish(int exit_status, bool interrupted = false);
  void fail(const std::string& error);  // exit status 1 and the error's first line

 private:
  void write() const;
  std::string path_;
  std::map<std::string, std::string> f_;  // fields by name
  std::string dir_;
};

}  // namespace latco
