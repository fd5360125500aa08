// Counter-based random streams: every draw is a pure function of
// (seed, stream, counter), so results do not depend on thread count or order.
// A stream is derived from a seed and any number of integer keys
// (e.g. Rng(seed).derive(iteration).derive(sample)).
#pragma once
#include <cmath>
#include <cstdint>

namespace latco {

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

class Rng {
 public:
  explicit Rng(uint64_t seed = 0) : key_(splitmix64(seed ^ 0x6A09E667F3BCC908ull)), counter_(0) {}
  // A child stream, independent of this one and of other keys.
  Rng derive(uint64_t k) const { Rng r; r.key_ = splitmix64(key_ ^ splitmix64(k + 0x1234567ull)); r.counter_ = 0; return r; }

  uint64_t next_u64() { return splitmix64(key_ + 0x9E3779B97F4A7C15ull * (++counter_)); }
  // Uniform in [0, 1) with 24 random bits (exactly representable in float).
  float uniform() { return (next_u64() >> 40) * (1.0f / 16777216.0f); }
  double uniform_double() { return (next_u64() >> 11) * (1.0 / 9007199254740992.0); }
  float uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }
  // Standard normal by Box-Muller (one value per call; no cached state).
  float normal() {
    double u1 = ((next_u64() >> 11) + 1.0) * (1.0 / 9007199254740993.0);  // (0, 1]
    double u2 = uniform_double();
    return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
  }
  float normal(float mean, float stddev) { return mean + stddev * normal(); }
  uint32_t below(uint32_t n) { return static_cast<uint32_t>((next_u64() >> 32) * n >> 32); }

  // State, for checkpoints.
  uint64_t key() const { return key_; }
  uint64_t counter() const { return counter_; }
  void set_state(uint64_t key, uint64_t counter) { key_ = key; counter_ = counter; }

 private:
  uint64_t key_, counter_;
};

}  // namespace latco
