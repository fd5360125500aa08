// A CPU stand-in for the CUDA runtime, so cuda/*.cu can be executed and tested on machines
// without a GPU (cuda/emu/run_tests.sh). Each block's threads run as cooperative fibers
// (ucontext) that switch at __syncthreads and warp shuffles; blocks run one after another, and
// threads between two barriers run in alternating orders, so most missing barriers show up.
// Only the API subset cuda/ uses. Leaves out: timing fidelity, memory-model subtleties (a kernel
// correct here can still race on a GPU), multi-dimensional grids, streams.
#pragma once
#include <math.h>
#include <ucontext.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static  // one block runs at a time, so a static is that block's shared memory

struct uint3 { unsigned x, y, z; };
struct dim3 {
  unsigned x, y, z;
  dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
};

// ----- runtime API: device memory is host memory -----
typedef int cudaError_t;
enum { cudaSuccess = 0 };
enum cudaMemcpyKind { cudaMemcpyHostToHost, cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice };
struct cudaDeviceProp {
  char name[256];
  int major, minor;
  size_t totalGlobalMem;
};
inline cudaError_t cudaGetDeviceCount(int* n) { *n = 1; return cudaSuccess; }
inline cudaError_t cudaGetLastError() { return cudaSuccess; }
inline const char* cudaGetErrorString(cudaError_t) { return "emulated error"; }
inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int) {
  std::snprintf(p->name, sizeof(p->name), "CPU emulation of CUDA");
  p->major = 9, p->minor = 0, p->totalGlobalMem = size_t(1) << 32;
  return cudaSuccess;
}
// New memory is filled with a NaN-like byte pattern so reads of unwritten memory show up.
inline cudaError_t cudaMalloc(void** p, size_t bytes) {
  *p = std::malloc(bytes);
  std::memset(*p, 0xFF, bytes);
  return cudaSuccess;
}
inline cudaError_t cudaFree(void* p) { std::free(p); return cudaSuccess; }
inline cudaError_t cudaMemcpy(void* d, const void* s, size_t b, cudaMemcpyKind) { std::memmove(d, s, b); return cudaSuccess; }
inline cudaError_t cudaMemset(void* p, int v, size_t b) { std::memset(p, v, b); return cudaSuccess; }
inline cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }

