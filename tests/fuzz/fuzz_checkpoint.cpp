// Fuzz target: the checkpoint reader. An input whose first byte is even is taken as a
// payload and wrapped in a valid header and checksum, so mutations reach the payload
// parser past the checksum; odd: the raw file bytes (header and checksum checks).
#include <cstring>
#include <vector>

#include "fuzz_common.h"
#include "io/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> file;
  if (size > 0 && data[0] % 2 == 0) {
    const uint8_t* p = data + 1;
    const uint64_t n = size - 1;
    uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a 64, as the checkpoint format
    for (uint64_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
    const uint32_t version = latco::kCheckpointVersion;
    file.insert(file.end(), {'L', 'A', 'T', 'C', 'O', 'C', 'K', 'P'});
    file.insert(file.end(), reinterpret_cast<const uint8_t*>(&version), reinterpret_cast<const uint8_t*>(&version) + 4);
    file.insert(file.end(), reinterpret_cast<const uint8_t*>(&n), reinterpret_cast<const uint8_t*>(&n) + 8);
    file.insert(file.end(), p, p + n);
    file.insert(file.end(), reinterpret_cast<const uint8_t*>(&h), reinterpret_cast<const uint8_t*>(&h) + 8);
  } else {
    file.assign(data + (size > 0 ? 1 : 0), data + size);
  }
  LATCO_FUZZ_REJECTS_WITH_ERROR({ latco::parse_checkpoint(file, "fuzz.ckpt"); });
}
