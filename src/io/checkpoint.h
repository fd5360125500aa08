// Run checkpoints: one binary file holding named tensors (model parameters, Adam
// moments), named random-stream states and run counters, behind a versioned header
// and a checksum. Written atomically (io/atomic_file.h); the newest N are kept.
// A truncated or corrupted file, or a version mismatch, throws an Error naming the file.
// Left out: compression, partial loading, cross-endian files (little-endian only).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/tensor.h"

namespace latco {

constexpr uint32_t kCheckpointVersion = 1;

struct Checkpoint {
  // Counters of the run.
  int64_t grad_steps = 0;  // gradient updates of the world model
  int64_t env_steps = 0;   // environment steps collected
  int64_t episodes = 0;    // episodes collected
  std::map<std::string, Tensor> tensors;      // "model/enc_conv1_w", "adam/m/model/enc_conv1_w", ...
  std::map<std::string, Rng> rngs;            // stream states by name
  std::map<std::string, std::string> notes;   // free-form metadata (e.g. the resolved config)

  // Throws Error "<what>: checkpoint has no tensor 'name'" / shape mismatch.
  const Tensor& tensor(const std::string& name, const std::string& what) const;
  // Copies tensor `name` into dst (same shape required).
  void read_into(const std::string& name, Tensor& dst, const std::string& what) const;
  Rng rng(const std::string& name, const std::string& what) const;
};

// Writes path atomically (unique temporary file, fsync, rename). Creates no directories.
void save_checkpoint(const std::string& path, const Checkpoint& ck);
// Throws Error naming `path` on a missing, truncated, corrupted or wrong-version file.
Checkpoint load_checkpoint(const std::string& path);
// The same from the file's bytes in memory; `path` names them in errors.
Checkpoint parse_checkpoint(const std::vector<uint8_t>& data, const std::string& path);

// dir/ckpt-000001234.bin for grad step 1234.
std::string checkpoint_path(const std::string& dir, int64_t step);
// The checkpoint with the highest step in dir, or "" if there is none.
std::string latest_checkpoint(const std::string& dir);
// Loads the newest checkpoint of dir that reads back intact into ck and returns its path
// ("" if dir holds none that does); each corrupt newer one is skipped with a warning on
// stderr naming it (and its error is appended to skipped, if given).
std::string load_latest_intact(const std::string& dir, Checkpoint& ck, std::vector<std::string>* skipped = nullptr);
// Deletes all but the newest `keep` checkpoints in dir (keep >= 1).
void prune_checkpoints(const std::string& dir, int keep);

}  // namespace latco
