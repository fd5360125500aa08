#include "agent/run_checkpoint.h"

#include <filesystem>

#include "io/checkpoint.h"

namespace latco {

std::string write_run_checkpoint(const std::string& dir, const ModelTrainer& trainer, const RunCheckpoint& r) {
  Checkpoint ck;
  trainer.save(ck);
  ck.env_steps = r.env_steps;
  ck.episodes = r.episodes;
  if (r.replay) ck.rngs["replay"] = r.replay->rng();
  ck.notes = r.notes;
  std::filesystem::create_directories(dir);
  const std::string path = checkpoint_path(dir, r.index);
  save_checkpoint(path, ck);
  if (r.keep > 0) prune_checkpoints(dir, r.keep);
  return path;
}

}  // namespace latco
