#include "io/progress.h"

#include <unistd.h>

#include <cstdarg>
#include <algorithm>
#include <cstdio>

namespace latco {
namespace {
// The line a Progress last drew on the terminal without a newline ("" if none is live).
std::string g_live;
}  // namespace

Progress::Progress(std::vector<Phase> phases, double log_every)
    : phases_(std::move(phases)),
      done_(phases_.size(), 0),
      base_(phases_.size(), 0),
      start_(phases_.size(), -1.0),
      end_(phases_.size(), -1.0),
      log_every_(log_every),
      tty_(isatty(fileno(stdout))) {
  if (!phases_.empty()) start_[0] = 0;
}

Progress::Progress(int64_t total, std::string label, double log_every)
    : Progress(std::vector<Phase>{{std::move(label), total, "steps"}}, log_every) {}

Progress::~Progress() {
  if (tty_ && !g_live.empty()) {
    std::printf("\n");
    g_live.clear();
  }
}

std::string Progress::format_seconds(double s) {
  char buf[32];
  if (s < 0) s = 0;
  long t = static_cast<long>(s + 0.5);
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t % 3600) / 60);
  else if (t >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%lds", t);
  return buf;
}

double Progress::eta_seconds(bool* lower_bound) const {
  const double now = timer_.seconds();
  double eta = 0;
  bool lower = false;
  for (size_t p = phase_; p < phases_.size(); ++p) {
    const int64_t left = phases_[p].total - done_[p];
    if (left <= 0) continue;
    const double spent = start_[p] < 0 ? 0 : (end_[p] >= 0 ? end_[p] : now) - start_[p];
    const int64_t measured = done_[p] - base_[p];
    if (measured > 0 && spent > 0) eta += left * spent / measured;
    else lower = true;  // not measured yet
  }
  if (lower_bound) *lower_bound = lower;
  return eta;
}

std::string Progress::line(const std::string& info) const {
  const Phase& ph = phases_[phase_];
  const double now = timer_.seconds(), spent = now - start_[phase_];
  const double rate = spent > 0 ? (done_[phase_] - base_[phase_]) / spent : 0;
  char head[96], speed[64];
  if (phases_.size() > 1)
    std::snprintf(head, sizeof head, "[%d/%zu] %s", phase_ + 1, phases_.size(), ph.name.c_str());
  else
    std::snprintf(head, sizeof head, "%s", ph.name.c_str());
  std::string unit1 = ph.unit.size() > 1 && ph.unit.back() == 's' ? ph.unit.substr(0, ph.unit.size() - 1) : ph.unit;
  if (rate >= 1 || rate == 0) std::snprintf(speed, sizeof speed, "%.1f %s/s", rate, ph.unit.c_str());
  else std::snprintf(speed, sizeof speed, "%.1f s/%s", 1 / rate, unit1.c_str());
  bool lower = false;
  const double eta = eta_seconds(&lower);
  std::string eta_text = lower && eta == 0 ? "?" : (lower ? ">" : "") + format_seconds(eta);
  char buf[384];
  std::snprintf(buf, sizeof buf, "%s %lld/%lld %s | %s | %s elapsed | ETA %s", head, (long long)done_[phase_],
                (long long)ph.total, ph.unit.c_str(), speed, format_seconds(now).c_str(), eta_text.c_str());
  return info.empty() ? std::string(buf) : std::string(buf) + " | " + info;
}

void Progress::begin(int phase) {
  if (phases_.empty()) return;
  const double now = timer_.seconds();
  if (phase >= int(phases_.size())) phase = int(phases_.size()) - 1;
  while (phase_ < phase) {  // earlier phases are complete
    done_[phase_] = std::max(done_[phase_], phases_[phase_].total);
    end_[phase_] = now;
    ++phase_;
    start_[phase_] = now;
  }
}

void Progress::resume(int phase, int64_t done) {
  begin(phase);
  done_[phase_] = base_[phase_] = done;
}

void Progress::update(int phase, int64_t done, const std::string& info) {
  if (phases_.empty() || phase < phase_) return;
  begin(phase);
  const double now = timer_.seconds();
  done_[phase_] = done;
  last_info_ = info;
  if (tty_) {
    // Redraw at most 10 times a second, but always at a phase's start and end; the line
    // progress_print restores is always the newest.
    const bool due = now - last_draw_ >= 0.1 || done >= phases_[phase_].total || phase_ != last_drawn_phase_;
    g_live = line(info);
    if (!due) return;
    last_draw_ = now;
    last_drawn_phase_ = phase_;
    std::printf("\r\033[K%s", g_live.c_str());
    std::fflush(stdout);
  } else if (now - last_print_ >= log_every_ || phase_ != last_logged_phase_) {
    std::printf("%s\n", line(info).c_str());
    std::fflush(stdout);
    last_print_ = now;
    last_logged_phase_ = phase_;
    last_logged_done_ = done;
  }
}

void Progress::finish(const std::string& info) {
  if (phases_.empty()) return;
  // In a log, a line already printed at this count is not repeated.
  if (!tty_ && last_logged_phase_ == phase_ && last_logged_done_ == done_[phase_]) return;
  if (tty_) std::printf("\r\033[K");
  g_live.clear();
  std::printf("%s\n", line(info.empty() ? last_info_ : info).c_str());
  std::fflush(stdout);
}

void progress_print(const char* fmt, ...) {
  if (!g_live.empty()) std::printf("\r\033[K");
  va_list ap;
  va_start(ap, fmt);
  std::vprintf(fmt, ap);
  va_end(ap);
  if (!g_live.empty()) std::printf("%s", g_live.c_str());
  std::fflush(stdout);
}

}  // namespace latco
