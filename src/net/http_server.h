// HttpServer: an HTTP/1.1 server (optionally HTTPS) built on Boost.Beast, kept behind this
// header so that users of it do not compile Beast.
//
//   HttpServerOptions options;
//   options.port = 0;                                   // any free port
//   ASSIGN_OR_RETURN(auto server, HttpServer::start(options, handler));
//   log_info("listening on {}", server->port());
//   ...
//   server->stop(std::chrono::seconds(5));              // or just destroy it
//
// Model: `io_threads` threads, each running its own event loop; a connection lives on one of
// them for its whole life, so its state needs no locks (the handler and the responder's
// callbacks run there too). HTTP/1.1 keep-alive, HTTP/1.0 (close unless keep-alive is asked
// for), pipelining (answered in order), chunked request bodies, "Expect: 100-continue" and HEAD
// are supported. See net/http_responder.h for handlers, threading and streaming.
//
// Protection, each answered with a JSON error body in OpenAI's shape and "Connection: close":
//   request head over max_header_bytes        -> 431
//   body (declared or received) over the cap  -> 413
//   malformed request, HTTP/1.1 without Host  -> 400  (an unknown Expect -> 417, HTTP/2+ -> 505)
//   head or body too slow                     -> 408  (idle keep-alive connections just close)
//   more than max_connections open            -> 503 with Retry-After, before reading anything
//   Transfer-Encoding other than "chunked"    -> 400 (RFC 9112 6.3: the body length is unknown),
//                                                501 for codings before a final "chunked"
//   bodies being received over the server's   -> 503 with Retry-After (max_body_bytes_in_flight)
//   or one client address's budget               or 429 with Retry-After (.._per_address)
// With a HeadHandler (net/http_admission.h) each request is admitted or refused from its head,
// before any of its body is read.
// While a response is pending the server keeps reading the socket, so a client that goes away
// is noticed at once (HttpResponder::on_disconnect); bytes that arrive meanwhile (the next
// pipelined request) are kept, up to max_header_bytes beyond which reading pauses.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "base/result.h"
#include "net/http_admission.h"
#include "net/http_responder.h"

namespace parley {

struct HttpServerOptions {
  std::string host = "127.0.0.1";  // an address or a name resolved once at start; "0.0.0.0", "::" for all
  std::uint16_t port = 8080;       // 0: any free port (see HttpServer::port())
  int io_threads = 2;

  std::size_t max_header_bytes = 16 * 1024;                   // request line + fields
  std::size_t max_body_bytes = 16 * 1024 * 1024;              // after de-chunking
  std::chrono::milliseconds header_timeout{10'000};           // whole head of a request, from its first byte
                                                              // (from accept/handshake for the first request)
  std::chrono::milliseconds body_timeout{60'000};             // whole body, from the end of the head
  std::chrono::milliseconds keep_alive_idle_timeout{60'000};  // between requests
  std::chrono::milliseconds write_timeout{30'000};            // one flush of queued bytes to the socket
  std::size_t max_connections = 4096;                         // beyond: 503 and close
  std::size_t max_stream_buffer_bytes = 1024 * 1024;          // queued, not yet sent, per response
  // Request bodies being received (declared lengths, or what arrived of chunked ones), counted
  // from the head until the handler gets the request: for the whole server and per client address.
  // Raised to max_body_bytes (per address) and to the per-address budget (server) when lower.
  std::size_t max_body_bytes_in_flight = std::size_t{256} << 20;
  std::size_t max_body_bytes_per_address = std::size_t{32} << 20;

  // HTTPS when both are set: PEM certificate chain and private key, loaded at start.
  std::string tls_cert_file;
  std::string tls_key_file;
};

class HttpServer {
 public:
  // Binds, listens and starts the I/O threads. Errors: kInvalidArgument (bad options, TLS files
  // that do not load), kIoError (address in use, cannot resolve `host`, ...).
  // With `head`, every request is first admitted or refused from its head (net/http_admission.h).
  static Result<std::unique_ptr<HttpServer>> start(const HttpServerOptions& options, HttpHandler handler,
                                                   HeadHandler head = nullptr);

  // stop() with no grace period. Stop (or destroy) the server before what its handler and the
  // on_disconnect callbacks use: stopping still runs those callbacks.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound port (the chosen one when options.port was 0).
  std::uint16_t port() const;

  // Open connections, including ones being refused with 503.
  std::size_t connection_count() const;

  // Stops accepting and ends every connection, then joins the I/O threads. With a grace period,
  // idle connections close at once and responses in flight may finish (each then closes) until
  // the deadline; whatever is left is cut off, firing on_disconnect for unfinished responses.
  // Idempotent. Must not be called from an I/O thread (a handler or responder callback): it
  // would wait for itself.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(0));

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley
