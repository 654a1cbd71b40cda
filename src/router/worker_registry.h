// WorkerRegistry: the workers a gateway routes to, what each serves and how each is doing.
//
// Sources: static URLs ("http://10.0.0.7:8081") and `dns:NAME:PORT`, every A/AAAA record of NAME
// re-resolved every `dns_interval` (a Kubernetes headless service): workers that appear join,
// workers whose record goes away leave, without a restart. The resolver is injectable (tests).
//
// One poller (poll_once(), every `health_interval` on its own thread) asks each worker for
// `GET /ready` (200: takes requests; 503: loading or draining: takes none), then, when ready, its
// models (`/internal/v1/models`: ids and vocabulary digests) and its load
// (`/internal/v1/stats`: waiting, running, KV usage per model). A worker whose digest for a model
// differs from the first one the registry saw for that id is not used for that model (logged).
//
// Failures (a probe that cannot connect, a request the worker failed before its first token:
// report_failure()) count per worker; `eject_after` in a row eject it (the circuit opens) for
// eject_base x 2^(ejections - 1), at most eject_max. Once that has passed the circuit is half-open:
// one request (or the next health probe) tries it; success closes the circuit and resets the
// backoff, failure opens it again for twice as long.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "base/result.h"
#include "router/remote_engine.h"
#include "router/route_policy.h"

namespace parley {

// Addresses ("10.0.0.7", "fd00::7") of every A/AAAA record of a name.
using WorkerResolver = std::function<Result<std::vector<std::string>>(const std::string& name)>;
Result<std::vector<std::string>> resolve_all(const std::string& name);  // getaddrinfo

struct WorkerRegistryOptions {
  std::vector<std::string> urls;  // static workers
  std::vector<std::string> dns;   // "dns:NAME:PORT"
  std::string cluster_token;
  std::chrono::milliseconds health_interval{1'000};  // 0: no poller thread (call poll_once())
  std::chrono::milliseconds dns_interval{5'000};
  std::chrono::milliseconds probe_timeout{2'000};
  int eject_after = 3;  // consecutive failures
  std::chrono::milliseconds eject_base{1'000};
  std::chrono::milliseconds eject_max{60'000};
  WorkerResolver resolver;                                       // default: resolve_all
  std::function<std::chrono::steady_clock::time_point()> clock;  // default: steady_clock::now
  RemoteEngineOptions engine;  // template of each worker's per-model client (url, model, token filled in)
};

// A model some worker serves, as the registry first learned it.
struct ClusterModel {
  std::string id;
  std::int32_t n_ctx = 0;
  std::int64_t created = 0;
  bool demo = false;
  std::string vocab_digest;
  std::string source_url;  // a worker serving it with this digest (to fetch the vocabulary from)
  std::size_t ready_workers = 0;
};

// One worker, for metrics and logs.
struct WorkerSnapshot {
  WorkerId id = 0;
  std::string url;
  bool up = false;  // ready, not draining, circuit not open
  bool draining = false;
  bool ejected = false;
  double load = 0;
  double kv_usage = 0;
  std::int64_t in_flight = 0;
  std::int64_t ejections_total = 0;
};

// kDraining: the worker refused because it drains (kWorkerDrainingCode): no failure, but it takes
// no new request until a probe finds it ready again.
enum class WorkerOutcome { kSuccess, kFailure, kNeutral, kDraining };

class WorkerRegistry {
 public:
  // Checks the sources (kInvalidArgument for a bad URL or dns: spec); starts the poller.
  static Result<std::shared_ptr<WorkerRegistry>> create(WorkerRegistryOptions options);
  ~WorkerRegistry();
  WorkerRegistry(const WorkerRegistry&) = delete;
  WorkerRegistry& operator=(const WorkerRegistry&) = delete;

  // Re-resolves the dns: sources when due (always on the first call), then probes every worker.
  void poll_once();
  // Re-resolves now.
  void resolve_now();

  // Workers that may take a request for `model` now, sorted by id, without `exclude`.
  std::vector<RouteCandidate> candidates(const std::string& model, std::span<const WorkerId> exclude = {});
  // The client for `model` at `worker`, counted in flight (null when the worker left). A
  // half-open worker's one trial request is this one.
  std::shared_ptr<RemoteEngineClient> begin(WorkerId worker, const std::string& model);
  // The request begun there ended.
  void end(WorkerId worker, WorkerOutcome outcome);
  // A failure or success outside a request (probes use these too).
  void report(WorkerId worker, WorkerOutcome outcome);

  std::vector<ClusterModel> models() const;
  std::vector<WorkerSnapshot> snapshot() const;
  std::string url_of(WorkerId worker) const;
  // The per-model stats of every worker serving `model`, summed.
  EngineStats model_stats(const std::string& model) const;
  // Policies to tell when a worker leaves.
  void watch_removals(std::weak_ptr<RoutePolicy> policy);
  // A policy to hand the prefix blocks that workers report for `model` (their PlacementLog, asked
  // for with each stats probe once some policy watches).
  void watch_blocks(const std::string& model, std::weak_ptr<RoutePolicy> policy);
  // The vocabulary size of `model`: token ids a worker sends back are checked against it
  // (RemoteEngineOptions::n_vocab) by the clients made from now on.
  void set_model_vocab(const std::string& model, std::int32_t n_vocab);
  std::int64_t ejections_total() const;
  // Threads the probes have run on since create(): a pool of at most 16 that lives as long as the
  // registry (a poll starts none once the pool is big enough).
  std::size_t probe_threads_started() const;
  const WorkerRegistryOptions& options() const { return options_; }

 private:
  struct Worker;
  struct Probe;
  class ProbePool;
  explicit WorkerRegistry(WorkerRegistryOptions options);
  std::chrono::steady_clock::time_point now() const;
  Worker* find(WorkerId id);
  WorkerId add_worker(const std::string& url, const std::string& source);
  void remove_workers(const std::vector<WorkerId>& ids);
  void apply_dns(const std::string& spec, const std::vector<std::string>& urls);
  Probe probe(const std::string& url, bool fetch_models, std::optional<std::uint64_t> blocks_since) const;
  void apply_probe(WorkerId id, Probe probe);
  void hand_blocks(WorkerId id, const PlacementLog::Since& blocks);
  void update_models(Worker& w, const std::vector<WorkerModelInfo>& infos);
  bool admits(Worker& w, std::chrono::steady_clock::time_point t);
  void fail(Worker& w);
  void run();

  WorkerRegistryOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  WorkerId next_id_ = 1;
  std::map<WorkerId, std::unique_ptr<Worker>> workers_;
  std::map<std::string, ClusterModel> models_;   // by id: the first digest seen wins
  std::map<std::string, std::int32_t> n_vocab_;  // by model id
  std::vector<std::weak_ptr<RoutePolicy>> watchers_;
  std::vector<std::pair<std::string, std::weak_ptr<RoutePolicy>>> block_watchers_;
  std::chrono::steady_clock::time_point next_dns_{};
  bool dns_done_ = false;
  std::int64_t ejections_total_ = 0;
  std::unique_ptr<ProbePool> probes_;  // before poller_: the poller uses it until joined
  std::thread poller_;
};

}  // namespace parley
