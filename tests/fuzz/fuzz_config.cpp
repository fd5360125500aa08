// Fuzz target: the config parser, overrides and every typed getter on every key.
#include <string>

#include "fuzz_common.h"
#include "io/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  LATCO_FUZZ_REJECTS_WITH_ERROR({
    latco::Config c = latco::Config::parse(text, "fuzz.yaml");
    const size_t nl = text.find('\n');
    if (nl != std::string::npos && text.find('=') < nl) c.override_with(text.substr(0, nl));
    for (const auto& [k, e] : c.entries()) {
      try { c.get_int(k, 0, -1000, 1000); } catch (const latco::Error&) {}
      try { c.get_double(k, 0.0, 0.0, 1.0); } catch (const latco::Error&) {}
      try { c.get_bool(k, false); } catch (const latco::Error&) {}
      (void)c.get_string(k, "");
      (void)c.where(k);
    }
    c.check_all_used();
  });
}
