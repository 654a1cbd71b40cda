#include "engine/model_pool.h"

#include <algorithm>

#include "base/log.h"

namespace parley {

std::string_view model_state_name(ModelState s) {
  switch (s) {
    case ModelState::kUnloaded:
      return "unloaded";
    case ModelState::kLoading:
      return "loading";
    case ModelState::kLoaded:
      return "loaded";
    case ModelState::kUnloading:
      return "unloading";
    case ModelState::kFailed:
      return "failed";
  }
  return "unknown";
}

std::string_view unload_reason_name(UnloadReason r) {
  switch (r) {
    case UnloadReason::kIdle:
      return "idle";
    case UnloadReason::kMemory:
      return "memory";
    case UnloadReason::kAdmin:
      return "admin";
    case UnloadReason::kRemoved:
      return "removed";
  }
  return "unknown";
}

struct ModelPool::Slot {
  std::string id;
  std::int64_t memory_bytes = 0;
  EngineLoader loader;
  bool pinned = false;
  bool removed = false;
  ModelState state = ModelState::kUnloaded;
  std::shared_ptr<EngineClient> engine;  // while loaded or unloading
  UnloadReason unload_reason = UnloadReason::kAdmin;
  std::int32_t streams = 0;
  std::int32_t waiters = 0;
  std::string error;
  std::chrono::steady_clock::time_point last_used;
  // Our request ids (unique across reloads) -> the running engine's, while the stream runs.
  RequestId next_id = 1;
  std::map<RequestId, RequestId> ids;

  bool holds_memory() const {
    return state == ModelState::kLoading || state == ModelState::kLoaded || state == ModelState::kUnloading;
  }
};

// Counts a stream until its finish event, and gives the caller our request id.
class ModelPool::CountingSink final : public RequestSink {
 public:
  CountingSink(ModelPool* pool, std::shared_ptr<Slot> slot, RequestId own, std::shared_ptr<RequestSink> inner)
      : pool_(pool), slot_(std::move(slot)), own_(own), inner_(std::move(inner)) {}
  void on_event(RequestId, EngineEvent event) override {
    const bool finish = std::holds_alternative<FinishEvent>(event);
    inner_->on_event(own_, std::move(event));
    if (!finish) return;
    std::lock_guard<std::mutex> lock(pool_->mu_);
    done_ = true;
    slot_->ids.erase(own_);
    pool_->stream_ended(*slot_);
  }
  bool done() const { return done_; }  // under the pool's lock

 private:
  ModelPool* pool_;
  std::shared_ptr<Slot> slot_;
  RequestId own_;
  std::shared_ptr<RequestSink> inner_;
  bool done_ = false;
};

class ModelPool::SlotEngine final : public EngineClient {
 public:
  SlotEngine(ModelPool* pool, std::shared_ptr<Slot> slot) : pool_(pool), slot_(std::move(slot)) {}

  Result<RequestId> submit(GenerateRequest request, std::shared_ptr<RequestSink> sink) override {
    Lock lock(pool_->mu_);
    ASSIGN_OR_RETURN(std::shared_ptr<EngineClient> engine, pool_->acquire(slot_, lock));
    const RequestId own = slot_->next_id++;
    lock.unlock();
    auto counting = std::make_shared<CountingSink>(pool_, slot_, own, std::move(sink));
    Result<RequestId> inner = engine->submit(std::move(request), counting);
    lock.lock();
    if (!inner.ok()) {
      pool_->stream_ended(*slot_);
      return inner.status();
    }
    if (!counting->done()) slot_->ids[own] = *inner;
    return own;
  }

  void cancel(RequestId id) override {
    std::shared_ptr<EngineClient> engine;
    RequestId inner = 0;
    {
      std::lock_guard<std::mutex> lock(pool_->mu_);
      const auto it = slot_->ids.find(id);
      if (it == slot_->ids.end()) return;
      inner = it->second;
      engine = slot_->engine;  // a running stream keeps its engine loaded
    }
    if (engine) engine->cancel(inner);
  }

  EngineStats stats() const override {
    std::shared_ptr<EngineClient> engine;
    {
      std::lock_guard<std::mutex> lock(pool_->mu_);
      engine = slot_->engine;
    }
    return engine ? engine->stats() : EngineStats{};
  }

