// The one writer of the checkpoints of a run that trains the world model (train, train-model,
// the demo): the model and its Adam state (ModelTrainer::save), the run's counters, the replay's
// random stream and notes, written atomically as dir/ckpt-<index>.bin (io/checkpoint.h).
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "agent/replay.h"
#include "model/elbo.h"

namespace latco {

struct RunCheckpoint {
  int64_t index = 0;                         // the file's number: episodes (train) or gradient steps
  int64_t env_steps = 0, episodes = 0;       // the run's counters
  Replay* replay = nullptr;                  // its sampling stream is saved as "replay" (null: none)
  std::map<std::string, std::string> notes;  // "config": the resolved config, ...
  int keep = 0;                              // only the newest `keep` stay afterwards (0: all)
};
// Creates dir when missing. Returns the path written.
std::string write_run_checkpoint(const std::string& dir, const ModelTrainer& trainer, const RunCheckpoint& r);

}  // namespace latco
