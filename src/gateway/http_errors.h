// The one place where a Status becomes an HTTP status and an OpenAI error body.
#pragma once

#include <string>

#include "base/status.h"

namespace parley {

struct HttpError {
  int status = 500;
  std::string type;         // OpenAI error type: invalid_request_error, rate_limit_error, ...
  std::string code;         // optional machine code: model_not_found, context_length_exceeded, ...
  std::string param;        // the offending request field, if any
  std::string message;
  int retry_after_s = 0;    // > 0: send Retry-After
  std::string body() const;  // {"error": {...}}
};

// Mapping (details "param", "code", "retry_after" are honoured when present; "http_status" (e.g.
// "413", "415") overrides the status for errors that have no ErrorCode of their own):
//   kInvalidArgument, kOutOfRange -> 400 invalid_request_error
//   kUnauthenticated -> 401 authentication_error;  kPermissionDenied -> 403 permission_error
//   kNotFound -> 404 invalid_request_error;  kAlreadyExists, kAborted -> 409
//   kResourceExhausted -> 429 rate_limit_error with Retry-After (default 1 s)
//   kUnavailable -> 503 with Retry-After;  kUnimplemented -> 501;  kDeadlineExceeded -> 504
//   kCancelled -> 499 (client closed request);  everything else -> 500 server_error
HttpError to_http_error(const Status& status);

}  // namespace parley
