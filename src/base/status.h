// Status: the one error model of Parley. A Status is either OK or carries an ErrorCode and a
// human-readable message. It is cheap to copy (the error payload is shared and immutable) and
// cheap to create when OK (no allocation). Functions that can fail return Status or Result<T>
// (base/result.h); exceptions never cross module boundaries.
#pragma once

#include <fmt/core.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley {

// Modelled on the canonical gRPC codes so that the mapping to HTTP (in gateway) is one table.
enum class ErrorCode : unsigned char {
  kOk = 0,
  kCancelled,           // the caller gave up (client disconnect, cancel())
  kInvalidArgument,     // bad input: malformed file, bad flag, out-of-range value
  kNotFound,            // a named thing does not exist (file, key, tensor, token)
  kAlreadyExists,       // creating something that exists
  kPermissionDenied,    // authenticated but not allowed
  kUnauthenticated,     // no or bad credentials
  kResourceExhausted,   // limits: queue full, quota, memory, size caps
  kFailedPrecondition,  // the system is not in a state where this can run
  kAborted,             // concurrency conflict; retrying may succeed
  kOutOfRange,          // a read past the end of a valid range
  kUnimplemented,       // a recognised request we do not support (yet)
  kInternal,            // a broken invariant that was caught rather than CHECKed
  kUnavailable,         // transient: retry later
  kDeadlineExceeded,    // a timeout
  kDataLoss,            // stored data is corrupt
  kIoError,             // the operating system refused an I/O operation
};

// Stable snake_case name of a code, e.g. "invalid_argument".
std::string_view error_code_name(ErrorCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(ErrorCode code, std::string message);

  bool ok() const { return rep_ == nullptr; }
  ErrorCode code() const { return rep_ ? rep_->code : ErrorCode::kOk; }
  std::string_view message() const { return rep_ ? std::string_view(rep_->message) : std::string_view(); }

  // "ok" or "<code name>: <message>".
  std::string to_string() const;

  // The same error with "context: " prepended to the message; OK stays OK.
  Status with_context(std::string_view context) const;

  // Structured details for the layer that reports the error, e.g. {"param", "messages[2].role"}
  // for an API error body or {"retry_after", "2"} for a 429. OK statuses carry none.
  Status with_detail(std::string_view key, std::string value) const;
  std::string_view detail(std::string_view key) const;

  // Explicitly drop a status (documents that ignoring it is intended).
  void ignore() const {}

  friend bool operator==(const Status& a, const Status& b) {
    return a.code() == b.code() && a.message() == b.message();
  }

 private:
  struct Rep {
    ErrorCode code;
    std::string message;
    std::vector<std::pair<std::string, std::string>> details;
  };
  std::shared_ptr<const Rep> rep_;
};

inline Status ok_status() { return Status(); }

// Error constructors with fmt formatting: invalid_argument("bad value {}", x).
template <typename... Args>
Status make_error(ErrorCode code, fmt::format_string<Args...> f, Args&&... args) {
  return Status(code, fmt::format(f, std::forward<Args>(args)...));
}

#define PARLEY_DEFINE_ERROR_FN(fn, code)                                 \
  template <typename... Args>                                            \
  Status fn(fmt::format_string<Args...> f, Args&&... args) {             \
    return Status(ErrorCode::code, fmt::format(f, std::forward<Args>(args)...)); \
  }
PARLEY_DEFINE_ERROR_FN(cancelled_error, kCancelled)
PARLEY_DEFINE_ERROR_FN(invalid_argument_error, kInvalidArgument)
PARLEY_DEFINE_ERROR_FN(not_found_error, kNotFound)
PARLEY_DEFINE_ERROR_FN(already_exists_error, kAlreadyExists)
PARLEY_DEFINE_ERROR_FN(resource_exhausted_error, kResourceExhausted)
PARLEY_DEFINE_ERROR_FN(failed_precondition_error, kFailedPrecondition)
PARLEY_DEFINE_ERROR_FN(out_of_range_error, kOutOfRange)
PARLEY_DEFINE_ERROR_FN(unimplemented_error, kUnimplemented)
PARLEY_DEFINE_ERROR_FN(internal_error, kInternal)
PARLEY_DEFINE_ERROR_FN(unavailable_error, kUnavailable)
PARLEY_DEFINE_ERROR_FN(data_loss_error, kDataLoss)
PARLEY_DEFINE_ERROR_FN(io_error, kIoError)
#undef PARLEY_DEFINE_ERROR_FN

// An I/O error from errno, e.g. errno_error("open", path) -> "open /x: No such file or directory".
// ENOENT maps to kNotFound, EACCES/EPERM to kPermissionDenied, anything else to kIoError.
Status errno_error(std::string_view what, std::string_view path, int err);

namespace detail {
inline const Status& as_status(const Status& s) { return s; }
}  // namespace detail

}  // namespace parley

#define PARLEY_CONCAT_INNER(a, b) a##b
#define PARLEY_CONCAT(a, b) PARLEY_CONCAT_INNER(a, b)

// Returns from the enclosing function when `expr` (a Status or Result<T>) is an error.
#define RETURN_IF_ERROR(expr)                                                  \
  do {                                                                         \
    const ::parley::Status parley_status_ = ::parley::detail::as_status(expr); \
    if (!parley_status_.ok()) return parley_status_;                           \
  } while (0)

// Same, with "context: " prepended to the message of the returned error.
#define RETURN_IF_ERROR_CTX(expr, context)                                     \
  do {                                                                         \
    const ::parley::Status parley_status_ = ::parley::detail::as_status(expr); \
    if (!parley_status_.ok()) return parley_status_.with_context(context);     \
  } while (0)
