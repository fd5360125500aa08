// A metrics CSV writer: a header row of column names, then one row of numbers per
// call, flushed at once so a crashed run keeps its metrics; every write is checked
// (a full disk is an Error naming the file). Opening an existing file appends (for
// --resume) after checking its header, first dropping the rows logged after the
// checkpoint being resumed (and any half-written last line). No quoting/escaping:
// column names must be plain identifiers.
#pragma once
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

namespace latco {

class CsvWriter {
 public:
  // append = false truncates; append = true keeps existing rows if the header matches
  // (throws Error naming the file otherwise), but only those whose first column is
  // <= keep_upto: the rest are removed (atomically) before appending.
  CsvWriter(const std::string& path, const std::vector<std::string>& columns, bool append = false,
            double keep_upto = std::numeric_limits<double>::infinity());
  ~CsvWriter();
  CsvWriter(const CsvWriter&) = delete;
  CsvWriter& operator=(const CsvWriter&) = delete;

  void row(const std::vector<double>& values);  // one value per column
  const std::string& path() const { return path_; }
  int dropped() const { return dropped_; }      // rows removed on opening

 private:
  void check(bool ok, const char* what);
  std::string path_;
  std::vector<std::string> columns_;
  std::FILE* f_ = nullptr;
  int dropped_ = 0;
};

}  // namespace latco