 private:
  ModelPool* pool_;
  std::shared_ptr<Slot> slot_;
};

ModelPool::ModelPool(ModelPoolOptions options, ModelPoolHooks hooks)
    : options_(std::move(options)), hooks_(std::move(hooks)) {
  housekeeping_ = std::thread([this] { housekeeping_loop(); });
}

ModelPool::~ModelPool() {
  std::vector<std::shared_ptr<EngineClient>> engines;
  {
    Lock lock(mu_);
    stop_ = true;
    house_cv_.notify_all();
    cv_.notify_all();
  }
  housekeeping_.join();
  Lock lock(mu_);
  cv_.wait(lock, [this] { return loaders_ == 0; });
  for (auto& [id, s] : slots_) engines.push_back(std::move(s->engine));
  for (auto& s : removed_) engines.push_back(std::move(s->engine));
  lock.unlock();
  engines.clear();  // their requests end kCancelled; their sinks still find the pool
}

std::chrono::steady_clock::time_point ModelPool::now() const {
  return options_.now ? options_.now() : std::chrono::steady_clock::now();
}

std::shared_ptr<ModelPool::Slot> ModelPool::find(const std::string& id) const {
  const auto it = slots_.find(id);
  return it == slots_.end() ? nullptr : it->second;
}

Result<std::shared_ptr<EngineClient>> ModelPool::add(const std::string& id, std::int64_t memory_bytes,
                                                     EngineLoader loader, bool pinned) {
  auto s = std::make_shared<Slot>();
  s->id = id;
  s->memory_bytes = memory_bytes;
  s->loader = std::move(loader);
  s->pinned = pinned;
  std::lock_guard<std::mutex> lock(mu_);
  s->last_used = now();
  if (!slots_.emplace(id, s).second) return Status(ErrorCode::kAlreadyExists, fmt::format("model '{}' exists", id));
  return std::shared_ptr<EngineClient>(std::make_shared<SlotEngine>(this, s));
}

Result<std::shared_ptr<EngineClient>> ModelPool::acquire(const std::shared_ptr<Slot>& s, Lock& lock) {
  const auto deadline = std::chrono::steady_clock::now() + options_.load_timeout;
  for (;;) {
    if (s->removed) return not_found_error("model '{}' is no longer served", s->id);
    if (s->state == ModelState::kLoaded) {
      ++s->streams;
      s->last_used = now();
      return s->engine;
    }
    if (s->state == ModelState::kFailed) {
      return Status(ErrorCode::kInternal, fmt::format("model '{}' cannot be loaded: {}", s->id, s->error));
    }
    if (s->state == ModelState::kUnloaded) RETURN_IF_ERROR(start_load(s, lock));
    if (s->waiters >= options_.max_waiters) {
      return unavailable_error("model '{}' is loading and {} requests already wait for it; retry shortly", s->id,
                               s->waiters)
          .with_detail("retry_after", "2");
    }
    ++s->waiters;
    const bool settled = cv_.wait_until(lock, deadline, [&] {
      return stop_ || s->removed || (s->state != ModelState::kLoading && s->state != ModelState::kUnloading);
    });
    --s->waiters;
    if (stop_) return unavailable_error("the server is stopping");
    if (!settled) {
      return unavailable_error("model '{}' is still loading; retry shortly", s->id).with_detail("retry_after", "5");
    }
  }
}

Status ModelPool::start_load(const std::shared_ptr<Slot>& s, Lock&) {
  std::vector<std::shared_ptr<EngineClient>> victims;
  std::vector<std::pair<std::string, UnloadReason>> done;
  const std::int64_t budget = options_.memory_bytes;
  if (budget > 0) {
    constexpr double kMiB = 1 << 20;
    if (s->memory_bytes > budget) {
      return Status(ErrorCode::kInternal,
                    fmt::format("model '{}' needs {:.0f} MiB, more than the models' memory bound ({:.0f} MiB)", s->id,
                                static_cast<double>(s->memory_bytes) / kMiB, static_cast<double>(budget) / kMiB));
    }
    std::int64_t used = 0;
    std::vector<Slot*> candidates;
    for (const auto& [id, o] : slots_) {
      if (o->holds_memory()) used += o->memory_bytes;
      if (o->state == ModelState::kLoaded && !o->pinned && o->streams == 0 && o != s) candidates.push_back(o.get());
    }
    for (const auto& o : removed_) used += o->holds_memory() ? o->memory_bytes : 0;
    std::sort(candidates.begin(), candidates.end(),
              [](const Slot* a, const Slot* b) { return a->last_used < b->last_used; });
    std::int64_t over = used + s->memory_bytes - budget;
    std::vector<Slot*> chosen;
    for (Slot* c : candidates) {
      if (over <= 0) break;
      chosen.push_back(c);
      over -= c->memory_bytes;
    }
    if (over > 0) {
      return unavailable_error(
                 "not enough memory to load model '{}': {:.0f} of {:.0f} MiB are held by models that are pinned, "
                 "loading or running streams; retry shortly",
                 s->id, static_cast<double>(used) / kMiB, static_cast<double>(budget) / kMiB)
          .with_detail("retry_after", "5");
    }
    for (Slot* c : chosen) begin_unload(*c, UnloadReason::kMemory, &done, &victims);
  }
  s->state = ModelState::kLoading;
  s->error.clear();
  ++loaders_;
  std::thread([this, s, victims = std::move(victims), done = std::move(done)]() mutable {
    victims.clear();  // their memory is free before this load takes its own
    report_unloads(done);
    run_load(s);
  }).detach();
  return {};
}

void ModelPool::run_load(const std::shared_ptr<Slot>& s) {
  const auto t0 = std::chrono::steady_clock::now();
  Result<std::shared_ptr<EngineClient>> engine = s->loader();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::vector<std::shared_ptr<EngineClient>> drop;
  std::vector<std::pair<std::string, UnloadReason>> done;
  const bool ok = engine.ok() && *engine;
  std::string error;
  if (ok) {  // reported before anyone can see the model loaded
    log_event(LogLevel::kInfo, "model_loaded", {{"model", s->id}, {"seconds", seconds}});
    if (hooks_.loaded) hooks_.loaded(s->id, seconds);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (ok) {
      s->engine = std::move(*engine);
      s->state = ModelState::kLoaded;
      s->last_used = now();
      if (s->removed) begin_unload(*s, UnloadReason::kRemoved, &done, &drop);
    } else {
      s->state = ModelState::kFailed;
      s->error = engine.ok() ? "no engine" : std::string(engine.status().message());
      error = s->error;
    }
    cv_.notify_all();
  }
  if (!ok) log_event(LogLevel::kError, "model_load_failed", {{"model", s->id}, {"error", error}});
  drop.clear();
  report_unloads(done);
  std::lock_guard<std::mutex> lock(mu_);
  --loaders_;
  cv_.notify_all();
}

void ModelPool::begin_unload(Slot& s, UnloadReason reason, std::vector<std::pair<std::string, UnloadReason>>* done,
                             std::vector<std::shared_ptr<EngineClient>>* out) {
  if (s.state != ModelState::kLoaded && s.state != ModelState::kUnloading) return;
  s.state = ModelState::kUnloading;
  s.unload_reason = reason;
  if (s.streams > 0) return;  // the last stream's end makes a reap due
  out->push_back(std::move(s.engine));
  s.engine.reset();
  s.ids.clear();
  s.state = ModelState::kUnloaded;
  done->emplace_back(s.id, s.unload_reason);
  cv_.notify_all();
}

void ModelPool::stream_ended(Slot& s) {
  --s.streams;
  s.last_used = now();
  if (s.state == ModelState::kUnloading && s.streams == 0) {
    reap_due_ = true;
    house_cv_.notify_all();
  }
}

void ModelPool::report_unloads(const std::vector<std::pair<std::string, UnloadReason>>& done) const {
  for (const auto& [id, reason] : done) {
    log_event(LogLevel::kInfo, "model_unloaded", {{"model", id}, {"reason", std::string(unload_reason_name(reason))}});
    if (hooks_.unloaded) hooks_.unloaded(id, reason);
  }
}

void ModelPool::remove(const std::string& id) {
  std::vector<std::shared_ptr<EngineClient>> drop;
  std::vector<std::pair<std::string, UnloadReason>> done;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::shared_ptr<Slot> s = find(id);
    if (!s) return;
    slots_.erase(id);
    s->removed = true;
    s->pinned = false;
    begin_unload(*s, UnloadReason::kRemoved, &done, &drop);
    if (s->holds_memory()) removed_.push_back(s);
    cv_.notify_all();
  }
  drop.clear();
  report_unloads(done);
}

