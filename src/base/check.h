// CHECK(cond) and CHECK(cond, "fmt {}", args...): abort with a message when an invariant is broken.
// Only for programming errors; bad input is a Status, never a CHECK. DCHECK compiles away in
// release builds (NDEBUG) but still type-checks its arguments.
#pragma once

#include <fmt/core.h>

#include <string>

namespace parley::detail {
[[noreturn]] void check_failed(const char* expr, const char* file, int line, const std::string& message);
}  // namespace parley::detail

#define CHECK(cond, ...)                                                                    \
  do {                                                                                      \
    if (!(cond)) [[unlikely]] {                                                             \
      ::parley::detail::check_failed(#cond, __FILE__, __LINE__,                             \
                                     ::std::string(__VA_OPT__(::fmt::format(__VA_ARGS__))));  \
    }                                                                                       \
  } while (0)

#ifdef NDEBUG
#define DCHECK(cond, ...) \
  do {                    \
    if (false) CHECK(cond __VA_OPT__(, ) __VA_ARGS__); \
  } while (0)
#else
#define DCHECK(cond, ...) CHECK(cond __VA_OPT__(, ) __VA_ARGS__)
#endif
