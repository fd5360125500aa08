// Fuzz target: the parameter-file reader (nn/serialize.h), as load_tensors runs it.
#include <sstream>
#include <string>

#include "fuzz_common.h"
#include "nn/serialize.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  LATCO_FUZZ_REJECTS_WITH_ERROR({
    std::istringstream is(std::string(reinterpret_cast<const char*>(data), size));
    latco::nn::read_tensors(is, "fuzz.params");
  });
}
