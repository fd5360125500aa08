// Fuzz target: the .npz (stored zip, ZIP64 fields) reader and the episode checks on its arrays.
#include "fuzz_common.h"
#include "io/npz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  LATCO_FUZZ_REJECTS_WITH_ERROR({
    auto arrays = latco::parse_npz(data, size, "fuzz.npz");
    for (auto& [k, a] : arrays) (void)a.numel();
  });
}
