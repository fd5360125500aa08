// The world model's training loop (agent/train_loop.h).
#include "agent/train_loop.h"

#include "core/error.h"

namespace latco {

std::vector<std::string> train_metrics_columns() {
  return {"grad_step", "loss", "kl", "image_ll", "reward_ll", "grad_norm", "seconds"};
}

int64_t run_train_loop(ModelTrainer& trainer, Replay& replay, const TrainLoop& loop) {
  Timer own;
  const Timer& clock = loop.clock ? *loop.clock : own;
  SequenceBatch batch;
  int64_t taken = 0;
  while (trainer.steps() < loop.until && (loop.max_seconds <= 0 || clock.seconds() < loop.max_seconds)) {
    if (loop.stop && loop.stop()) break;
    replay.sample(loop.batch, loop.length, batch);
    TrainMetrics m;
    try {
      m = trainer.step(batch);
    } catch (const NonFiniteError& e) {
      // Keep what is needed to reproduce it: the batch and the (still finite) parameters.
      const std::string bpath = loop.failure_dir + "/nonfinite_batch_step" + std::to_string(e.step) + ".npz";
      save_batch(bpath, batch);
      const std::string ck = loop.save_checkpoint ? loop.save_checkpoint(true) : std::string("(none)");
      LATCO_FAIL(e.what() << "; batch saved to " << bpath << ", checkpoint to " << ck);
    }
    ++taken;
    if (loop.metrics)
      loop.metrics->row({double(m.grad_step), m.loss, m.kl, m.image_ll, m.reward_ll, m.grad_norm, clock.seconds()});
    if (loop.after_step) loop.after_step(m, batch);
    if (loop.checkpoint_every > 0 && loop.save_checkpoint &&
        (m.grad_step % loop.checkpoint_every == 0 || m.grad_step == loop.until))
      loop.save_checkpoint(false);
  }
  trainer.sync_model();
  return taken;
}

}  // namespace latco
