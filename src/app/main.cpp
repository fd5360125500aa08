// latco <command> [options]: runs one row of the command table in app/commands.cpp (or, for
// `latco bench NAME`, of its benchmark table).
#include <cxxabi.h>

#include <cstdio>
#include <cstdlib>
#include <new>
#include <typeinfo>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <string>

#include "app/command.h"
#include "core/error.h"
#include "core/thread_pool.h"

using namespace latco;

static std::string type_name(const std::type_info& t) {
  int status = 0;
  char* d = abi::__cxa_demangle(t.name(), nullptr, nullptr, &status);
  std::string s = status == 0 && d ? d : t.name();
  std::free(d);
  return s;
}

static void usage() {
  std::printf("usage: latco <command> [options] [key=value ...]\n       latco <command> --help   (its flags and config keys; or latco help <command>)\n       latco --version\n\ncommands:\n");
  for (const Command& c : commands()) std::printf("  %-14s %s\n", c.name, c.help);
  std::printf("  %-14s run one benchmark:", "bench <name>");
  for (const Bench& b : benches()) std::printf(" %s", b.name);
  std::printf("\n");
}

// A training step allocates and frees the same large activation buffers every time. glibc's
// default gives buffers over its (adaptive) mmap threshold back to the kernel and trims the heap,
// so each step faults the same pages in again (about 10% of a small-model step). Keeping freed
// memory for reuse removes that. Buffers over 32 MB (the largest mmap threshold glibc accepts)
// come from the heap too, not from mappings of their own: the paper-size step's largest
// activations are 63 MB, and mapping them afresh cost 9% of its CPU time.
static void keep_freed_memory() {
#ifdef __GLIBC__
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress reaches logs line by line
  keep_freed_memory();
  if (argc == 3 && std::string(argv[1]) == "help" && find_command(argv[2])) {  // latco help CMD
    std::printf("%s", format_help(argv[2]).c_str());
    return 0;
  }
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "help") {
    usage();
    return argc < 2 ? 1 : 0;
  }
  std::string cmd = argv[1];
  if (cmd == "--version" || cmd == "version") {
    std::printf("%s\n", version_text().c_str());
    return 0;
  }
  try {
    if (cmd == "bench") {
      if (argc < 3 || !find_bench(argv[2])) {
        std::fprintf(stderr, "latco bench: unknown benchmark '%s'; available:", argc < 3 ? "" : argv[2]);
        for (const Bench& b : benches()) std::fprintf(stderr, " %s", b.name);
        std::fprintf(stderr, "\n");
        return 2;
      }
      Args args = Args::parse(argc, argv, 3);
      set_num_threads(static_cast<int>(args.get_int("threads", 2)));
      return find_bench(argv[2])(args);
    }
    if (!find_command(cmd)) {
      std::fprintf(stderr, "latco: unknown command '%s'\n", cmd.c_str());
      usage();
      return 2;
    }
    Args args = Args::parse(argc, argv, 2);
    if (args.has("threads")) set_num_threads(static_cast<int>(args.get_int("threads", 2)));
    return dispatch(cmd, args);
  } catch (const Error& e) {
    std::fprintf(stderr, "latco %s: error: %s\n", cmd.c_str(), e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "latco %s: error: out of memory (a size in the config or the data too large for this "
                 "machine?)\n", cmd.c_str());
    return 1;
  } catch (const std::exception& e) {
    // Every error a user can cause is a latco::Error with a message; anything else is a bug.
    std::fprintf(stderr, "latco %s: internal error (a bug, please report it): %s: %s\n", cmd.c_str(),
                 type_name(typeid(e)).c_str(), e.what());
    return 70;
  } catch (...) {
    std::fprintf(stderr, "latco %s: internal error (a bug, please report it): unknown exception\n", cmd.c_str());
    return 70;
  }
}
