#include "base/check.h"

#include <cstdio>
#include <cstdlib>

namespace parley::detail {

void check_failed(const char* expr, const char* file, int line, const std::string& message) {
  // Plain stdio: the logger may be the thing that is broken.
  std::fprintf(stderr, "CHECK failed at %s:%d: %s%s%s\n", file, line, expr, message.empty() ? "" : ": ",
               message.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace parley::detail
