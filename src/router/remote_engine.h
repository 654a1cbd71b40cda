// RemoteEngineClient: an EngineClient whose engine is one model on a `parley worker`, reached
// over the internal API (router/worker_protocol.h, docs/scaling.md). It emits the same events as
// the local engine, so the gateway's code is the same in `serve` and `gateway`.
//
// submit() POSTs /internal/v1/generate and waits (bounded by `head_timeout`) for the response
// head (so call it off I/O threads, as the gateway's request pool does), so that it answers synchronously like
// LocalEngine: 200 -> the request id; a refusal maps back to the Status the worker's engine returned (429 queue full ->
// kResourceExhausted, 400 too long or bad sampling -> kInvalidArgument, ...); no answer (cannot connect, reset,
// timeout) -> kUnavailable, which a router retries on another worker. After the head, the stream's events go to the
// sink from the call's own thread (HttpClient blocks: one thread per request in flight, at most `max_in_flight`, beyond
// which submit() is kResourceExhausted). A stream that ends without its `finish` event (the worker died, the connection
// broke, a malformed event) gives the sink FinishEvent{kError, "the inference worker went away mid-stream; ...", error
// = kUnavailable}; the message is for the client (no address), the log line has the worker.
//
// cancel() aborts the call's HTTP exchange (HttpCancellation: the socket closes, and the worker
// cancels the request when its client goes away), the sink gets FinishEvent{kCancelled}, and the
// call's thread then also POSTs /internal/v1/cancel/{id} (belt and braces). It never blocks, so
// it may be called from an I/O thread.
//
// stats() is the last snapshot of the worker's /internal/v1/stats for this model, polled every
// `stats_interval` by a background thread (0: never; then set_stats() / refresh_stats() feed it).
//
// Thread safety: every method may be called from any thread. The sink is called from the call's
// thread, never concurrently for one request. The destructor cancels what is in flight and waits
// for the calls' threads.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "engine/engine_client.h"
#include "net/http_client.h"
#include "router/worker_protocol.h"

namespace parley {

struct RemoteEngineOptions {
  std::string worker_url;                           // "http://10.0.0.7:8081" (no trailing slash needed)
  std::string model;                                // the model's id on the worker
  std::string cluster_token;                        // sent as "Authorization: Bearer ..." when not empty
  std::int32_t n_vocab = 0;                         // > 0: token ids from the worker are checked against it
  std::chrono::milliseconds head_timeout{30'000};   // connect, send, worker's answer (grammar compile included)
  std::chrono::milliseconds idle_timeout{300'000};  // silence allowed mid-stream (a long queue wait)
  std::chrono::milliseconds stats_interval{1'000};
  std::size_t max_in_flight = 4096;
  WorkerProtocolLimits limits;
};

class RemoteEngineClient final : public EngineClient {
 public:
  explicit RemoteEngineClient(RemoteEngineOptions options);
  ~RemoteEngineClient() override;
  RemoteEngineClient(const RemoteEngineClient&) = delete;
  RemoteEngineClient& operator=(const RemoteEngineClient&) = delete;

  Result<RequestId> submit(GenerateRequest request, std::shared_ptr<RequestSink> sink) override;
  void cancel(RequestId id) override;
  EngineStats stats() const override;

  // GET /internal/v1/stats now and keep this model's entry (also what the poller does).
  Status refresh_stats();
  // Feeds stats() from elsewhere (a router that polls each worker once for all its models).
  void set_stats(const EngineStats& stats);
  // Whether the last stats poll found the worker draining.
  bool worker_draining() const { return draining_.load(); }
  std::size_t in_flight() const;
  const RemoteEngineOptions& options() const { return options_; }

 private:
  struct Call;
  void run_call(const std::shared_ptr<Call>& call);
  void stream_events(const std::shared_ptr<Call>& call);
  void end_call(const std::shared_ptr<Call>& call);
  void poll_stats();
  HttpHeaders auth_headers() const;

  RemoteEngineOptions options_;
  HttpClient http_;
  std::string id_prefix_;  // makes this client's request ids unique on the worker
  std::atomic<RequestId> next_id_{1};

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<RequestId, std::shared_ptr<Call>> calls_;
  EngineStats stats_;
  std::atomic<bool> draining_{false};
  bool stopping_ = false;
  std::thread poller_;
};

}  // namespace parley
