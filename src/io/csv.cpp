// Metrics CSV writer (see csv.h): header check on append, one flushed row per call.
#include "io/csv.h"

#include <cmath>
#include <fstream>

#include "core/error.h"

namespace latco {

CsvWriter::CsvWriter(const std::string& path, const std::vector<std::string>& columns, bool append)
    : path_(path), columns_(columns) {
  LATCO_CHECK(!columns.empty()) << path << ": a CSV needs at least one column";
  std::string header;
  for (size_t i = 0; i < columns.size(); ++i) {
    LATCO_CHECK(columns[i].find_first_of(",\n\"") == std::string::npos)
        << path << ": column name '" << columns[i] << "' contains a comma, quote or newline";
    header += (i ? "," : "") + columns[i];
  }
  bool write_header = true;
  if (append) {
    std::ifstream in(path);
    std::string first;
    if (in && std::getline(in, first)) {
      if (first != header)
        LATCO_FAIL(path << ": cannot append, its header '" << first << "' differs from '" << header << "'");
      write_header = false;
    }
  }
  f_ = std::fopen(path.c_str(), append ? "a" : "w");
  if (!f_) LATCO_FAIL(path << ": cannot open for writing");
  if (write_header) {
    std::fprintf(f_, "%s\n", header.c_str());
    std::fflush(f_);
  }
}

CsvWriter::~CsvWriter() {
  if (f_) std::fclose(f_);
}

void CsvWriter::row(const std::vector<double>& values) {
  LATCO_CHECK(values.size() == columns_.size())
      << path_ << ": row has " << values.size() << " values for " << columns_.size() << " columns";
  for (size_t i = 0; i < values.size(); ++i) {
    const double v = values[i];
    // Integers print exactly; other values with enough digits to round-trip a float.
    if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15)
      std::fprintf(f_, "%s%.0f", i ? "," : "", v);
    else
      std::fprintf(f_, "%s%.9g", i ? "," : "", v);
  }
  std::fprintf(f_, "\n");
  std::fflush(f_);
}

}  // namespace latco
