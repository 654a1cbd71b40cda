#include "router/router.h"

#include <chrono>

#include "base/log.h"
#include "router/worker_protocol.h"

namespace parley {

struct Router::Call {
  RequestId id = 0;
  GenerateRequest request;  // kept for a retry elsewhere
  std::vector<std::uint64_t> blocks;
  std::shared_ptr<RequestSink> sink;

  std::mutex mu;
  std::vector<WorkerId> tried;
  std::shared_ptr<RemoteEngineClient> client;  // the worker running it now
  RequestId remote_id = 0;                     // its id there (0: not known yet)
  bool cancelled = false;
  bool got_tokens = false;
  Status last_error;
};

class Router::AttemptSink final : public RequestSink {
 public:
  AttemptSink(Router* router, std::shared_ptr<Call> call, WorkerId worker)
      : router_(router), call_(std::move(call)), worker_(worker) {}
  void on_event(RequestId, EngineEvent event) override { router_->on_event(call_, worker_, std::move(event)); }

 private:
  Router* router_;
  std::shared_ptr<Call> call_;
  WorkerId worker_;
};

// Counts a thread in the router for ~Router to wait for. Taken where the router is known to be
// alive: by the caller of submit(), and by a call's event (the call is in calls_ until its finish
// was delivered).
class Router::Busy {
 public:
  explicit Busy(Router& r) : r_(r) {
    std::lock_guard<std::mutex> lock(r_.mu_);
    ++r_.busy_;
  }
  ~Busy() {
    std::lock_guard<std::mutex> lock(r_.mu_);
    --r_.busy_;
    r_.cv_.notify_all();
  }
  Busy(const Busy&) = delete;
  Busy& operator=(const Busy&) = delete;

 private:
  Router& r_;
};

Router::Router(std::shared_ptr<WorkerRegistry> workers, std::shared_ptr<RoutePolicy> policy, RouterOptions options)
    : workers_(std::move(workers)), policy_(std::move(policy)), options_(std::move(options)) {
  options_.max_tries = std::max(1, options_.max_tries);
  workers_->watch_removals(policy_);
  if (policy_->wants_blocks()) workers_->watch_blocks(options_.model, policy_);
}

Router::~Router() {
  std::vector<RequestId> ids;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, call] : calls_) ids.push_back(id);
  }
  for (const RequestId id : ids) cancel(id);
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return calls_.empty() && busy_ == 0; });
}

void Router::set_metrics(std::shared_ptr<RouterMetrics> metrics) {
  if (metrics) metrics->retries.with({policy_->name()});  // present (0) from the start
  std::lock_guard<std::mutex> lock(mu_);
  metrics_ = std::move(metrics);
}

std::shared_ptr<RouterMetrics> Router::metrics() const {
  std::lock_guard<std::mutex> lock(mu_);
  return metrics_;
}

void Router::count(WorkerId worker, std::string_view outcome) {
  if (auto m = metrics()) m->requests.with({workers_->url_of(worker), policy_->name(), outcome}).inc();
}

std::size_t Router::in_flight() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_.size();
}

Result<RequestId> Router::submit(GenerateRequest request, std::shared_ptr<RequestSink> sink) {
  const Busy busy(*this);
  auto call = std::make_shared<Call>();
  call->id = next_id_.fetch_add(1);
  if (policy_->wants_blocks()) call->blocks = prefix_block_hashes(request.prompt, request.cache_scope);
  call->request = std::move(request);
  call->sink = std::move(sink);
  {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.emplace(call->id, call);
  }
  Status st = attempt(call);
  if (!st.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.erase(call->id);
    cv_.notify_all();
    return st;
  }
  return call->id;
}