// ----- kernel launches: `k<<<g, b>>>(args)` is rewritten to emu::launch(g, b, [&] { k(args); }) -----
namespace emu {

enum class State { Runnable, AtBlockBarrier, AtWarpBarrier, Done };
struct Fiber {
  ucontext_t ctx;
  State state = State::Runnable;
  unsigned tid = 0;
};
struct Block {
  std::vector<Fiber> fibers;
  ucontext_t scheduler;
  unsigned current = 0, index = 0;
  dim3 grid, block;
  double lanes[1024];  // shuffle exchange slots, one per thread
  std::function<void()> body;
};

inline Block*& running() { static Block* b = nullptr; return b; }
constexpr size_t kStackBytes = 64 * 1024;
inline std::vector<std::unique_ptr<char[]>>& stacks() { static std::vector<std::unique_ptr<char[]>> s; return s; }

inline uint3 thread_idx() { return {running()->fibers[running()->current].tid, 0, 0}; }
inline uint3 block_idx() { return {running()->index, 0, 0}; }
inline uint3 block_dim() { return {running()->block.x, 1, 1}; }
inline uint3 grid_dim() { return {running()->grid.x, 1, 1}; }

// The calling fiber waits in `s` until the scheduler releases it.
inline void wait(State s) {
  Block* b = running();
  Fiber& f = b->fibers[b->current];
  f.state = s;
  swapcontext(&f.ctx, &b->scheduler);
}
inline void fiber_main() {
  Block* b = running();
  b->body();
  b->fibers[b->current].state = State::Done;
  swapcontext(&b->fibers[b->current].ctx, &b->scheduler);
}

inline void launch(dim3 grid, dim3 block, std::function<void()> body) {
  if (block.x == 0 || block.x > 1024 || block.x % 32 != 0 || grid.x == 0 || grid.y != 1 || block.y != 1) {
    std::fprintf(stderr, "emu: unsupported launch <<<%u, %u>>>\n", grid.x, block.x);
    std::abort();
  }
  while (stacks().size() < block.x) stacks().emplace_back(new char[kStackBytes]);
  Block b;
  b.body = std::move(body), b.grid = grid, b.block = block;
  b.fibers.resize(block.x);
  Block* outer = running();
  running() = &b;
  for (unsigned bi = 0; bi < grid.x; ++bi) {
    b.index = bi;
    for (unsigned i = 0; i < block.x; ++i) {
      Fiber& f = b.fibers[i];
      f.state = State::Runnable, f.tid = i;
      getcontext(&f.ctx);
      f.ctx.uc_stack.ss_sp = stacks()[i].get();
      f.ctx.uc_stack.ss_size = kStackBytes;
      f.ctx.uc_link = nullptr;
      makecontext(&f.ctx, fiber_main, 0);
    }
    for (unsigned pass = 0;; ++pass) {
      // Threads run in ascending order on some passes and descending on others, so a read of
      // another thread's write without a barrier between them fails one way or the other.
      bool ran = false;
      const bool descending = (pass + bi) % 2 == 1;
      for (unsigned k = 0; k < block.x; ++k) {
        const unsigned i = descending ? block.x - 1 - k : k;
        if (b.fibers[i].state == State::Runnable) {
          b.current = i;
          swapcontext(&b.scheduler, &b.fibers[i].ctx);
          ran = true;
        }
      }
      unsigned done = 0, at_block = 0;
      for (const Fiber& f : b.fibers) done += f.state == State::Done, at_block += f.state == State::AtBlockBarrier;
      if (done == block.x) break;
      bool released = false;
      if (at_block > 0 && at_block + done == block.x) {  // __syncthreads: every live thread arrived
        for (Fiber& f : b.fibers) if (f.state == State::AtBlockBarrier) f.state = State::Runnable;
        released = true;
      }
      for (unsigned w = 0; w < block.x / 32; ++w) {  // shuffles: every live lane of the warp arrived
        unsigned at_warp = 0, warp_done = 0;
        for (unsigned l = 0; l < 32; ++l) {
          at_warp += b.fibers[w * 32 + l].state == State::AtWarpBarrier;
          warp_done += b.fibers[w * 32 + l].state == State::Done;
        }
        if (at_warp > 0 && at_warp + warp_done == 32) {
          for (unsigned l = 0; l < 32; ++l)
            if (b.fibers[w * 32 + l].state == State::AtWarpBarrier) b.fibers[w * 32 + l].state = State::Runnable;
          released = true;
        }
      }
      if (!ran && !released) {
        std::fprintf(stderr, "emu: deadlock (divergent barrier or shuffle) in block %u\n", bi);
        std::abort();
      }
    }
  }
  running() = outer;
}

}  // namespace emu

#define threadIdx (::emu::thread_idx())
#define blockIdx (::emu::block_idx())
#define blockDim (::emu::block_dim())
#define gridDim (::emu::grid_dim())
inline void __syncthreads() { emu::wait(emu::State::AtBlockBarrier); }
template <class T>
T __shfl_down_sync(unsigned, T v, int offset) {
  emu::Block* b = emu::running();
  const unsigned tid = b->fibers[b->current].tid, lane = tid % 32, warp = tid / 32;
  b->lanes[tid] = (double)v;
  emu::wait(emu::State::AtWarpBarrier);
  T r = lane + offset < 32 ? (T)b->lanes[warp * 32 + lane + offset] : v;
  emu::wait(emu::State::AtWarpBarrier);  // nobody overwrites a slot before every lane has read
  return r;
}
using std::isfinite;
