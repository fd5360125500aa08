// Device memory and the runtime's view of the GPU (runtime API only): a caching allocator
// with size-bucketed free lists behind the Tensor storage hooks, copies, the cuBLAS handles.
// Left out: streams, multiple devices (device 0 only), returning cached memory on a timer.
#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common.cuh"
#include "core/tensor.h"

namespace latco::cuda {

// ----- caching allocator -----
// A freed block goes back to the free list of its bucket and is handed out again for the
// next request of the same bucket, so steady-state training and planning loops make no
// cudaMalloc/cudaFree calls (both synchronise the device). Buckets: powers of two from
// 256 B to 1 MiB, then multiples of 1 MiB (at most 2x waste small, < 1 MiB large).
namespace {

size_t bucket_bytes(size_t bytes) {
  const size_t MiB = size_t(1) << 20;
  if (bytes <= 256) return 256;
  if (bytes <= MiB) {
    size_t b = 256;
    while (b < bytes) b <<= 1;
    return b;
  }
  return (bytes + MiB - 1) / MiB * MiB;
}

struct Allocator {
  std::mutex mu;
  std::unordered_map<size_t, std::vector<void*>> free_lists;  // bucket bytes -> cached blocks
  std::unordered_map<void*, size_t> live;                     // handed-out block -> bucket bytes
  AllocStats stats;

