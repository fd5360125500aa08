// A growable 64-byte aligned scratch buffer, meant as a thread_local per kernel
// (packing, patch matrices), so hot loops reuse memory across calls.
#pragma once
#include <cstdlib>

#include "core/error.h"

namespace latco {

struct Scratch {
  explicit Scratch(const char* owner) : owner(owner) {}
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch() { std::free(p); }
  // At least m floats; contents are not preserved when it grows.
  float* get(size_t m) {
    if (m > n) {
      std::free(p);
      n = (m + 15) / 16 * 16;
      p = static_cast<float*>(std::aligned_alloc(64, n * sizeof(float)));
      LATCO_CHECK(p) << owner << ": cannot allocate " << n * sizeof(float) << " bytes of scratch";
    }
    return p;
  }
  const char* owner;
  float* p = nullptr;
  size_t n = 0;
};

}  // namespace latco
