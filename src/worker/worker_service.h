// WorkerService: `parley worker`'s internal HTTP API over its local engines (docs/scaling.md).
// No users, no chat templates: gateways send token ids and get token events back.
//
//   GET  /health                              liveness (no token needed: it says only "alive")
//   GET  /ready                               200 when every model is loaded and it is not draining, else 503
//   GET  /metrics                             Prometheus text: the engine metrics (router/engine_metrics.h)
//   GET  /internal/v1/models                  [{id, n_ctx, created, demo, vocab_digest}]
//   GET  /internal/v1/models/{id}/vocab       the model's vocab-only GGUF (application/octet-stream)
//   POST /internal/v1/generate                text/event-stream: `tokens` events, then one `finish`
//   POST /internal/v1/cancel/{request id}     cancels a generate call ({"cancelled": true|false})
//   GET  /internal/v1/stats                   {draining, models: {id: EngineStats}}
//   POST /internal/v1/drain                   stop taking generate calls; running streams finish
//
// Authentication: with a cluster token, every route but /health needs "Authorization: Bearer
// <token>" (compared in constant time), else 401. Without one (allowed on loopback only, which
// `parley worker` enforces) nothing is checked.
//
// A generate call is parsed and its grammar compiled (with the model's cached GrammarCompiler)
// on a small pool, never on an I/O thread; a refusal at submit (queue full, too long, bad
// sampling) is an error response with the worker protocol's status (429, 400, ...); once
// accepted, the response is a stream. A client that goes away cancels its request, so a worker
// never computes for nobody. Drain: new generate calls get 503, /ready turns 503, and running
// streams go on to their end (wait_idle() waits for them). A generate call's `traceparent`
// header reaches the engine request (and a span is recorded with WorkerOptions::tracer).
//
// Thread safety: handle() is called concurrently from the I/O threads; every method is thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/result.h"
#include "net/http_server.h"
#include "obs/heap_memory.h"
#include "obs/metrics.h"
#include "obs/trace.h"
#include "router/engine_metrics.h"
#include "router/placement_log.h"
#include "router/worker_protocol.h"
#include "worker/worker_model.h"

namespace parley {

struct WorkerOptions {
  std::string cluster_token;  // "" = no authentication (loopback only)
  WorkerProtocolLimits limits;
  int parse_threads = 2;  // the pool that parses generate calls and compiles their grammars
  // Tracing (obs/trace.h), off when null: a generate call with a `traceparent` header records a
  // server span "worker generate" in the caller's trace.
  std::shared_ptr<Tracer> tracer;
  // How often the C allocator's free pages go back to the system (obs/heap_memory.h); 0: never.
  std::chrono::milliseconds memory_trim_interval = std::chrono::seconds(60);
};

class WorkerService : public std::enable_shared_from_this<WorkerService> {
 public:
  static std::shared_ptr<WorkerService> create(WorkerOptions options);
  ~WorkerService();

  // Loads the models one after the other (the service answers meanwhile: /ready is 503); ready
  // once all are in. Call once.
  Status load(const std::vector<WorkerModelOptions>& models);
  // Serves already loaded models (tests); ready at once.
  void add_models(std::vector<std::unique_ptr<WorkerModel>> models);
  // Models that come and go while serving (`--models-dir`: worker/worker_model_dir.h). A retired
  // model is no longer listed or served; it lives on until the service goes (requests hold it).
  // kAlreadyExists for an id served already.
  Status add_model(std::shared_ptr<WorkerModel> model);
  void retire_model(const std::string& id);
  // Fills in the models list's `loaded` and `size_bytes` (models loaded on demand).
  void set_model_status(std::function<void(WorkerModelInfo*)> fill);
  // Kept until the service goes, destroyed before the models (what runs their engines).
  void hold(std::shared_ptr<void> owner);

  // HttpServer's handler.
  void handle(HttpRequest request, std::shared_ptr<HttpResponder> responder);

  void drain();
  bool draining() const { return draining_.load(); }
  bool ready() const { return loaded_.load() && !draining_.load(); }
  // Generate streams in flight.
  std::size_t active() const;
  // Waits until no stream is in flight; false on timeout.
  bool wait_idle(std::chrono::milliseconds timeout) const;
  MetricsRegistry& metrics_registry() { return registry_; }
  // The largest request body the routes take (prompt ids up to the largest n_ctx, a grammar).
  std::size_t max_body_bytes() const;

 private:
  explicit WorkerService(WorkerOptions options);
  bool authorized(const HttpRequest& request) const;
  void dispatch(HttpRequest request, const std::shared_ptr<HttpResponder>& responder);
  void generate(HttpRequest request, std::shared_ptr<HttpResponder> responder);
  void run_generate(const HttpRequest& request, const std::shared_ptr<HttpResponder>& responder);
  void cancel(const std::string& request_id, HttpResponder& responder);
  // `?blocks_since=N` adds the prefix blocks taken since entry N of placements_ (PlacementLog).
  void stats(std::string_view query, HttpResponder& responder) const;
  WorkerModel* find_model(std::string_view id) const;
  std::vector<std::shared_ptr<WorkerModel>> model_list() const;

  // In-flight generate calls, by the caller's request id.
  // Reserved before submit (id 0 until it is known); a cancel that comes meanwhile is kept.
  struct Active {
    WorkerModel* model = nullptr;
    RequestId id = 0;
    bool cancel_requested = false;
  };
  bool reserve_active(const std::string& request_id, WorkerModel* model);
  void set_active_id(const std::string& request_id, RequestId id);
  void unregister_active(const std::string& request_id);
  void end_pending();
  friend class WorkerStreamSink;

  WorkerOptions options_;
  mutable std::mutex models_mu_;  // models_, retired_, status_
  std::vector<std::shared_ptr<WorkerModel>> models_;
  std::vector<std::shared_ptr<WorkerModel>> retired_;
  std::function<void(WorkerModelInfo*)> status_;
  std::vector<std::shared_ptr<void>> owners_;
  std::atomic<bool> loaded_{false};
  std::atomic<bool> draining_{false};
  PlacementLog placements_;  // the prefix blocks of the requests taken, for gateways' affinity
  MetricsRegistry registry_;
  EngineMetrics engine_metrics_;
  HeapTrimmer heap_trimmer_;  // parley_malloc_trim* (obs/heap_memory.h)
  std::unique_ptr<class TaskPool> pool_;

  mutable std::mutex mu_;
  mutable std::condition_variable idle_cv_;
  std::map<std::string, Active, std::less<>> active_;
  std::size_t pending_ = 0;  // accepted by handle(), not yet registered or refused
};

// Serves `service` (HttpServerOptions::max_body_bytes is raised to what its routes take).
Result<std::unique_ptr<HttpServer>> serve_worker(HttpServerOptions options, std::shared_ptr<WorkerService> service);

// True when `a` and `b` are equal, in a time that does not depend on where they differ.
bool constant_time_equals(std::string_view a, std::string_view b);

}  // namespace parley
