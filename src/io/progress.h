// Progress reporting: one self-updating line on a terminal, plain lines
// (at most one every `plain_every` seconds) when stdout is not a terminal.
//   Progress p(total_env_steps, "train");
//   p.update(done, "ret 1.0 succ 1 loss 12.3");
#pragma once
#include <cstdint>
#include <string>

#include "core/timer.h"

namespace latco {

class Progress {
 public:
  Progress(int64_t total, std::string label, double plain_every = 10.0);
  // done: units finished so far; info: free text (return, success, losses).
  void update(int64_t done, const std::string& info);
  void finish(int64_t done, const std::string& info);  // final line + newline
  static std::string format_seconds(double s);  // "1h02m", "3m05s", "12s"

 private:
  std::string line(int64_t done, const std::string& info) const;
  int64_t total_;
  std::string label_;
  double plain_every_, last_print_ = -1e9;
  bool tty_;
  Timer timer_;
};

}  // namespace latco
