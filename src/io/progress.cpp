#include "io/progress.h"

#include <unistd.h>

#include <cstdio>

namespace latco {

Progress::Progress(int64_t total, std::string label, double plain_every)
    : total_(total), label_(std::move(label)), plain_every_(plain_every), tty_(isatty(fileno(stdout))) {}

std::string Progress::format_seconds(double s) {
  char buf[32];
  if (s < 0) s = 0;
  long t = static_cast<long>(s + 0.5);
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t % 3600) / 60);
  else if (t >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%lds", t);
  return buf;
}

std::string Progress::line(int64_t done, const std::string& info) const {
  double el = timer_.seconds();
  double rate = el > 0 ? done / el : 0;
  double eta = rate > 0 ? (total_ - done) / rate : 0;
  char buf[512];
  std::snprintf(buf, sizeof buf, "%s %lld/%lld | %s | %.1f/s | %s elapsed, ETA %s", label_.c_str(),
                static_cast<long long>(done), static_cast<long long>(total_), info.c_str(), rate,
                format_seconds(el).c_str(), format_seconds(eta).c_str());
  return buf;
}

void Progress::update(int64_t done, const std::string& info) {
  double now = timer_.seconds();
  if (tty_) {
    std::printf("\r\033[K%s", line(done, info).c_str());
    std::fflush(stdout);
  } else if (now - last_print_ >= plain_every_) {
    std::printf("%s\n", line(done, info).c_str());
    std::fflush(stdout);
    last_print_ = now;
  }
}

void Progress::finish(int64_t done, const std::string& info) {
  if (tty_) std::printf("\r\033[K");
  std::printf("%s\n", line(done, info).c_str());
  std::fflush(stdout);
}

}  // namespace latco
