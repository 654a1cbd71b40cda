// Admission: deciding about a request from its head, before its body is read.
//
// A server started with a HeadHandler calls it on the I/O thread as soon as a request's head
// (request line and fields) has arrived and passed the protocol checks, and reads nothing more of
// that request until the decision comes. The handler may decide at once, or later from any thread
// (after a database lookup, say):
//
//   decision->admit(max_body_bytes, context)   read the body, at most `max_body_bytes` (and never
//                                              more than HttpServerOptions::max_body_bytes; 413
//                                              beyond, before reading it when it is declared),
//                                              then call the HttpHandler with `context` in
//                                              HttpRequest::context
//   decision->refuse(status, headers, body)    answer now: the body is never read and the
//                                              connection closes after the answer
//
// So a client that may not use a route never makes the server buffer its body, and per-route body
// limits apply before the bytes arrive. Only the first call counts. A decision released without
// either call refuses with 500; one that does not come within HttpServerOptions::header_timeout is
// a 503 with Retry-After (the server is too busy to decide). "Expect: 100-continue" is answered
// only once the request is admitted. Calls after the connection closed do nothing.
#pragma once

#include <any>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "net/http_request.h"

namespace parley {

class HeadDecision {
 public:
  virtual ~HeadDecision() = default;
  // Any thread.
  virtual void admit(std::size_t max_body_bytes, std::any context) = 0;
  // Any thread. Content-Length, Transfer-Encoding and Connection are set by the server.
  virtual void refuse(int status, HttpHeaders headers, std::string body) = 0;
};

// `head` has everything but the body (HttpRequest::body is empty). Called on an I/O thread; must
// not block it (post slow work elsewhere and decide from there).
using HeadHandler = std::function<void(const HttpRequest& head, std::shared_ptr<HeadDecision> decision)>;

}  // namespace parley
