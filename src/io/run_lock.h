// One writer per run folder: RunLock holds an exclusive flock on DIR/.lock for its
// lifetime (the kernel releases it when the process ends, however it ends) and
// writes the holder's PID, host and command into the file. A second writer gets
// an Error naming the folder and the holder. Readers (eval, plot) take no lock.
#pragma once
#include <string>

namespace latco {

class RunLock {
 public:
  // Creates dir if needed; throws Error if another process holds the lock.
  RunLock(const std::string& dir, const std::string& command);
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace latco

namespace latco {

// SIGINT/SIGTERM for long runs: while a StopOnSignal lives, the first SIGINT or SIGTERM
// only records the signal (and says so on stderr); the run polls requested() at a safe
// point, writes a checkpoint and returns. A second signal acts as usual (ends the process).
class StopOnSignal {
 public:
  StopOnSignal();
  ~StopOnSignal();
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;
  static int requested();  // the signal received, or 0
};

}  // namespace latco
