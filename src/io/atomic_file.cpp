// Unique temporary file, checked writes, fsync, rename, folder fsync (see atomic_file.h).
#include "io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "core/error.h"

namespace latco {

void fsync_dir(const std::string& dir) {
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  write_file_atomic(path, bytes.data(), bytes.size());
}

void write_file_atomic(const std::string& path, const void* data, size_t size) {
  std::string tmpl = path + ".tmp.XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  const int fd = ::mkstemp(name.data());
  if (fd < 0) LATCO_FAIL(path << ": cannot create a temporary file beside it: " << std::strerror(errno));
  const std::string tmp(name.data());
  auto fail = [&](const char* step) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    LATCO_FAIL(path << ": " << step << " failed: " << std::strerror(err) << " (nothing written; the previous file, if any, "
                    << "is unchanged)");
  };
  if (::fchmod(fd, 0644) != 0) fail("chmod");
  const char* p = static_cast<const char*>(data);
  size_t off = 0;
  while (off < size) {
    const ssize_t k = ::write(fd, p + off, size - off);
    if (k < 0) {
      if (errno == EINTR) continue;
      fail("write");
    }
    off += size_t(k);
  }
  if (::fsync(fd) != 0) fail("fsync");
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    LATCO_FAIL(path << ": close failed: " << std::strerror(err));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    LATCO_FAIL(path << ": cannot rename " << tmp << " into place: " << std::strerror(err));
  }
  const size_t slash = path.find_last_of('/');
  fsync_dir(slash == std::string::npos ? "." : path.substr(0, slash + 1));
}

}  // namespace latco
