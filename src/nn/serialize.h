// Parameter files: a named list of float32 tensors in a versioned binary format.
//   header:  magic "LATCOTNS" (8 bytes), uint32 version (1), uint64 count
//   tensor:  uint32 name_len, name bytes, uint32 ndim, int64 dims[ndim],
//            float32 data[numel], uint64 checksum (FNV-1a over name, dims, data)
// Little-endian (the host order; checked). Saves are atomic (io/atomic_file.h).
// Every malformed input (truncated, corrupted, wrong magic/version, missing name,
// shape mismatch) throws latco::Error naming the file and the tensor.
// Left out: compression, non-float dtypes, device tensors (copied to the host first).
#pragma once
#include <functional>
#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "nn/module.h"

namespace latco::nn {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// Stream level (for run checkpoints that bundle several lists in one file).
// `source` names the stream in error messages.
void write_tensors(std::ostream& os, const NamedTensors& ts, const std::string& source = "stream");
NamedTensors read_tensors(std::istream& is, const std::string& source = "stream");

// File level; save is atomic.
void save_tensors(const std::string& path, const NamedTensors& ts);
NamedTensors load_tensors(const std::string& path);

// Copies src into dst by name (dst tensors keep their storage). Every dst name must be
// in src with the same shape; src names not in dst are an error unless allow_extra.
void assign_tensors(const NamedTensors& src, const NamedTensors& dst, const std::string& source,
                    bool allow_extra = false);

// The parameters' value tensors (sharing storage), for saving or assign_tensors.
NamedTensors param_tensors(const NamedVars& params);

// Module parameters to/from a file.
void save_parameters(const std::string& path, const Module& m);
void load_parameters(const std::string& path, const Module& m);

// Atomically replaces `path` with bytes from `write(os)`; used by save_tensors and checkpoints.
void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& write);

}  // namespace latco::nn