Status Router::attempt(const std::shared_ptr<Call>& call) {
  for (;;) {
    std::vector<WorkerId> tried;
    {
      std::lock_guard<std::mutex> lock(call->mu);
      if (call->cancelled) return cancelled_error("cancelled");
      if (call->tried.size() >= static_cast<std::size_t>(options_.max_tries)) return call->last_error;
      tried = call->tried;
    }
    const std::vector<RouteCandidate> candidates = prefer_loaded(workers_->candidates(options_.model, tried));
    const std::shared_ptr<RouterMetrics> m = metrics();
    if (candidates.empty()) {
      if (!tried.empty()) {
        std::lock_guard<std::mutex> lock(call->mu);
        return call->last_error;
      }
      if (m) m->no_worker.with({}).inc();
      return unavailable_error("no inference worker is available for model '{}'; retry later", options_.model)
          .with_detail("retry_after", "1");
    }
    const RouteRequest rr{call->blocks};
    const auto t0 = std::chrono::steady_clock::now();
    const std::size_t pick = policy_->choose(rr, candidates);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - t0;
    if (m) m->decision_seconds.with({}).observe(took.count());
    if (!tried.empty() && m) m->retries.with({policy_->name()}).inc();
    const WorkerId w = candidates[pick].worker;
    std::shared_ptr<RemoteEngineClient> client = workers_->begin(w, options_.model);
    {
      std::lock_guard<std::mutex> lock(call->mu);
      call->tried.push_back(w);
      call->client = client;
      call->remote_id = 0;
    }
    if (!client) continue;  // it left meanwhile
    Result<RequestId> r = client->submit(call->request, std::make_shared<AttemptSink>(this, call, w));
    if (r.ok()) {
      policy_->on_routed(rr, w);
      bool cancel_now = false;
      {
        std::lock_guard<std::mutex> lock(call->mu);
        if (call->client == client) call->remote_id = *r;
        cancel_now = call->cancelled;
      }
      if (cancel_now) client->cancel(*r);
      return {};
    }
    const ErrorCode code = r.status().code();
    const bool retryable = code == ErrorCode::kUnavailable || code == ErrorCode::kResourceExhausted;
    // A draining worker's 503 is no failure: it must not count toward ejecting a healthy worker.
    const bool draining = code == ErrorCode::kUnavailable && r.status().detail("code") == kWorkerDrainingCode;
    workers_->end(w, draining                          ? WorkerOutcome::kDraining
                     : code == ErrorCode::kUnavailable ? WorkerOutcome::kFailure
                                                       : WorkerOutcome::kNeutral);
    count(w, draining ? "draining" : code == ErrorCode::kUnavailable ? "unavailable" : "refused");
    if (!retryable) return r.status();
    std::lock_guard<std::mutex> lock(call->mu);
    call->last_error = r.status();
  }
}

void Router::on_event(const std::shared_ptr<Call>& call, WorkerId worker, EngineEvent event) {
  const Busy busy(*this);
  if (auto* t = std::get_if<TokenEvent>(&event)) {
    {
      std::lock_guard<std::mutex> lock(call->mu);
      call->got_tokens = call->got_tokens || !t->tokens.empty();
    }
    call->sink->on_event(call->id, std::move(event));
    return;
  }
  FinishEvent f = std::get<FinishEvent>(std::move(event));
  if (f.reason == FinishReason::kError && f.error == ErrorCode::kUnavailable) {
    bool retry = false;
    {
      std::lock_guard<std::mutex> lock(call->mu);
      retry = !call->got_tokens && !call->cancelled;
      call->last_error = unavailable_error("the inference worker is unavailable; retry later");
    }
    workers_->end(worker, WorkerOutcome::kFailure);
    count(worker, retry ? "unavailable" : "interrupted");
    if (retry) {
      log_info("router: model '{}': the worker at {} failed request {} before its first token; trying another",
               options_.model, workers_->url_of(worker), call->id);
      const Status st = attempt(call);
      if (st.ok()) return;
      FinishEvent e;
      e.reason = st.code() == ErrorCode::kCancelled ? FinishReason::kCancelled : FinishReason::kError;
      e.error = st.code() == ErrorCode::kCancelled ? ErrorCode::kOk : st.code();
      e.message = std::string(st.message());
      e.prompt_tokens = static_cast<std::int32_t>(call->request.prompt.size());
      finish(call, std::move(e));
      return;
    }
    finish(call, std::move(f));
    return;
  }
  const WorkerOutcome outcome = f.reason == FinishReason::kError ? WorkerOutcome::kNeutral : WorkerOutcome::kSuccess;
  workers_->end(worker, outcome);
  count(worker, f.reason == FinishReason::kCancelled ? "cancelled" : f.reason == FinishReason::kError ? "error" : "ok");
  finish(call, std::move(f));
}

void Router::finish(const std::shared_ptr<Call>& call, FinishEvent f) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.erase(call->id);
    cv_.notify_all();
  }
  // Always inside on_event's Busy: ~Router waits until this delivery returned, so whatever the
  // sink records into (the gateway's metrics, the account's usage) is still there.
  call->sink->on_event(call->id, std::move(f));
}

void Router::cancel(RequestId id) {
  std::shared_ptr<Call> call;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const auto it = calls_.find(id);
    if (it == calls_.end()) return;
    call = it->second;
  }
  std::shared_ptr<RemoteEngineClient> client;
  RequestId remote = 0;
  {
    std::lock_guard<std::mutex> lock(call->mu);
    call->cancelled = true;
    client = call->client;
    remote = call->remote_id;
  }
  if (client && remote != 0) client->cancel(remote);
}

EngineStats Router::stats() const {
  return workers_->model_stats(options_.model);
}

}  // namespace parley
