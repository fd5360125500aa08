// Rewrites the kernel launches of a .cu file for the CPU emulation (cuda_runtime.h here):
//   name<T>(optional)<<<grid, block>>>(args)   ->   ::emu::launch(dim3(grid), dim3(block), [&]() { name(args); })
// Usage: launch_rewrite in.cu > out.cpp. Leaves out: shared-memory and stream launch arguments.
#include <cctype>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

int main(int argc, char** argv) {
  if (argc != 2) { std::fprintf(stderr, "usage: launch_rewrite file.cu\n"); return 2; }
  std::ifstream in(argv[1]);
  if (!in) { std::fprintf(stderr, "launch_rewrite: cannot open %s\n", argv[1]); return 2; }
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string src = ss.str();
  std::string out = "#line 1 \"" + std::string(argv[1]) + "\"\n";
  size_t pos = 0;
  for (;;) {
    size_t open = src.find("<<<", pos);
    if (open == std::string::npos) { out += src.substr(pos); break; }
    // the kernel name ends at `open`, possibly with template arguments <...>
    size_t start = open;
    if (start > 0 && src[start - 1] == '>') {
      int depth = 0;
      do {
        --start;
        if (src[start] == '>') ++depth;
        if (src[start] == '<') --depth;
      } while (depth > 0 && start > 0);
    }
    while (start > 0 && (std::isalnum((unsigned char)src[start - 1]) || src[start - 1] == '_' || src[start - 1] == ':')) --start;
    const std::string name = src.substr(start, open - start);
    const size_t close = src.find(">>>", open);
    const std::string cfg = src.substr(open + 3, close - open - 3);
    int depth = 0;
    size_t comma = std::string::npos;
    for (size_t k = 0; k < cfg.size() && comma == std::string::npos; ++k) {
      if (cfg[k] == '(') ++depth;
      else if (cfg[k] == ')') --depth;
      else if (cfg[k] == ',' && depth == 0) comma = k;
    }
    size_t a = close + 3;
    if (comma == std::string::npos || a >= src.size() || src[a] != '(') {
      std::fprintf(stderr, "%s: cannot parse the launch of %s\n", argv[1], name.c_str());
      return 1;
    }
    depth = 0;
    size_t b = a;
    for (; b < src.size(); ++b) {
      if (src[b] == '(') ++depth;
      else if (src[b] == ')' && --depth == 0) break;
    }
    out += src.substr(pos, start - pos);
    out += "::emu::launch(dim3(" + cfg.substr(0, comma) + "), dim3(" + cfg.substr(comma + 1) + "), [&]() { " + name +
           src.substr(a, b - a + 1) + "; })";
    pos = b + 1;
  }
  std::cout << out;
  return 0;
}
