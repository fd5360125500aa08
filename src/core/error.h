// Errors: library code throws latco::Error with a specific message; only main exits.
//   LATCO_CHECK(cond) << "config line 12: unknown key 'horizn'";
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace latco {

struct Error : std::runtime_error {
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {
// Collects the streamed message and throws when the full expression ends.
class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* cond) {
    os_ << "[" << file << ":" << line << "] check failed: " << cond << ": ";
  }
  template <class T>
  CheckFailure& operator<<(const T& v) { os_ << v; return *this; }
  [[noreturn]] ~CheckFailure() noexcept(false) { throw Error(os_.str()); }
 private:
  std::ostringstream os_;
};
struct Voidify { void operator&(const CheckFailure&) {} };
}  // namespace detail

}  // namespace latco

#define LATCO_CHECK(cond) \
  (cond) ? (void)0 : ::latco::detail::Voidify() & ::latco::detail::CheckFailure(__FILE__, __LINE__, #cond)

// A user-facing error: no file/line decoration, just the message.
#define LATCO_FAIL(msg_expr)                          \
  do {                                                \
    std::ostringstream latco_os_;                     \
    latco_os_ << msg_expr;                            \
    throw ::latco::Error(latco_os_.str());            \
  } while (0)
