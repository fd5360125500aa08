// A small fixed thread pool. parallel_for splits [0, n) into contiguous chunks
// that depend only on n and the grain, never on timing, so any reduction done
// per chunk in chunk order is deterministic for a given thread count; code that
// must be identical across thread counts makes its chunks independent of it
// (use parallel_for_fixed with a fixed chunk count).
#pragma once
#include <cstdint>
#include <functional>

namespace latco {

// Number of worker threads (including the caller). Default: env LATCO_THREADS, else 2.
int num_threads();
void set_num_threads(int n);

// Calls fn(begin, end) on disjoint ranges covering [0, n), in parallel.
// Ranges have at least `grain` items. Nested calls run serially.
void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn, int64_t grain = 1);

// Calls fn(i) for each task i in [0, ntasks), distributing tasks over threads.
void parallel_tasks(int64_t ntasks, const std::function<void(int64_t)>& fn);

}  // namespace latco
