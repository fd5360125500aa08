// Sequence replay: whole episodes stored with uint8 frames in one ring buffer whose
// capacity (in steps) is fixed at construction; its memory grows with the data
// (a large capacity costs nothing until filled; running out of memory is an Error
// saying so), and the oldest episodes are evicted whole when a new one does not fit. Sampling draws B windows of L steps uniformly
// over all valid (episode, start) pairs from the buffer's own seeded stream.
// Left out: prioritised sampling, sequences that cross episode boundaries.
#pragma once
#include <cstdint>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "core/rng.h"
#include "env/episode.h"
#include "model/sequence_batch.h"

namespace latco {

class Replay {
 public:
  // capacity: steps kept; H, W: frame size (3 channels); A: action size. Prints its size when full.
  Replay(int64_t capacity, int H, int W, int A, uint64_t seed, bool verbose = true);

  // Adds one whole episode of T steps (see SequenceBatch for the row alignment).
  //   image: (T, H, W, 3) uint8,  action: (T, A),  reward: (T)
  void add(int T, const uint8_t* image, const float* action, const float* reward);
  void add(const Episode& e);  // checks the frame and action sizes
  // Loads every *.npz episode file in dir (sorted by name); returns how many were added.
  int load_dir(const std::string& dir);

  // B windows of L consecutive steps, uniform over valid (episode, start) pairs.
  void sample(int B, int L, SequenceBatch& out);
  // One specific window (for diagnostics and tests): episode index (0 = oldest kept).
  void window(int episode, int start, int L, SequenceBatch& out, int slot = 0) const;

  int64_t capacity() const { return capacity_; }
  int64_t steps() const { return stored_; }          // steps currently held
  int64_t total_steps() const { return total_; }     // steps ever added
  int episodes() const { return int(eps_.size()); }
  int episode_length(int i) const { return eps_.at(i).length; }
  int64_t valid_starts(int L) const;                 // number of (episode, start) pairs for length L
  int H() const { return H_; }
  int W() const { return W_; }
  int A() const { return A_; }
  size_t bytes() const;        // memory held now
  size_t step_bytes() const;   // memory per stored step

  Rng& rng() { return rng_; }                        // sampling stream (its state goes in checkpoints)
  const uint8_t* frame(int episode, int t) const;    // (H, W, 3)

 private:
  struct Ep {
    int64_t begin;  // ring index of step 0 (monotone counter; position = begin % capacity)
    int length;
  };
  int64_t capacity_;
  int H_, W_, A_;
  int64_t frame_size_;
  void reserve_steps(int64_t steps);  // grows the arrays to hold ring positions [0, steps)
  int64_t allocated_ = 0;        // ring positions the arrays hold (<= capacity)
  std::vector<uint8_t> image_;   // (allocated, H, W, 3)
  std::vector<float> action_;    // (allocated, A)
  std::vector<float> reward_;    // (allocated)
  std::deque<Ep> eps_;
  int64_t head_ = 0;    // next write position (monotone)
  int64_t stored_ = 0;
  int64_t total_ = 0;
  Rng rng_;
  std::vector<int64_t> cum_;                 // sample(): valid starts per episode, prefix sums
  std::vector<std::pair<int, int>> picks_;   // sample(): (episode, start) of each window
};

// A training batch as an .npz (image (B, L, H, W, 3) u1, action (B, L, A) f4, reward (B, L) f4),
// written by the NaN guards of train and train-model so the failing step can be reproduced.
void save_batch(const std::string& path, const SequenceBatch& b);

}  // namespace latco
