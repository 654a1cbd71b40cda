// Internal to src/net: the state one request/response shares between its HttpResponder (any
// thread) and its connection (one I/O thread), and ResponseSink, the connection's side of it.
//
// Lifetimes. The responder owns the Exchange (shared); the connection holds the current one and
// the Exchange points back at the connection weakly, through `post`. The connection detaches the
// Exchange when the response is done or the connection closes, always on its I/O thread and
// before the server could destroy its event loops; post() holds the same mutex while it takes a
// strong reference and queues work, so nothing is ever queued on a loop that is gone.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "net/http_responder.h"

namespace parley::net_detail {

class Exchange;

// Implemented by the connection. post() may be called from any thread; everything else only
// runs on the connection's I/O thread, and ignores an Exchange that is not its current one.
class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  virtual void post(std::function<void()> fn) = 0;

  virtual void send_response(Exchange& x, int status, HttpHeaders headers, std::string body) = 0;
  virtual void start_stream(Exchange& x, int status, HttpHeaders headers) = 0;
  // `counted`: the bytes the responder added to Exchange::queued_bytes for this chunk.
  virtual void write_chunk(Exchange& x, std::string chunk, std::size_t counted) = 0;
  virtual void finish_stream(Exchange& x) = 0;
  // The handler cannot finish: a 500 if nothing was sent yet, else the connection is cut.
  virtual void fail_response(Exchange& x, std::string why) = 0;
  virtual void drop_slow_reader(Exchange& x) = 0;
};

class Exchange {
 public:
  // What the responder has started, claimed with compare-exchange so that one response wins.
  enum Stage : int { kNone, kStreaming, kDone };

  Exchange(std::weak_ptr<ResponseSink> sink, std::size_t max_queued_bytes)
      : max_queued_bytes(max_queued_bytes), sink_(std::move(sink)) {}

  // --- any thread ---
  // Runs fn(sink) on the connection's I/O thread; false when the connection is gone or the
  // exchange is over.
  bool post(std::function<void(ResponseSink&)> fn);
  void detach();

  std::atomic<int> stage{kNone};
  std::atomic<bool> disconnected{false};
  std::atomic<std::size_t> queued_bytes{0};  // stream bytes accepted by write(), not yet sent
  const std::size_t max_queued_bytes;

  // --- the connection's I/O thread ---
  bool complete = false;  // respond()/finish() reached the connection: no more on_disconnect
  bool head_sent = false;
  void mark_disconnected();
  void set_disconnect_callback(std::function<void()> callback);

 private:
  void fire_callback();

  std::mutex mu_;
  std::weak_ptr<ResponseSink> sink_;  // guarded by mu_
  std::function<void()> callback_;    // I/O thread only
};

// The HttpResponder handed to handlers.
class ResponderImpl final : public HttpResponder {
 public:
  explicit ResponderImpl(std::shared_ptr<Exchange> exchange) : x_(std::move(exchange)) {}
  ~ResponderImpl() override;

  void respond(int status, HttpHeaders headers, std::string body) override;
  void start_stream(int status, HttpHeaders headers) override;
  bool write(std::string chunk) override;
  void finish() override;
  bool disconnected() const override;
  void on_disconnect(std::function<void()> callback) override;

  // Ends a response the handler could not (it threw or let go): see ResponseSink::fail_response.
  void fail(std::string why);

 private:
  std::shared_ptr<Exchange> x_;
};

}  // namespace parley::net_detail
