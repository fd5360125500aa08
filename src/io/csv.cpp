// Metrics CSV writer (see csv.h): header check and truncation to the checkpoint on
// append, one flushed and checked row per call.
#include "io/csv.h"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/byte_reader.h"

namespace latco {

CsvWriter::CsvWriter(const std::string& path, const std::vector<std::string>& columns, bool append,
                     double keep_upto)
    : path_(path), columns_(columns) {
  LATCO_CHECK(!columns.empty()) << path << ": a CSV needs at least one column";
  std::string header;
  for (size_t i = 0; i < columns.size(); ++i) {
    LATCO_CHECK(columns[i].find_first_of(",\n\"") == std::string::npos)
        << path << ": column name '" << columns[i] << "' contains a comma, quote or newline";
    header += (i ? "," : "") + columns[i];
  }
  bool write_header = true;
  if (append && ::access(path.c_str(), F_OK) == 0) {
    const std::vector<uint8_t> bytes = read_file(path, uint64_t(4) << 30, "metrics file");
    const std::string text(bytes.begin(), bytes.end());
    std::string kept;
    size_t pos = 0;
    int lineno = 0;
    while (pos < text.size()) {
      const size_t nl = text.find('\n', pos);
      if (nl == std::string::npos) {  // a half-written last line (the run was killed mid-write)
        ++dropped_;
        break;
      }
      const std::string line = text.substr(pos, nl - pos);
      pos = nl + 1;
      if (lineno++ == 0) {
        if (line != header)
          LATCO_FAIL(path << ": cannot append, its header '" << line << "' differs from '" << header << "'");
        kept += line + "\n";
        continue;
      }
      const double first = std::strtod(line.c_str(), nullptr);
      if (first <= keep_upto) kept += line + "\n";
      else ++dropped_;
    }
    if (lineno > 0) write_header = false;
    if (dropped_ > 0) write_file_atomic(path, kept);
  }
  f_ = std::fopen(path.c_str(), append ? "a" : "w");
  if (!f_) LATCO_FAIL(path << ": cannot open for writing: " << std::strerror(errno));
  if (write_header) {
    check(std::fprintf(f_, "%s\n", header.c_str()) >= 0, "write");
    check(std::fflush(f_) == 0, "write");
  }
}

CsvWriter::~CsvWriter() {
  if (f_) std::fclose(f_);
}

void CsvWriter::check(bool ok, const char* what) {
  if (!ok) LATCO_FAIL(path_ << ": " << what << " failed: " << std::strerror(errno) << " (metrics not saved)");
}

void CsvWriter::row(const std::vector<double>& values) {
  LATCO_CHECK(values.size() == columns_.size())
      << path_ << ": row has " << values.size() << " values for " << columns_.size() << " columns";
  std::string line;
  char buf[64];
  for (size_t i = 0; i < values.size(); ++i) {
    const double v = values[i];
    // Integers print exactly; other values with enough digits to round-trip a float.
    if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15)
      std::snprintf(buf, sizeof buf, "%s%.0f", i ? "," : "", v);
    else
      std::snprintf(buf, sizeof buf, "%s%.9g", i ? "," : "", v);
    line += buf;
  }
  line += "\n";
  check(std::fputs(line.c_str(), f_) >= 0, "write");
  check(std::fflush(f_) == 0, "write");
}

}  // namespace latco
