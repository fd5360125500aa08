// The one training loop of the world model, used by the agent (`latco train`), `latco train-model`
// and the demo: sample B sequences of L steps from the replay, take one Adam step on the ELBO
// (Eq. (2), ModelTrainer), log the step, checkpoint on a cadence; a NaN/Inf saves what reproduces it.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "agent/replay.h"
#include "core/timer.h"
#include "io/csv.h"
#include "model/elbo.h"

namespace latco {

struct TrainLoop {
  int batch = 1, length = 1;      // B sequences of L steps per gradient step
  int64_t until = 0;              // train while trainer.steps() < until ...
  double max_seconds = 0;         // ... and clock->seconds() < max_seconds (0: no cap)
  const Timer* clock = nullptr;   // the run's clock: the cap and the seconds column (null: one from the call)
  CsvWriter* metrics = nullptr;   // one row per step, train_metrics_columns() (null: none)
  int checkpoint_every = 0;       // save_checkpoint(false) after every N-th step and the last (0: never)
  // A non-finite loss or gradient (NonFiniteError) saves the batch as
  // failure_dir/nonfinite_batch_step<k>.npz and calls save_checkpoint(true), which writes the still
  // finite parameters keeping one older checkpoint more and returns its path; then an Error names
  // the step, the tensor, the batch file and the checkpoint.
  std::string failure_dir;
  std::function<std::string(bool failure)> save_checkpoint;
  std::function<void(const TrainMetrics&, const SequenceBatch&)> after_step;  // progress, pictures (or empty)
  std::function<bool()> stop;  // asked before each step: true ends the loop there (or empty)
};

// The columns of TrainLoop::metrics: grad_step, loss, kl, image_ll, reward_ll, grad_norm, seconds.
std::vector<std::string> train_metrics_columns();

// Runs the loop; ends with trainer.sync_model() (the device-trained weights to the host model).
// Returns the number of steps taken.
int64_t run_train_loop(ModelTrainer& trainer, Replay& replay, const TrainLoop& loop);

}  // namespace latco
