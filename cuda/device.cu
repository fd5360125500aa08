// Device memory and the runtime's view of the GPU (runtime API only).
// Without a usable device every query reports it in one line and callers fall back to the CPU.
#include <cuda_runtime.h>

#include <cstdio>
#include <string>

#include "core/error.h"
#include "core/tensor.h"

#define CUDA_CHECK(expr)                                                              \
  do {                                                                                \
    cudaError_t err_ = (expr);                                                        \
    if (err_ != cudaSuccess)                                                          \
      LATCO_FAIL(__FILE__ << ":" << __LINE__ << ": " << #expr << ": " << cudaGetErrorString(err_)); \
  } while (0)

namespace latco::device {

bool cuda_available() {
  static int count = [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) { cudaGetLastError(); return 0; }
    return n;
  }();
  return count > 0;
}

std::string cuda_status() {
  int n = 0;
  cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) { cudaGetLastError(); return std::string("CUDA: no usable device (") + cudaGetErrorString(err) + "); using the CPU"; }
  if (n == 0) return "CUDA: no device found; using the CPU";
  cudaDeviceProp p;
  CUDA_CHECK(cudaGetDeviceProperties(&p, 0));
  return std::string("CUDA: ") + p.name;
}

float* cuda_alloc(int64_t n) {
  LATCO_CHECK(cuda_available()) << cuda_status();
  void* p = nullptr;
  CUDA_CHECK(cudaMalloc(&p, (n > 0 ? n : 1) * sizeof(float)));
  return static_cast<float*>(p);
}

void cuda_free(float* p) {
  if (p) cudaFree(p);
}

void cuda_copy(float* dst, Device dst_dev, const float* src, Device src_dev, int64_t n) {
  cudaMemcpyKind kind = dst_dev == Device::CUDA
                            ? (src_dev == Device::CUDA ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                            : (src_dev == Device::CUDA ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
  if (n) CUDA_CHECK(cudaMemcpy(dst, src, n * sizeof(float), kind));
}

}  // namespace latco::device