Status ModelPool::load(const std::string& id) {
  Lock lock(mu_);
  std::shared_ptr<Slot> s = find(id);
  if (!s) return not_found_error("no model '{}'", id);
  if (s->state == ModelState::kFailed) s->state = ModelState::kUnloaded;  // try again
  ASSIGN_OR_RETURN(std::shared_ptr<EngineClient> engine, acquire(s, lock));
  stream_ended(*s);  // acquire() counted a stream
  return {};
}

Status ModelPool::unload(const std::string& id, UnloadReason reason) {
  std::vector<std::shared_ptr<EngineClient>> drop;
  std::vector<std::pair<std::string, UnloadReason>> done;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::shared_ptr<Slot> s = find(id);
    if (!s) return not_found_error("no model '{}'", id);
    if (s->state == ModelState::kLoading) {
      return Status(ErrorCode::kFailedPrecondition, fmt::format("model '{}' is loading; unload it once loaded", id));
    }
    if (s->state != ModelState::kLoaded) return {};
    if (s->pinned)
      return Status(ErrorCode::kFailedPrecondition, fmt::format("model '{}' is pinned; unpin it first", id));
    begin_unload(*s, reason, &done, &drop);
  }
  drop.clear();
  report_unloads(done);
  return {};
}

Status ModelPool::pin(const std::string& id, bool pinned) {
  Lock lock(mu_);
  std::shared_ptr<Slot> s = find(id);
  if (!s) return not_found_error("no model '{}'", id);
  s->pinned = pinned;
  if (!pinned) return {};
  if (s->state == ModelState::kFailed) s->state = ModelState::kUnloaded;
  if (s->state == ModelState::kUnloaded) return start_load(s, lock);
  return {};
}

