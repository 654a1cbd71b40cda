#include "router/worker_registry.h"

#include <algorithm>
#include <cmath>

#include "base/log.h"
#include "router/worker_state.h"

namespace parley {

WorkerRegistry::WorkerRegistry(WorkerRegistryOptions options)
    : options_(std::move(options)), probes_(std::make_unique<ProbePool>(16)) {
  if (!options_.resolver) options_.resolver = resolve_all;
  options_.eject_after = std::max(1, options_.eject_after);
}

WorkerRegistry::~WorkerRegistry() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  if (poller_.joinable()) poller_.join();
}

std::chrono::steady_clock::time_point WorkerRegistry::now() const {
  return options_.clock ? options_.clock() : std::chrono::steady_clock::now();
}

WorkerRegistry::Worker* WorkerRegistry::find(WorkerId id) {
  const auto it = workers_.find(id);
  return it == workers_.end() ? nullptr : it->second.get();
}

WorkerId WorkerRegistry::add_worker(const std::string& url, const std::string& source) {
  auto w = std::make_unique<Worker>();
  w->id = next_id_++;
  w->url = url;
  w->source = source;
  const WorkerId id = w->id;
  workers_.emplace(id, std::move(w));
  log_info("router: worker {} joined{}", url, source.empty() ? "" : fmt::format(" (from {})", source));
  return id;
}

void WorkerRegistry::remove_workers(const std::vector<WorkerId>& ids) {
  std::vector<std::shared_ptr<RoutePolicy>> policies;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const WorkerId id : ids) {
      if (Worker* w = find(id)) log_info("router: worker {} left (no longer in {})", w->url, w->source);
      workers_.erase(id);
    }
    for (const auto& weak : watchers_) {
      if (auto p = weak.lock()) policies.push_back(std::move(p));
    }
  }
  for (const auto& p : policies) {
    for (const WorkerId id : ids) p->forget(id);
  }
}

void WorkerRegistry::set_model_vocab(const std::string& model, std::int32_t n_vocab) {
  std::lock_guard<std::mutex> lock(mu_);
  n_vocab_[model] = n_vocab;
}

void WorkerRegistry::watch_removals(std::weak_ptr<RoutePolicy> policy) {
  std::lock_guard<std::mutex> lock(mu_);
  watchers_.push_back(std::move(policy));
}

void WorkerRegistry::watch_blocks(const std::string& model, std::weak_ptr<RoutePolicy> policy) {
  std::lock_guard<std::mutex> lock(mu_);
  block_watchers_.emplace_back(model, std::move(policy));
}

void WorkerRegistry::hand_blocks(WorkerId id, const PlacementLog::Since& blocks) {
  std::vector<std::pair<std::shared_ptr<RoutePolicy>, const std::vector<std::uint64_t>*>> calls;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (find(id) == nullptr) return;
    for (const auto& [model, weak] : block_watchers_) {
      auto p = weak.lock();
      if (!p) continue;
      for (const auto& [m, hashes] : blocks.models) {
        if (m == model) calls.emplace_back(p, &hashes);
      }
    }
  }
  // Outside the registry's lock: a policy takes its own.
  for (const auto& [policy, hashes] : calls) policy->on_worker_blocks(id, *hashes);
}

bool WorkerRegistry::admits(Worker& w, std::chrono::steady_clock::time_point t) {
  if (!w.ready || w.draining) return false;
  if (w.circuit == Worker::Circuit::kOpen) {
    if (t < w.open_until) return false;
    w.circuit = Worker::Circuit::kHalfOpen;
    w.trial_in_flight = false;
  }
  return w.circuit == Worker::Circuit::kClosed || !w.trial_in_flight;
}

