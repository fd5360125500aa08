// A metrics CSV writer: a header row of column names, then one row of numbers per
// call, flushed at once so a crashed run keeps its metrics. Opening an existing
// file appends (for --resume) after checking its header. No quoting/escaping:
// column names must be plain identifiers.
#pragma once
#include <cstdio>
#include <string>
#include <vector>

namespace latco {

class CsvWriter {
 public:
  // append = false truncates; append = true keeps existing rows if the header matches
  // (throws Error naming the file otherwise).
  CsvWriter(const std::string& path, const std::vector<std::string>& columns, bool append = false);
  ~CsvWriter();
  CsvWriter(const CsvWriter&) = delete;
  CsvWriter& operator=(const CsvWriter&) = delete;

  void row(const std::vector<double>& values);  // one value per column
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::vector<std::string> columns_;
  std::FILE* f_ = nullptr;
};

}  // namespace latco
