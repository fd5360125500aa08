// The one device switch of every command: `device: cpu | cuda` (config key or device=cuda on the
// command line) and `require_device: true`. Without a usable GPU, cuda prints one line and runs on
// the CPU, or fails when the device is required.
#pragma once
#include <string>
#include <vector>

#include "core/tensor.h"

namespace latco {

struct DeviceSettings {
  std::string device = "cpu";   // cpu | cuda: where the world model trains (cuda: the CPU if none is usable)
  bool require_device = false;  // true: device cuda without a usable GPU is an error, not a fallback
  template <class V>
  void visit(V& v) {
    v("device", device);
    v("require_device", require_device);
  }
};

// The device to use for `what` (the command, for the message). `where` names the key's origin
// (Config::where) in the error for an unknown name. Prints one line when cuda is asked for.
Device select_device(const std::string& name, bool require, const std::string& what,
                     const std::string& where = "device");
inline Device select_device(const DeviceSettings& s, const std::string& what, const std::string& where = "device") {
  return select_device(s.device, s.require_device, what, where);
}

// `latco bench NAME device=cuda [require_device=true]`: the device the benchmark runs on, from
// those command-line overrides (other overrides are left to the benchmark).
Device bench_device(const std::vector<std::string>& overrides, const std::string& bench);

}  // namespace latco
