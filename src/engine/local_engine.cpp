#include "engine/local_engine.h"

#include "base/log.h"
#include "engine/kv_tier_setup.h"
#include "model/model.h"

namespace parley {

double default_target_itl_ms(std::string_view backend) {
  // A GPU runs a step of hundreds of tokens in tens of milliseconds; a CPU needs several
  // milliseconds per prompt token, so a short step there costs throughput (the fixed cost of a
  // step, weights streamed once, is amortised over fewer tokens).
  return backend.starts_with("cuda") ? 50.0 : 250.0;
}

Result<std::unique_ptr<LocalEngine>> LocalEngine::start(const Model& model, const LocalEngineOptions& options) {
  const ModelHParams& h = model.hparams();
  LocalEngineOptions o = options;
  KvLayout layout{h.n_layer, h.n_head_kv, h.head_dim_k, o.block_size, 0, o.kv_type};
  if (o.n_blocks <= 0) {
    const std::int64_t per_block = layout.bytes_per_token() * o.block_size;
    const std::int64_t wanted = (static_cast<std::int64_t>(o.engine.n_ctx) * o.engine.scheduler.max_running + o.block_size - 1) /
                                o.block_size;
    o.n_blocks = static_cast<std::int32_t>(std::max<std::int64_t>(1, std::min(wanted, o.kv_bytes / per_block)));
  }
  layout.n_blocks = o.n_blocks;
  if (static_cast<std::int64_t>(o.n_blocks) * o.block_size < o.engine.n_ctx) {
    log_warn("KV cache of {} tokens is smaller than the context ({}); long requests will be refused",
             static_cast<std::int64_t>(o.n_blocks) * o.block_size, o.engine.n_ctx);
  }
  RunnerOptions ro{.max_batch_tokens = o.engine.scheduler.max_batch_tokens, .max_seqs = o.engine.scheduler.max_running};
  ASSIGN_OR_RETURN(std::unique_ptr<ModelStepRunner> runner, ModelStepRunner::create(model, layout, ro));
  std::unique_ptr<KvTier> tier;
  if (o.kv_disk_bytes > 0) {
    ASSIGN_OR_RETURN(tier, open_disk_kv_tier(model.file(), layout, runner->block_bytes(), o.kv_disk_dir,
                                             static_cast<std::uint64_t>(o.kv_disk_bytes)));
  }
  log_info("engine: KV cache {} blocks x {} tokens ({:.1f} MiB), batch budget {} tokens, up to {} sequences",
           o.n_blocks, o.block_size, static_cast<double>(layout.total_bytes()) / (1 << 20),
           o.engine.scheduler.max_batch_tokens, o.engine.scheduler.max_running);
  return start(std::move(runner), o, std::move(tier));
}

std::unique_ptr<LocalEngine> LocalEngine::start(std::unique_ptr<StepRunner> runner, const LocalEngineOptions& options,
                                                std::unique_ptr<KvTier> tier) {
  std::unique_ptr<LocalEngine> e(new LocalEngine(std::move(runner), options));
  if (tier != nullptr) {
    e->tier_ = std::move(tier);
    e->engine_.attach_kv_tier(e->tier_.get());
  }
  e->thread_ = std::thread([p = e.get()] { p->loop(); });
  return e;
}

LocalEngine::LocalEngine(std::unique_ptr<StepRunner> runner, const LocalEngineOptions& options)
    : runner_(std::move(runner)),
      pool_(options.n_blocks, options.block_size),
      engine_(options.engine, *runner_, pool_) {
  stats_ = engine_.stats();
}

LocalEngine::~LocalEngine() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  // Requests still in the inbox join the engine, whose destructor ends everything with kCancelled:
  // every accepted request gets its finish event.
  for (Submission& s : inbox_) engine_.add(s.id, std::move(s.request), std::move(s.sink));
  inbox_.clear();
}

Result<RequestId> LocalEngine::submit(GenerateRequest request, std::shared_ptr<RequestSink> sink) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (stop_) return unavailable_error("the engine is stopping");
  // The engine thread steps without this mutex, so only the request is validated against the
  // engine; the queue room comes from this object's own counts (inbox + the last stats snapshot).
  Status st = engine_.validate_request(request);
  if (st.ok() && static_cast<std::int64_t>(inbox_.size()) + stats_.waiting >= engine_.config().max_waiting) {
    st = resource_exhausted_error("the request queue is full ({} waiting); retry later", inbox_.size() + stats_.waiting);
  }
  if (!st.ok()) {
    ++stats_.requests_rejected;
    return st;
  }
  const RequestId id = next_id_.fetch_add(1);
  inbox_.push_back({id, std::move(request), std::move(sink)});
  cv_.notify_one();
  return id;
}

void LocalEngine::cancel(RequestId id) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    cancels_.push_back(id);
  }
  cv_.notify_one();
}

EngineStats LocalEngine::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  EngineStats s = stats_;
  if (tier_ != nullptr) s.kv_tier = tier_->stats();  // live: its writer works while the engine sleeps
  return s;
}

void LocalEngine::loop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [this] { return stop_ || !inbox_.empty() || !cancels_.empty() || engine_.has_work(); });
      if (stop_) break;
      // Requests first, then cancels: a cancel may name a request that was just submitted.
      while (!inbox_.empty()) {
        Submission s = std::move(inbox_.front());
        inbox_.pop_front();
        engine_.add(s.id, std::move(s.request), std::move(s.sink));
      }
      for (const RequestId id : cancels_) engine_.cancel(id);
      cancels_.clear();
      const std::int64_t rejected = stats_.requests_rejected;
      stats_ = engine_.stats();
      stats_.requests_rejected = rejected;
    }
    const bool progressed = engine_.step();
    std::unique_lock<std::mutex> lock(mutex_);
    const std::int64_t rejected = stats_.requests_rejected;
    stats_ = engine_.stats();
    stats_.requests_rejected = rejected;
    // Nothing could run (should not happen with validated requests): wait for new input rather
    // than spin.
    if (!progressed) cv_.wait(lock, [this] { return stop_ || !inbox_.empty() || !cancels_.empty(); });
  }
  // Engine's destructor cancels what is left; it runs when the LocalEngine is destroyed.
}

}  // namespace parley
