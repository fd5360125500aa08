// Atomic, checked file writes: the bytes go to a uniquely named temporary file
// beside the target (path.tmp.XXXXXX), are fsynced, then renamed over the target,
// and the folder is fsynced; a reader sees the old file or the new one, never a
// mix. Any failure (full disk, /dev/full, permissions) removes the temporary file
// and throws latco::Error naming the target and the system's reason.
#pragma once
#include <string>

namespace latco {

void write_file_atomic(const std::string& path, const std::string& bytes);
void write_file_atomic(const std::string& path, const void* data, size_t size);

// Makes a completed rename in `dir` durable.
void fsync_dir(const std::string& dir);

}  // namespace latco
