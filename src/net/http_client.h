// HttpClient: a blocking HTTP/1.1 client for the router (calls to remote workers) and for
// `parley chat`, with timeouts, a streaming mode that hands over the body as it arrives (SSE),
// and cancellation from another thread.
//
//   HttpClient client;
//   ASSIGN_OR_RETURN(HttpResponse r, client.request("GET", "http://127.0.0.1:8080/health"));
//
//   auto cancel = std::make_shared<HttpCancellation>();   // cancel->cancel() from anywhere
//   HttpClientRequest req{.method = "POST", .url = url, .body = json, .cancel = cancel};
//   SseParser sse;
//   auto head = client.stream(req, {.on_data = [&](std::string_view bytes) {
//     return sse.feed(bytes, [&](SseEvent e) { ... }).ok();
//   }});
//
// Each call opens its own connection (sent with "Connection: close") and runs its own event
// loop on the calling thread: no shared state, so one HttpClient may be used by many threads at
// once. Plain http:// only; https:// is kUnimplemented (terminate TLS in front of the workers).
//
// Errors: kInvalidArgument (bad URL, method or header), kUnimplemented (https), kUnavailable
// (cannot resolve or connect, connection lost, malformed response), kDeadlineExceeded
// (timeouts), kCancelled (HttpCancellation or a callback returned false), kResourceExhausted
// (request(): body over max_body_bytes). A response with any status, 4xx/5xx included, is a
// success of the call: check HttpResponse::status.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "base/result.h"
#include "net/http_request.h"

namespace parley {

namespace net_detail {
class ClientCall;
}  // namespace net_detail

struct HttpResponse {
  int status = 0;
  std::string reason;
  HttpHeaders headers;
  std::string body;  // empty for stream(): the body went to on_data

  std::string_view header(std::string_view name) const { return find_header(headers, name); }
};

// Aborts one in-flight call from any thread: the call returns kCancelled promptly (it closes its
// socket). Cancelling before the call starts makes it return at once. One object per call.
class HttpCancellation {
 public:
  void cancel();
  bool cancelled() const;

 private:
  friend class net_detail::ClientCall;
  // Set by the running call: how to interrupt it; cancel() runs it under mu_.
  void set_interrupt_hook(std::function<void()> interrupt);

  mutable std::mutex mu_;
  bool cancelled_ = false;
  std::function<void()> interrupt_;
};

struct HttpClientRequest {
  std::string method = "GET";
  std::string url;      // http://host[:port]/path?query
  HttpHeaders headers;  // Host, Content-Length and Connection are set by the client
  std::string body;
  // request(): the whole exchange. stream(): connecting, sending and receiving the response head.
  std::chrono::milliseconds timeout{30'000};
  // stream(): the longest silence allowed between pieces of the body once the head has arrived.
  std::chrono::milliseconds idle_timeout{120'000};
  // request(): a larger response body is an error (kResourceExhausted).
  std::size_t max_body_bytes = 64 * 1024 * 1024;
  std::shared_ptr<HttpCancellation> cancel;  // optional
};

// Callbacks of stream(), run on the calling thread. Returning false cancels (kCancelled).
struct HttpStreamCallbacks {
  std::function<bool(const HttpResponse& head)> on_head;  // optional: status and headers
  std::function<bool(std::string_view data)> on_data;     // body bytes, de-chunked, as they arrive
};

class HttpClient {
 public:
  // Blocks until the whole response is in (or an error). Informational 1xx responses are skipped.
  Result<HttpResponse> request(const HttpClientRequest& request) const;
  Result<HttpResponse> request(std::string_view method, std::string_view url, HttpHeaders headers = {},
                               std::string body = {},
                               std::chrono::milliseconds timeout = std::chrono::milliseconds(30'000)) const;

  // Blocks until the response body ends, delivering it through `callbacks` as it arrives.
  // Returns the head (body empty).
  Result<HttpResponse> stream(const HttpClientRequest& request, const HttpStreamCallbacks& callbacks) const;
};

}  // namespace parley
