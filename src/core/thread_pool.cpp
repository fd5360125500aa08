// Persistent workers waiting on a condition variable; each job is a task count
// and a function, tasks claimed through an atomic counter. Before sleeping, a
// worker (for a new job) and the caller (for the job's end) spin briefly: the
// solvers issue thousands of jobs of tens of microseconds, and a condition-
// variable wake-up costs about as much as such a job.
#include "core/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace latco {
namespace {

thread_local bool t_in_parallel = false;

constexpr int kSpin = 4000;  // pause instructions before sleeping: tens of microseconds

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Spins until done() or the budget runs out; returns done().
template <class Done>
bool spin_until(Done done) {
  for (int s = 0; s < kSpin; ++s) {
    if (done()) return true;
    cpu_relax();
  }
  return done();
}

// One job at a time. A worker joins a job only while it is open (fn_ set) and is
// counted in active_; run() returns only when every task is done and no worker
// is still inside the job, so no claim can ever leak into the next job.
class Pool {
 public:
  explicit Pool(int n) { resize(n); }
  ~Pool() { stop(); }

  int size() const { return nthreads_; }

  void resize(int n) {
    n = std::max(1, n);
    if (n == nthreads_) return;
    stop();
    nthreads_ = n;
    quit_ = false;
    for (int i = 1; i < n; ++i) workers_.emplace_back([this] { loop(); });
  }

  void run(int64_t ntasks, const std::function<void(int64_t)>& fn) {
    if (ntasks <= 0) return;
    if (nthreads_ == 1 || ntasks == 1 || t_in_parallel) {
      for (int64_t i = 0; i < ntasks; ++i) fn(i);
      return;
    }
    std::lock_guard<std::mutex> run_lock(run_mu_);  // one job at a time
    {
      std::lock_guard<std::mutex> lk(mu_);
      fn_ = &fn;
      ntasks_ = ntasks;
      next_.store(0);
      done_ = 0;
      error_ = nullptr;
      finished_.store(false);
      generation_.fetch_add(1);
    }
    cv_.notify_all();
    work();
    spin_until([this] { return finished_.load(std::memory_order_acquire); });
    std::exception_ptr error;
    {
      std::unique_lock<std::mutex> lk(mu_);
      done_cv_.wait(lk, [this] { return done_ == ntasks_ && active_ == 0; });
      fn_ = nullptr;  // closed: no worker can join this job any more
      error = error_;
    }
    if (error) std::rethrow_exception(error);  // the first task exception, after all tasks ended
  }

 private:
  // Claims and runs tasks of the open job; exceptions are kept, not propagated.
  void work() {
    t_in_parallel = true;
    int64_t finished = 0;
    for (;;) {
      int64_t i = next_.fetch_add(1);
      if (i >= ntasks_) break;
      try {
        (*fn_)(i);
      } catch (...) {
        std::lock_guard<std::mutex> lk(mu_);
        if (!error_) error_ = std::current_exception();
      }
      ++finished;
    }
    t_in_parallel = false;
    std::lock_guard<std::mutex> lk(mu_);
    done_ += finished;
    if (done_ == ntasks_) notify_if_finished();
  }
  // Under mu_: the job is finished once every task is done and no worker is inside it.
  void notify_if_finished() {
    if (done_ == ntasks_ && active_ == 0) {
      finished_.store(true, std::memory_order_release);
      done_cv_.notify_all();
    }
  }
  void loop() {
    uint64_t seen = 0;
    for (;;) {
      spin_until([&] { return generation_.load(std::memory_order_acquire) != seen || quit_.load(); });
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return quit_ || (generation_ != seen && fn_ != nullptr); });
        if (quit_) return;
        seen = generation_;
        ++active_;
      }
      work();
      {
        std::lock_guard<std::mutex> lk(mu_);
        --active_;
        notify_if_finished();
      }
    }
  }
  void stop() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      quit_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  int nthreads_ = 0;
  std::vector<std::thread> workers_;
  std::mutex mu_, run_mu_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(int64_t)>* fn_ = nullptr;  // the open job (null: none)
  int64_t ntasks_ = 0, done_ = 0;
  int active_ = 0;                                     // workers inside the open job
  std::atomic<int64_t> next_{0};
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> finished_{false};  // done_ == ntasks_ && active_ == 0, readable while spinning
  std::exception_ptr error_;
  std::atomic<bool> quit_{false};
};

int default_threads() {
  if (const char* s = std::getenv("LATCO_THREADS")) {
    int n = std::atoi(s);
    if (n > 0) return n;
  }
  return 2;
}

Pool& pool() {
  static Pool p(default_threads());
  return p;
}

}  // namespace

int num_threads() { return pool().size(); }
void set_num_threads(int n) { pool().resize(n); }

void parallel_tasks(int64_t ntasks, const std::function<void(int64_t)>& fn) { pool().run(ntasks, fn); }

void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn, int64_t grain) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  int64_t chunks = std::min<int64_t>(num_threads(), (n + grain - 1) / grain);
  if (chunks <= 1 || t_in_parallel) { fn(0, n); return; }
  pool().run(chunks, [&](int64_t c) { fn(c * n / chunks, (c + 1) * n / chunks); });
}

}  // namespace latco
