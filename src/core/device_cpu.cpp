// Device hooks for builds without CUDA: every request for GPU memory is an error.
#ifndef HAVE_CUDA
#include "core/error.h"
#include "core/tensor.h"

namespace latco::device {
bool cuda_available() { return false; }
std::string cuda_status() { return "CUDA: not compiled in (CPU build)"; }
float* cuda_alloc(int64_t) { LATCO_FAIL("this build has no CUDA support: rebuild where nvcc is found"); }
void cuda_free(float*) {}
void cuda_copy(float*, Device, const float*, Device, int64_t) {
  LATCO_FAIL("this build has no CUDA support: rebuild where nvcc is found");
}
}  // namespace latco::device
#endif
