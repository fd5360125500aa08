// Fuzz target: the .npy header and data parser.
#include "fuzz_common.h"
#include "io/npz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  LATCO_FUZZ_REJECTS_WITH_ERROR({
    latco::NpyArray a = latco::npy_decode(data, size, "fuzz.npy");
    if (a.bytes.size() != size_t(a.numel()) * size_t(a.item_size())) __builtin_trap();  // decoded size must agree
  });
}
