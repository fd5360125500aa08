// Progress of a long command, one line format for all of them:
//   [2/3] pretrain 61/100 steps | 3.4 steps/s | 1m02s elapsed | ETA 5m10s | loss 123.4, last return 2.0
// The ETA counts every phase still to come: each phase's rate is measured while it runs; until
// every remaining phase has been measured the ETA is a lower bound ("ETA >5m10s").
// On a terminal the line redraws in place; otherwise (a log file) a line is printed every
// `log_every` seconds and at each phase's start. Other output goes through progress_print(),
// which clears the live line first and redraws it after, so no message lands on it.
//   Progress p({{"prefill", 5, "episodes"}, {"pretrain", 100, "steps"}, {"online", 50, "episodes"}});
//   p.update(1, 61, "loss 123.4");
//   p.finish("done");
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/timer.h"

namespace latco {

class Progress {
 public:
  struct Phase {
    std::string name;
    int64_t total = 0;
    std::string unit;  // "steps", "episodes"
  };
  explicit Progress(std::vector<Phase> phases, double log_every = 10.0);
  Progress(int64_t total, std::string label, double log_every = 10.0);  // one phase, unit "steps"
  ~Progress();

  // done: units of `phase` finished (earlier phases count as complete); info: the figures that
  // matter (loss, last return, last success).
  void update(int phase, int64_t done, const std::string& info);
  void update(int64_t done, const std::string& info) { update(phase_, done, info); }
  void begin(int phase);                   // `phase` starts now (earlier ones are complete)
  void resume(int phase, int64_t done);    // a resumed run: rates count only what is done from here
  void finish(const std::string& info);  // the final line, ended by a newline ("": the last info)
  void finish(int64_t done, const std::string& info) {
    update(phase_, done, info);
    finish(info);
  }

  bool tty() const { return tty_; }
  std::string line(const std::string& info) const;  // the current line (no newline)
  double eta_seconds(bool* lower_bound) const;      // seconds left over all phases
  static std::string format_seconds(double s);      // "1h02m", "3m05s", "12s"

 private:
  std::vector<Phase> phases_;
  std::vector<int64_t> done_, base_;  // base_: done when the phase's timing started
  std::vector<double> start_, end_;  // seconds since construction; end_ < 0 while not finished
  int phase_ = 0;
  double log_every_, last_print_ = -1e9, last_draw_ = -1e9;
  int last_logged_phase_ = -1, last_drawn_phase_ = -1;
  int64_t last_logged_done_ = -1;
  std::string last_info_;
  bool tty_;
  Timer timer_;
};

// printf that never lands on a live progress line: clears it, prints, redraws it.
void progress_print(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace latco
