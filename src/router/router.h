// Router: an EngineClient for one model over the workers of a WorkerRegistry, so the gateway's
// code is the same whether its engine is in process, one worker, or many.
//
// submit() asks the registry for the candidates (ready, not draining, not ejected, same
// vocabulary), lets the RoutePolicy pick one and submits through that worker's
// RemoteEngineClient. A worker that fails or refuses before the first token (cannot connect,
// 503, 429, or a FinishEvent{kError, kUnavailable} before any token) is reported to the registry
// and the request goes transparently to another worker, at most `max_tries` workers in all. A
// worker that dies mid-stream ends the stream with its error event (FinishEvent{kError,
// kUnavailable}, "... the reply is incomplete"): tokens already sent cannot be taken back. With no
// candidate at all, submit() is kUnavailable with retry_after (the API answers 503 Retry-After).
//
// Requests keep the router's ids: cancel(id) reaches the worker running it now (also during a
// retry). stats() sums the model's stats over its workers.
//
// Thread safety: every method may be called from any thread. The destructor cancels what is in
// flight and waits for the finish events.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "engine/engine_client.h"
#include "router/route_policy.h"
#include "router/router_metrics.h"
#include "router/worker_registry.h"

namespace parley {

struct RouterOptions {
  std::string model;
  int max_tries = 3;  // workers tried per request
};

class Router final : public EngineClient {
 public:
  Router(std::shared_ptr<WorkerRegistry> workers, std::shared_ptr<RoutePolicy> policy, RouterOptions options);
  // Cancels the requests in flight and returns once each has delivered its finish to its sink
  // and no thread is inside the router any more.
  ~Router() override;
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  Result<RequestId> submit(GenerateRequest request, std::shared_ptr<RequestSink> sink) override;
  void cancel(RequestId id) override;
  EngineStats stats() const override;

  // Metrics from now on (may be set after construction: the gateway owns the registry).
  void set_metrics(std::shared_ptr<RouterMetrics> metrics);
  const RoutePolicy& policy() const { return *policy_; }
  std::size_t in_flight() const;

 private:
  struct Call;
  class AttemptSink;
  class Busy;
  // Sends `call` to a worker it has not tried yet; returns why none took it.
  Status attempt(const std::shared_ptr<Call>& call);
  void on_event(const std::shared_ptr<Call>& call, WorkerId worker, EngineEvent event);
  void finish(const std::shared_ptr<Call>& call, FinishEvent f);
  void count(WorkerId worker, std::string_view outcome);
  std::shared_ptr<RouterMetrics> metrics() const;

  std::shared_ptr<WorkerRegistry> workers_;
  std::shared_ptr<RoutePolicy> policy_;
  RouterOptions options_;
  std::atomic<RequestId> next_id_{1};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<RequestId, std::shared_ptr<Call>> calls_;
  // Threads inside submit() or on_event(): a retry's attempt may still be returning from a
  // worker's submit when the new attempt has already finished the call.
  int busy_ = 0;
  std::shared_ptr<RouterMetrics> metrics_;
};

}  // namespace parley
