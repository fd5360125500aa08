// One episode of an environment (the domain type of env/, agent/ and the replay) and its file:
// an .npz of the arrays image, action, reward, success (io/npz.h), readable by numpy.load.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace latco {

// An episode, Dreamer-aligned: T = steps + 1 rows; row t holds the observation at
// t, the action that led to it (zeros at t = 0) and the reward received on
// arriving there (0 at t = 0); success[t] is the task's criterion at t.
struct Episode {
  int T = 0, H = 0, W = 0, A = 0;
  std::vector<uint8_t> image;    // (T, H, W, 3)
  std::vector<float> action;     // (T, A)
  std::vector<float> reward;     // (T)
  std::vector<uint8_t> success;  // (T), 0 or 1
  // Appends one row; image is (H, W, 3), action (A) or nullptr for zeros.
  void append(const uint8_t* img, const float* act, float rew, bool succ);
  float total_reward() const;
  bool any_success() const;
};

void save_episode(const std::string& path, const Episode& e);  // keys image, action, reward, success
Episode load_episode(const std::string& path);                 // checks shapes and dtypes
// Every *.npz in dir, in file-name order; a folder without episodes is an error.
std::vector<Episode> load_episode_dir(const std::string& dir);
std::vector<std::string> list_episode_files(const std::string& dir);

}  // namespace latco