std::vector<RouteCandidate> WorkerRegistry::candidates(const std::string& model, std::span<const WorkerId> exclude) {
  std::vector<RouteCandidate> out;
  const auto t = now();
  std::lock_guard<std::mutex> lock(mu_);
  out.reserve(workers_.size());
  for (auto& [id, w] : workers_) {
    if (std::find(exclude.begin(), exclude.end(), id) != exclude.end()) continue;
    const auto m = w->models.find(model);
    if (m == w->models.end() || !m->second.usable || !admits(*w, t)) continue;
    const EngineStats& s = m->second.stats;
    const double queued = static_cast<double>(s.waiting + s.running);
    const double kv =
        s.kv_blocks_total > 0 ? static_cast<double>(s.kv_blocks_used) / static_cast<double>(s.kv_blocks_total) : 0.0;
    out.push_back({id, std::max(queued, static_cast<double>(w->in_flight)) + std::min(kv, 0.999)});
  }
  return out;
}

std::shared_ptr<RemoteEngineClient> WorkerRegistry::begin(WorkerId worker, const std::string& model) {
  std::lock_guard<std::mutex> lock(mu_);
  Worker* w = find(worker);
  if (w == nullptr) return nullptr;
  const auto m = w->models.find(model);
  if (m == w->models.end()) return nullptr;
  if (!m->second.client) {
    RemoteEngineOptions o = options_.engine;
    o.worker_url = w->url;
    o.model = model;
    o.cluster_token = options_.cluster_token;
    o.stats_interval = std::chrono::milliseconds(0);  // the poller feeds it
    if (const auto v = n_vocab_.find(model); v != n_vocab_.end()) o.n_vocab = v->second;
    m->second.client = std::make_shared<RemoteEngineClient>(o);
    m->second.client->set_stats(m->second.stats);
  }
  if (w->circuit == Worker::Circuit::kHalfOpen) w->trial_in_flight = true;
  ++w->in_flight;
  return m->second.client;
}

void WorkerRegistry::end(WorkerId worker, WorkerOutcome outcome) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (Worker* w = find(worker)) --w->in_flight;
  }
  report(worker, outcome);
}

void WorkerRegistry::fail(Worker& w) {
  ++w.failures;
  const bool trial = w.circuit == Worker::Circuit::kHalfOpen;
  if (!trial && (w.circuit == Worker::Circuit::kOpen || w.failures < options_.eject_after)) return;
  ++w.ejections;
  ++w.ejections_total;
  ++ejections_total_;
  const double factor = std::ldexp(1.0, std::min(w.ejections - 1, 30));
  const auto backoff = std::min<std::chrono::milliseconds>(
      options_.eject_max,
      std::chrono::milliseconds(static_cast<std::int64_t>(std::min(1e12, options_.eject_base.count() * factor))));
  w.circuit = Worker::Circuit::kOpen;
  w.trial_in_flight = false;
  w.open_until = now() + backoff;
  log_warn("router: worker {} ejected for {} ms ({} failures in a row{})", w.url, backoff.count(), w.failures,
           trial ? ", its trial request failed" : "");
}

void WorkerRegistry::report(WorkerId worker, WorkerOutcome outcome) {
  std::lock_guard<std::mutex> lock(mu_);
  Worker* w = find(worker);
  if (w == nullptr) return;
  switch (outcome) {
    case WorkerOutcome::kSuccess:
      w->failures = 0;
      if (w->circuit != Worker::Circuit::kClosed) log_info("router: worker {} is back", w->url);
      w->circuit = Worker::Circuit::kClosed;
      w->ejections = 0;
      w->trial_in_flight = false;
      break;
    case WorkerOutcome::kFailure:
      fail(*w);
      break;
    case WorkerOutcome::kNeutral:
      w->trial_in_flight = false;
      break;
    case WorkerOutcome::kDraining:
      if (!w->draining) log_info("router: worker {} is draining: no new requests until it is ready again", w->url);
      w->draining = true;  // until a probe's stats say otherwise
      w->trial_in_flight = false;
      break;
  }
}

