#include "gateway/http_errors.h"

#include <charconv>

#include "api/openai_response.h"

namespace parley {

std::string HttpError::body() const { return error_body(message, type, param, code); }

HttpError to_http_error(const Status& st) {
  HttpError e;
  e.message = std::string(st.message());
  e.param = std::string(st.detail("param"));
  e.code = std::string(st.detail("code"));
  switch (st.code()) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kOutOfRange:
    case ErrorCode::kFailedPrecondition:
      e.status = 400;
      e.type = "invalid_request_error";
      break;
    case ErrorCode::kUnauthenticated:
      e.status = 401;
      e.type = "authentication_error";
      break;
    case ErrorCode::kPermissionDenied:
      e.status = 403;
      e.type = "permission_error";
      break;
    case ErrorCode::kNotFound:
      e.status = 404;
      e.type = "invalid_request_error";
      break;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kAborted:
      e.status = 409;
      e.type = "invalid_request_error";
      break;
    case ErrorCode::kResourceExhausted:
      e.status = 429;
      e.type = "rate_limit_error";
      e.retry_after_s = 1;
      break;
    case ErrorCode::kUnavailable:
      e.status = 503;
      e.type = "server_error";
      e.retry_after_s = 1;
      break;
    case ErrorCode::kUnimplemented:
      e.status = 501;
      e.type = "invalid_request_error";
      break;
    case ErrorCode::kDeadlineExceeded:
      e.status = 504;
      e.type = "server_error";
      break;
    case ErrorCode::kCancelled:
      e.status = 499;
      e.type = "invalid_request_error";
      break;
    default:
      e.status = 500;
      e.type = "server_error";
  }
  if (const std::string_view ra = st.detail("retry_after"); !ra.empty()) {
    int v = 0;
    if (std::from_chars(ra.data(), ra.data() + ra.size(), v).ec == std::errc() && v > 0) e.retry_after_s = v;
  }
  if (const std::string_view hs = st.detail("http_status"); !hs.empty()) {
    int v = 0;
    if (std::from_chars(hs.data(), hs.data() + hs.size(), v).ec == std::errc() && v >= 400 && v <= 599) e.status = v;
  }
  if (e.message.empty()) e.message = std::string(error_code_name(st.code()));
  return e;
}

}  // namespace parley
