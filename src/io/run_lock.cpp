// flock-based run-folder lock and the SIGINT/SIGTERM stop request (see run_lock.h).
#include "io/run_lock.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace latco {

RunLock::RunLock(const std::string& dir, const std::string& command) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) LATCO_FAIL(dir << ": cannot create the run folder: " << ec.message());
  const std::string path = dir + "/.lock";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) LATCO_FAIL(path << ": cannot open the run lock: " << std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char holder[256] = {0};
    const ssize_t k = ::pread(fd_, holder, sizeof holder - 1, 0);
    ::close(fd_);
    fd_ = -1;
    std::string h = k > 0 ? std::string(holder, size_t(k)) : std::string("an unknown process");
    while (!h.empty() && (h.back() == '\n' || h.back() == ' ')) h.pop_back();
    if (err == EWOULDBLOCK)
      LATCO_FAIL(dir << " is in use by another writer (" << h << "); wait for it to finish, or choose another --out");
    LATCO_FAIL(path << ": cannot lock: " << std::strerror(err));
  }
  char host[256] = {0};
  if (::gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "unknown host");
  const std::string me = "pid " + std::to_string(::getpid()) + " on host " + host + ": latco " + command + "\n";
  // The lock holds even if the description cannot be written.
  if (::ftruncate(fd_, 0) == 0) (void)!::pwrite(fd_, me.data(), me.size(), 0);
}

RunLock::~RunLock() {
  if (fd_ >= 0) ::close(fd_);
}

namespace {
volatile sig_atomic_t g_stop = 0;
struct sigaction g_old_int, g_old_term;

extern "C" void on_stop_signal(int sig) {
  g_stop = sig;
  const char msg[] = "\nlatco: stopping at the next safe point to write a checkpoint (signal again to stop at once)\n";
  (void)!::write(2, msg, sizeof msg - 1);
}
}  // namespace

StopOnSignal::StopOnSignal() {
  g_stop = 0;
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND;  // the second signal gets the default action
  sigaction(SIGINT, &sa, &g_old_int);
  sigaction(SIGTERM, &sa, &g_old_term);
}

StopOnSignal::~StopOnSignal() {
  sigaction(SIGINT, &g_old_int, nullptr);
  sigaction(SIGTERM, &g_old_term, nullptr);
}

int StopOnSignal::requested() { return g_stop; }

}  // namespace latco