  void release_locked() {
    for (auto& kv : free_lists)
      for (void* p : kv.second) cudaFree(p);
    free_lists.clear();
    stats.bytes_cached = 0;
  }
};

// Never destroyed: Tensors freed during static destruction still find it.
Allocator& allocator() {
  static Allocator* a = new Allocator();
  return *a;
}

}  // namespace

void* malloc_bytes(size_t bytes) {
  LATCO_CHECK(device::cuda_available()) << "cannot allocate " << bytes << " bytes on the GPU: " << device::cuda_status();
  size_t b = bucket_bytes(bytes);
  Allocator& A = allocator();
  std::lock_guard<std::mutex> lock(A.mu);
  auto it = A.free_lists.find(b);
  if (it != A.free_lists.end() && !it->second.empty()) {
    void* p = it->second.back();
    it->second.pop_back();
    A.live[p] = b;
    A.stats.cache_hits++;
    A.stats.bytes_cached -= b;
    A.stats.bytes_in_use += b;
    return p;
  }
  void* p = nullptr;
  cudaError_t err = cudaMalloc(&p, b);
  if (err != cudaSuccess) {  // out of memory: give the cache back and try once more
    cudaGetLastError();
    A.release_locked();
    err = cudaMalloc(&p, b);
  }
  if (err != cudaSuccess) {
    cudaGetLastError();
    LATCO_FAIL("GPU allocation of " << b << " bytes failed (" << cudaGetErrorString(err) << "); "
                                    << A.stats.bytes_in_use << " bytes in use");
  }
  A.live[p] = b;
  A.stats.device_mallocs++;
  A.stats.bytes_in_use += b;
  return p;
}

void free_bytes(void* p) {
  if (!p) return;
  Allocator& A = allocator();
  std::lock_guard<std::mutex> lock(A.mu);
  auto it = A.live.find(p);
  if (it == A.live.end()) {  // not ours: hand it straight back to the runtime
    cudaFree(p);
    return;
  }
  size_t b = it->second;
  A.live.erase(it);
  A.free_lists[b].push_back(p);
  A.stats.bytes_in_use -= b;
  A.stats.bytes_cached += b;
}

AllocStats alloc_stats() {
  Allocator& A = allocator();
  std::lock_guard<std::mutex> lock(A.mu);
  return A.stats;
}

void release_cache() {
  Allocator& A = allocator();
  std::lock_guard<std::mutex> lock(A.mu);
  A.release_locked();
}

// ----- copies -----
// Every host-device copy goes through count_copy (the Tensor hooks below included), so
// copy_stats() sees all of them. Atomics: copies may come from several threads.
namespace {
std::atomic<int64_t> n_up{0}, n_down{0}, bytes_up{0}, bytes_down{0};
void count_copy(cudaMemcpyKind kind, size_t bytes) {
  if (kind == cudaMemcpyHostToDevice) n_up++, bytes_up += int64_t(bytes);
  if (kind == cudaMemcpyDeviceToHost) n_down++, bytes_down += int64_t(bytes);
}
}  // namespace

CopyStats copy_stats() { return CopyStats{n_up.load(), n_down.load(), bytes_up.load(), bytes_down.load()}; }

// cudaMemcpy on the default stream waits for earlier kernels, so results are ready on return.
void copy_h2d(void* dst, const void* src, size_t bytes) {
  if (!bytes) return;
  count_copy(cudaMemcpyHostToDevice, bytes);
  cudaCheck(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}
void copy_d2h(void* dst, const void* src, size_t bytes) {
  if (!bytes) return;
  count_copy(cudaMemcpyDeviceToHost, bytes);
  cudaCheck(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}
void copy_d2d(void* dst, const void* src, size_t bytes) {
  if (bytes) cudaCheck(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice));
}
void memset_zero(void* p, size_t bytes) {
  if (bytes) cudaCheck(cudaMemset(p, 0, bytes));
}
void synchronize() { cudaCheck(cudaDeviceSynchronize()); }

// ----- cuBLAS -----
const char* cublas_status_name(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "success";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "not initialized";
    case CUBLAS_STATUS_ALLOC_FAILED: return "alloc failed";
    case CUBLAS_STATUS_INVALID_VALUE: return "invalid value";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "arch mismatch";
    case CUBLAS_STATUS_MAPPING_ERROR: return "mapping error";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "execution failed";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "internal error";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "not supported";
    default: return "unknown";
  }
}

namespace {
struct HandleHolder {
  cublasHandle_t h = nullptr;
  ~HandleHolder() {
    if (h) cublasDestroy(h);
  }
};
}  // namespace

cublasHandle_t cublas_handle() {
  thread_local HandleHolder holder;
  if (!holder.h) {
    LATCO_CHECK(device::cuda_available()) << "cuBLAS needs a GPU: " << device::cuda_status();
    cublasCheck(cublasCreate(&holder.h));
    // Plain FP32 (no TF32 tensor cores) so results match the CPU kernels to float rounding.
    cublasCheck(cublasSetMathMode(holder.h, CUBLAS_DEFAULT_MATH));
  }
  return holder.h;
}

}  // namespace latco::cuda

// ----- the Tensor storage hooks declared in core/tensor.h -----
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
  if (err != cudaSuccess) {
    cudaGetLastError();
    return std::string("CUDA: no usable device (") + cudaGetErrorString(err) + ")";
  }
  if (n == 0) return "CUDA: no device found";
  cudaDeviceProp p;
  cudaCheck(cudaGetDeviceProperties(&p, 0));
  return std::string("CUDA: ") + p.name + " (sm_" + std::to_string(p.major) + std::to_string(p.minor) + ", " +
         std::to_string(p.totalGlobalMem >> 20) + " MiB)";
}

float* cuda_alloc(int64_t n) {
  return static_cast<float*>(cuda::malloc_bytes(static_cast<size_t>(n > 0 ? n : 1) * sizeof(float)));
}

void cuda_free(float* p) { cuda::free_bytes(p); }

void cuda_copy(float* dst, Device dst_dev, const float* src, Device src_dev, int64_t n) {
  cudaMemcpyKind kind = dst_dev == Device::CUDA
                            ? (src_dev == Device::CUDA ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                            : (src_dev == Device::CUDA ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
  if (!n) return;
  cuda::count_copy(kind, n * sizeof(float));
  cudaCheck(cudaMemcpy(dst, src, n * sizeof(float), kind));
}

}  // namespace latco::device
