#include "base/status.h"

#include <cerrno>
#include <cstring>

namespace parley {

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return "ok";
    case ErrorCode::kCancelled: return "cancelled";
    case ErrorCode::kInvalidArgument: return "invalid_argument";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kAlreadyExists: return "already_exists";
    case ErrorCode::kPermissionDenied: return "permission_denied";
    case ErrorCode::kUnauthenticated: return "unauthenticated";
    case ErrorCode::kResourceExhausted: return "resource_exhausted";
    case ErrorCode::kFailedPrecondition: return "failed_precondition";
    case ErrorCode::kAborted: return "aborted";
    case ErrorCode::kOutOfRange: return "out_of_range";
    case ErrorCode::kUnimplemented: return "unimplemented";
    case ErrorCode::kInternal: return "internal";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kDeadlineExceeded: return "deadline_exceeded";
    case ErrorCode::kDataLoss: return "data_loss";
    case ErrorCode::kIoError: return "io_error";
  }
  return "unknown";
}

Status::Status(ErrorCode code, std::string message) {
  if (code != ErrorCode::kOk) rep_ = std::make_shared<const Rep>(Rep{code, std::move(message), {}});
}

std::string Status::to_string() const {
  if (ok()) return "ok";
  std::string out(error_code_name(rep_->code));
  out += ": ";
  out += rep_->message;
  return out;
}

Status Status::with_context(std::string_view context) const {
  if (ok()) return *this;
  std::string msg(context);
  msg += ": ";
  msg += rep_->message;
  Status out(rep_->code, std::move(msg));
  auto rep = std::make_shared<Rep>(*out.rep_);
  rep->details = rep_->details;
  out.rep_ = std::move(rep);
  return out;
}

Status Status::with_detail(std::string_view key, std::string value) const {
  if (ok()) return *this;
  auto rep = std::make_shared<Rep>(*rep_);
  for (auto& [k, v] : rep->details) {
    if (k == key) {
      v = std::move(value);
      Status out;
      out.rep_ = std::move(rep);
      return out;
    }
  }
  rep->details.emplace_back(std::string(key), std::move(value));
  Status out;
  out.rep_ = std::move(rep);
  return out;
}

std::string_view Status::detail(std::string_view key) const {
  if (ok()) return {};
  for (const auto& [k, v] : rep_->details) {
    if (k == key) return v;
  }
  return {};
}

Status errno_error(std::string_view what, std::string_view path, int err) {
  ErrorCode code = ErrorCode::kIoError;
  if (err == ENOENT || err == ENOTDIR) code = ErrorCode::kNotFound;
  if (err == EACCES || err == EPERM) code = ErrorCode::kPermissionDenied;
  return Status(code, fmt::format("{} {}: {}", what, path, std::strerror(err)));
}

}  // namespace parley