void WorkerRegistry::update_models(Worker& w, const std::vector<WorkerModelInfo>& infos) {
  std::map<std::string, Worker::Model> next;
  for (const WorkerModelInfo& info : infos) {
    Worker::Model m;
    if (auto old = w.models.find(info.id); old != w.models.end() && old->second.digest == info.vocab_digest) {
      m = std::move(old->second);
    }
    m.digest = info.vocab_digest;
    auto [it, fresh] = models_.try_emplace(info.id);
    if (fresh) {
      it->second = {info.id, info.n_ctx, info.created, info.demo, info.vocab_digest, w.url, 0};
      log_info("router: model '{}' (vocabulary {}) first seen at {}", info.id, info.vocab_digest, w.url);
    }
    const bool usable = it->second.vocab_digest == info.vocab_digest;
    if (!usable && (w.models.count(info.id) == 0 || w.models[info.id].usable)) {
      log_warn("router: worker {} serves model '{}' with vocabulary {}, not {} as {} does: not used for it", w.url,
               info.id, info.vocab_digest, it->second.vocab_digest, it->second.source_url);
    }
    m.usable = usable;
    next.emplace(info.id, std::move(m));
  }
  w.models = std::move(next);
  w.models_known = true;
  w.polls_since_models = 0;
}

std::vector<ClusterModel> WorkerRegistry::models() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ClusterModel> out;
  for (const auto& [id, m] : models_) {
    ClusterModel c = m;
    c.ready_workers = 0;
    for (const auto& [wid, w] : workers_) {
      const auto wm = w->models.find(id);
      if (wm != w->models.end() && wm->second.usable && w->ready && !w->draining &&
          w->circuit != Worker::Circuit::kOpen) {
        if (c.ready_workers++ == 0) c.source_url = w->url;
      }
    }
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<WorkerSnapshot> WorkerRegistry::snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<WorkerSnapshot> out;
  for (const auto& [id, w] : workers_) {
    WorkerSnapshot s;
    s.id = id;
    s.url = w->url;
    s.ejected = w->circuit == Worker::Circuit::kOpen;
    s.draining = w->draining;
    s.up = w->ready && !w->draining && !s.ejected;
    s.in_flight = w->in_flight;
    s.ejections_total = w->ejections_total;
    std::int64_t used = 0;
    std::int64_t total = 0;
    for (const auto& [mid, m] : w->models) {
      s.load += static_cast<double>(m.stats.waiting + m.stats.running);
      used += m.stats.kv_blocks_used;
      total += m.stats.kv_blocks_total;
    }
    s.kv_usage = total > 0 ? static_cast<double>(used) / static_cast<double>(total) : 0.0;
    out.push_back(std::move(s));
  }
  return out;
}

std::string WorkerRegistry::url_of(WorkerId worker) const {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = workers_.find(worker);
  return it == workers_.end() ? std::string() : it->second->url;
}

std::size_t WorkerRegistry::probe_threads_started() const {
  return probes_->threads();
}

std::int64_t WorkerRegistry::ejections_total() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ejections_total_;
}

EngineStats WorkerRegistry::model_stats(const std::string& model) const {
  std::lock_guard<std::mutex> lock(mu_);
  EngineStats sum;
  for (const auto& [id, w] : workers_) {
    const auto it = w->models.find(model);
    if (it == w->models.end() || !it->second.usable) continue;
    const EngineStats& s = it->second.stats;
    sum.waiting += s.waiting;
    sum.running += s.running;
    sum.kv_blocks_total += s.kv_blocks_total;
    sum.kv_blocks_used += s.kv_blocks_used;
    sum.kv_blocks_cached += s.kv_blocks_cached;
    sum.preemptions += s.preemptions;
    sum.prompt_tokens += s.prompt_tokens;
    sum.prefix_hit_tokens += s.prefix_hit_tokens;
    sum.generated_tokens += s.generated_tokens;
    sum.steps += s.steps;
    sum.requests_finished += s.requests_finished;
    sum.requests_rejected += s.requests_rejected;
    sum.grammar_masks += s.grammar_masks;
    sum.grammar_mask_seconds += s.grammar_mask_seconds;
    for (std::size_t p = 0; p < kNumPriorities; ++p) {
      sum.waiting_by_priority[p] += s.waiting_by_priority[p];
      sum.running_by_priority[p] += s.running_by_priority[p];
    }
    sum.target_step_seconds = std::max(sum.target_step_seconds, s.target_step_seconds);
    sum.steps_over_target += s.steps_over_target;
    sum.step_seconds_total += s.step_seconds_total;
  }
  return sum;
}

}  // namespace parley
