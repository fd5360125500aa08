// A batch of B training sequences of length L, as replay hands them to the world
// model. Episode alignment (Dreamer): row t holds the observation at t, the action
// that led into it (zeros at the episode's t = 0) and the reward received on arriving.
// Plain host buffers, batch-major; the model converts to its own layout.
#pragma once
#include <cstdint>
#include <vector>

namespace latco {

struct SequenceBatch {
  int B = 0, L = 0;      // sequences, steps per sequence
  int H = 0, W = 0;      // image height, width (3 channels, RGB)
  int A = 0;             // action size
  std::vector<uint8_t> image;  // (B, L, H, W, 3)
  std::vector<float> action;   // (B, L, A)
  std::vector<float> reward;   // (B, L)

  void resize(int b, int l, int h, int w, int a) {
    B = b; L = l; H = h; W = w; A = a;
    image.assign(size_t(b) * l * h * w * 3, 0);
    action.assign(size_t(b) * l * a, 0.0f);
    reward.assign(size_t(b) * l, 0.0f);
  }
};

}  // namespace latco
