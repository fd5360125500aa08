// Scripted experts: state-based controllers for every tabletop task and both
// lottery goals, returning an action in [-1, 1] from the env's true state, with
// optional seeded Gaussian action noise. Not here: experts for locomotion.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/streams.h"

namespace latco {

class Expert {
 public:
  virtual ~Expert() = default;
  // Starts an episode: clears phase memory and reseeds the noise stream.
  void reset(uint64_t seed) {
    rng_ = Rng(seed).derive(streams::kExpertNoise);
    reset_phase();
  }
  // state: the env's state(); action: (action_dim) written, clipped to [-1, 1].
  void act(const std::vector<double>& state, float* action);
  virtual int action_dim() const = 0;
  float noise = 0;  // std of the Gaussian added to each action entry before clipping

 protected:
  virtual void reset_phase() {}
  virtual void policy(const std::vector<double>& state, float* action) = 0;

 private:
  Rng rng_;
};

// Tasks with an expert: reach, button, window, drawer, push, thermos, hammer,
// lottery (goal "lottery") and lottery_safe (the same task, goal "safe"); lottery_paper and
// lottery_paper_safe likewise for the paper-text payoffs; each <task>_dense uses its task's expert.
std::vector<std::string> expert_names();
// Unknown task -> Error listing the ones that have experts.
std::unique_ptr<Expert> make_expert(const std::string& task, float noise = 0);

}  // namespace latco
