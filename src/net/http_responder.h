// HttpResponder: the way back to the client for one request, and HttpHandler, the function the
// server calls for every request.
//
// Threading. The handler is called on an I/O thread. It must not block it: anything slower than
// a few microseconds (inference, database, a remote call) belongs on another thread, which keeps
// the responder and answers through it later. Every HttpResponder method may be called from any
// thread; the work is posted to the connection's I/O thread, so calls made by one thread take
// effect in the order they were made.
//
// Lifetime. The responder is shared: the handler may copy it into callbacks freely. It may
// outlive the connection and even the server; its methods then do nothing (write() returns
// false). Releasing the last reference before the response is finished is a handler bug that
// the server survives: with nothing sent yet the client gets a 500 and the connection closes;
// in the middle of a stream the connection is closed (the client sees a truncated body).
//
// One response per request: either respond(), or start_stream() + write()* + finish(). A second
// respond()/start_stream() is logged and ignored.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "net/http_request.h"

namespace parley {

class HttpResponder {
 public:
  virtual ~HttpResponder() = default;

  // A complete response with a Content-Length body. For HEAD requests the body is not sent (its
  // length still is). Content-Length, Transfer-Encoding and Connection are set by the server: a
  // handler's own are dropped, except "Connection: close", which is honoured.
  virtual void respond(int status, HttpHeaders headers, std::string body) = 0;

  // Starts a streamed response: chunked transfer encoding for HTTP/1.1 (e.g. text/event-stream),
  // a body delimited by closing the connection for HTTP/1.0 clients.
  virtual void start_stream(int status, HttpHeaders headers) = 0;
  // Queues one piece of the stream; it goes out as soon as the socket takes it (TCP_NODELAY, no
  // batching delay). Returns false, and drops `chunk`, once the client is gone, the stream was
  // not started or is finished, or the bytes accepted but not yet taken by the socket (this
  // chunk included) would exceed HttpServerOptions::max_stream_buffer_bytes: a reader that slow
  // is disconnected (and on_disconnect fires). So no single chunk may exceed that limit. An
  // empty chunk is ignored (it would end a chunked body).
  virtual bool write(std::string chunk) = 0;
  // Ends the stream. After it, the connection carries on with the client's next request.
  virtual void finish() = 0;

  // True once the client has gone away (or was dropped) before the response was finished.
  virtual bool disconnected() const = 0;

  // `callback` runs once if the client goes away before the response is finished: the socket
  // reports EOF or an error (a client that half-closes counts as gone), a write fails or times
  // out, the client reads too slowly, or the server stops. It runs on the connection's I/O
  // thread and must be quick and must not block (typically: flag a cancellation); if the
  // connection is already gone when this is called, it runs at once on the calling thread.
  // "Finished" means the connection has taken the last of the response: a disconnect racing
  // with respond()/finish() may still run it, which is harmless for a cancellation. Registering
  // again replaces a callback that has not run yet.
  virtual void on_disconnect(std::function<void()> callback) = 0;
};

// Called once per request on an I/O thread, in the order the requests arrived on a connection
// (the next pipelined request waits until this one's response is finished). Different
// connections call it concurrently from different I/O threads: it must be thread-safe. An
// exception escaping the handler is logged and answered with a 500 if nothing was sent yet.
using HttpHandler = std::function<void(HttpRequest request, std::shared_ptr<HttpResponder> responder)>;

}  // namespace parley
