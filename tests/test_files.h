// Shared by the tests that run commands into folders: a fresh temporary folder and a file's text.
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

// An empty folder under the system's temp directory, named after the suite and the test.
inline std::string fresh_test_dir(const std::string& suite, const std::string& name) {
  namespace fs = std::filesystem;
  std::string d = (fs::temp_directory_path() / ("latco_test_" + suite + "_" + name)).string();
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

inline std::string read_text(const std::string& path) {
  std::ifstream f(path);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}
