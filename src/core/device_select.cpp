// The device switch (see device_select.h): cpu, or cuda when a GPU is usable.
#include "core/device_select.h"

#include <cstdio>

#include "core/error.h"

namespace latco {

Device select_device(const std::string& name, bool require, const std::string& what, const std::string& where) {
  if (name == "cpu") return Device::CPU;
  if (name != "cuda") LATCO_FAIL(where << ": expected cpu or cuda, got '" << name << "'");
  if (device::cuda_available()) {
    std::printf("%s: device cuda: %s\n", what.c_str(), device::cuda_status().c_str());
    return Device::CUDA;
  }
  if (require)
    LATCO_FAIL(what << ": device cuda with require_device: true, but " << device::cuda_status());
  std::printf("%s: device cuda asked for, but %s; running on the CPU\n", what.c_str(), device::cuda_status().c_str());
  return Device::CPU;
}

Device bench_device(const std::vector<std::string>& overrides, const std::string& bench) {
  DeviceSettings s;
  for (const auto& o : overrides) {
    const size_t eq = o.find('=');
    const std::string key = o.substr(0, eq), value = eq == std::string::npos ? "" : o.substr(eq + 1);
    if (key == "device") s.device = value;
    if (key == "require_device") {
      if (value != "true" && value != "false")
        LATCO_FAIL("command line: require_device=" << value << ": expected true or false");
      s.require_device = value == "true";
    }
  }
  return select_device(s, "bench " + bench, "command line, key 'device'");
}

}  // namespace latco
