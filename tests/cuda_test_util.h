// Shared by the CUDA test suites: the skip without a device and the device's copy counter.
#pragma once

#include <gtest/gtest.h>

#include "core/tensor.h"
#include "cuda/cuda_api.h"

#define REQUIRE_GPU()                                                                             \
  do {                                                                                            \
    if (!latco::device::cuda_available()) GTEST_SKIP() << "no CUDA device: " << latco::device::cuda_status(); \
  } while (0)

// The device's copy counter (cuda/device.cu). A CPU build links no cuda/ objects; there every
// test skips (REQUIRE_GPU) before it would read the counter.
inline latco::cuda::CopyStats device_copies() {
#ifdef HAVE_CUDA
  return latco::cuda::copy_stats();
#else
  return {};
#endif
}