std::vector<ModelSlotInfo> ModelPool::list() const {
  std::vector<ModelSlotInfo> out;
  std::lock_guard<std::mutex> lock(mu_);
  const auto t = now();
  for (const auto& [id, s] : slots_) {
    ModelSlotInfo i;
    i.id = id;
    i.state = s->state;
    i.pinned = s->pinned;
    i.memory_bytes = s->memory_bytes;
    i.streams = s->streams;
    i.waiters = s->waiters;
    i.error = s->error;
    i.idle_s = s->streams > 0 ? 0 : std::chrono::duration<double>(t - s->last_used).count();
    out.push_back(std::move(i));
  }
  return out;
}

std::optional<ModelSlotInfo> ModelPool::info(const std::string& id) const {
  for (ModelSlotInfo& i : list()) {
    if (i.id == id) return std::move(i);
  }
  return std::nullopt;
}

std::int64_t ModelPool::memory_used() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::int64_t used = 0;
  for (const auto& [id, s] : slots_) used += s->holds_memory() ? s->memory_bytes : 0;
  for (const auto& s : removed_) used += s->holds_memory() ? s->memory_bytes : 0;
  return used;
}

void ModelPool::tick() {
  std::vector<std::shared_ptr<EngineClient>> drop;
  std::vector<std::pair<std::string, UnloadReason>> done;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const auto t = now();
    const auto idle = options_.idle_unload;
    for (auto& [id, s] : slots_) {
      if (s->state == ModelState::kUnloading && s->streams == 0) {
        begin_unload(*s, s->unload_reason, &done, &drop);
      } else if (idle.count() > 0 && s->state == ModelState::kLoaded && !s->pinned && s->streams == 0 &&
                 t - s->last_used >= idle) {
        begin_unload(*s, UnloadReason::kIdle, &done, &drop);
      }
    }
    for (auto& s : removed_) {
      if (s->state == ModelState::kUnloading && s->streams == 0) begin_unload(*s, s->unload_reason, &done, &drop);
    }
    std::erase_if(removed_, [](const std::shared_ptr<Slot>& s) { return !s->holds_memory(); });
  }
  drop.clear();
  report_unloads(done);
}

void ModelPool::housekeeping_loop() {
  Lock lock(mu_);
  while (!stop_) {
    const auto due = [this] { return stop_ || reap_due_; };
    if (options_.housekeeping.count() > 0) {
      house_cv_.wait_for(lock, options_.housekeeping, due);
    } else {
      house_cv_.wait(lock, due);
    }
    if (stop_) break;
    reap_due_ = false;
    lock.unlock();
    tick();
    lock.lock();
  }
}

}  // namespace parley
