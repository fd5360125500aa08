// Shared by the fuzz targets: a parser may reject an input only with latco::Error;
// any other exception escapes and libFuzzer reports it as a crash, like a
// sanitizer report or a signal.
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/error.h"

#define LATCO_FUZZ_REJECTS_WITH_ERROR(body) \
  try {                                     \
    body;                                   \
  } catch (const ::latco::Error&) {         \
  }                                         \
  return 0
