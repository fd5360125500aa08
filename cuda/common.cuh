// Shared by the .cu files: error checks that throw latco::Error with file and line
// (never exit), launch-size helpers, and the per-thread cuBLAS handle.
// Left out: streams (everything runs on the legacy default stream).
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "cuda_api.h"
#include "core/error.h"

#define cudaCheck(expr)                                                                            \
  do {                                                                                             \
    cudaError_t err_ = (expr);                                                                     \
    if (err_ != cudaSuccess) {                                                                     \
      cudaGetLastError(); /* clear a sticky-free error so later calls are not blamed */            \
      LATCO_FAIL(__FILE__ << ":" << __LINE__ << ": " << #expr << ": " << cudaGetErrorString(err_)); \
    }                                                                                              \
  } while (0)

// After a kernel launch: reports bad launch configurations at the launch site.
#define cudaCheckLaunch() cudaCheck(cudaGetLastError())

#define cublasCheck(expr)                                                                           \
  do {                                                                                              \
    cublasStatus_t st_ = (expr);                                                                    \
    if (st_ != CUBLAS_STATUS_SUCCESS)                                                               \
      LATCO_FAIL(__FILE__ << ":" << __LINE__ << ": " << #expr << ": cuBLAS status " << (int)st_ << " (" \
                          << ::latco::cuda::cublas_status_name(st_) << ")");                       \
  } while (0)

namespace latco::cuda {

constexpr int kThreads = 256;  // block size of the elementwise kernels

// Blocks for n elements with grid-stride loops; capped so huge n still launches.
inline unsigned grid_for(int64_t n, int threads = kThreads) {
  int64_t b = (n + threads - 1) / threads;
  if (b < 1) b = 1;
  if (b > 65535 * 8) b = 65535 * 8;
  return static_cast<unsigned>(b);
}

const char* cublas_status_name(cublasStatus_t s);
// This thread's cuBLAS handle (created on first use; one per thread because a handle
// must not be used by two threads at once).
cublasHandle_t cublas_handle();

}  // namespace latco::cuda
