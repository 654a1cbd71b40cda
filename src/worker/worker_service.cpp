// The worker's routes, authentication, probes, stats and drain; the generate path is in
// worker_generate.cpp.
#include "worker/worker_service.h"

#include <algorithm>
#include <charconv>

#include "base/log.h"
#include "net/url.h"
#include "obs/process_metrics.h"
#include "worker/task_pool.h"

namespace parley {

namespace {

const HttpHeaders kJson = {{"Content-Type", "application/json"}};

void respond_error(HttpResponder& r, const Status& st) {
  HttpHeaders h = kJson;
  if (!st.detail("retry_after").empty()) h.emplace_back("Retry-After", std::string(st.detail("retry_after")));
  r.respond(worker_http_status(st.code()), std::move(h), error_to_json(st));
}

// "/internal/v1/models/{id}/vocab" -> "{id}" (ids may hold any character but '/').
std::optional<std::string_view> vocab_model_id(std::string_view path) {
  constexpr std::string_view kPrefix = "/internal/v1/models/";
  constexpr std::string_view kSuffix = "/vocab";
  if (!path.starts_with(kPrefix) || !path.ends_with(kSuffix) || path.size() <= kPrefix.size() + kSuffix.size())
    return std::nullopt;
  std::string_view id = path.substr(kPrefix.size(), path.size() - kPrefix.size() - kSuffix.size());
  if (id.find('/') != std::string_view::npos) return std::nullopt;
  return id;
}

}  // namespace

bool constant_time_equals(std::string_view a, std::string_view b) {
  // Every byte of the expected value is read whatever the input; the length difference is
  // folded in rather than returned early.
  std::size_t diff = a.size() ^ b.size();
  for (std::size_t i = 0; i < b.size(); ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    diff |= static_cast<std::size_t>(x ^ static_cast<unsigned char>(b[i]));
  }
  return diff == 0;
}

std::shared_ptr<WorkerService> WorkerService::create(WorkerOptions options) {
  return std::shared_ptr<WorkerService>(new WorkerService(std::move(options)));
}

WorkerService::WorkerService(WorkerOptions options)
    : options_(std::move(options)),
      engine_metrics_(registry_),
      heap_trimmer_(registry_, options_.memory_trim_interval),
      pool_(std::make_unique<TaskPool>(options_.parse_threads)) {
  add_process_metrics(registry_);  // RSS, open descriptors, threads (obs/process_metrics.h)
  add_heap_metrics(registry_);     // the allocator's memory in use and held free (obs/heap_memory.h)
}

WorkerService::~WorkerService() {
  pool_.reset();  // finishes the queued work while the models still exist
  std::vector<std::shared_ptr<void>> owners;
  {
    std::lock_guard<std::mutex> lock(models_mu_);
    owners.swap(owners_);
  }
  while (!owners.empty()) owners.pop_back();  // engines stop while the models still exist
}

Status WorkerService::load(const std::vector<WorkerModelOptions>& models) {
  std::vector<std::unique_ptr<WorkerModel>> loaded;
  for (const WorkerModelOptions& o : models) {
    ASSIGN_OR_RETURN(std::unique_ptr<WorkerModel> m, WorkerModel::load(o));
    for (const auto& other : loaded) {
      if (other->id() == m->id()) return invalid_argument_error("two models have the id '{}'; use --model-id", m->id());
    }
    loaded.push_back(std::move(m));
  }
  add_models(std::move(loaded));
  return {};
}

void WorkerService::add_models(std::vector<std::unique_ptr<WorkerModel>> models) {
  CHECK(!loaded_.load());
  for (auto& m : models) CHECK(add_model(std::shared_ptr<WorkerModel>(std::move(m))).ok());
  loaded_.store(true);
}

Status WorkerService::add_model(std::shared_ptr<WorkerModel> model) {
  {
    std::lock_guard<std::mutex> lock(models_mu_);
    for (const auto& m : models_) {
      if (m->id() == model->id()) return Status(ErrorCode::kAlreadyExists, fmt::format("model '{}' exists", m->id()));
    }
    models_.push_back(model);
  }
  engine_metrics_.watch(model->id(), model->engine());
  return {};
}

void WorkerService::retire_model(const std::string& id) {
  std::lock_guard<std::mutex> lock(models_mu_);
  for (auto it = models_.begin(); it != models_.end(); ++it) {
    if ((*it)->id() == id) {
      retired_.push_back(std::move(*it));
      models_.erase(it);
      return;
    }
  }
}

void WorkerService::set_model_status(std::function<void(WorkerModelInfo*)> fill) {
  std::lock_guard<std::mutex> lock(models_mu_);
  status_ = std::move(fill);
}

void WorkerService::hold(std::shared_ptr<void> owner) {
  std::lock_guard<std::mutex> lock(models_mu_);
  owners_.push_back(std::move(owner));
}

std::vector<std::shared_ptr<WorkerModel>> WorkerService::model_list() const {
  std::lock_guard<std::mutex> lock(models_mu_);
  return models_;
}

std::size_t WorkerService::max_body_bytes() const {
  std::size_t n_ctx = 0;
  for (const auto& m : model_list()) n_ctx = std::max(n_ctx, static_cast<std::size_t>(m->n_ctx()));
  if (n_ctx == 0) n_ctx = options_.limits.max_prompt_tokens;
  // A token id is at most 11 bytes of JSON with its comma; stop ids, bias and names are small.
  return n_ctx * 12 + options_.limits.max_grammar_bytes + (std::size_t{1} << 20);
}

WorkerModel* WorkerService::find_model(std::string_view id) const {
  if (!loaded_.load()) return nullptr;
  std::lock_guard<std::mutex> lock(models_mu_);
  for (const auto& m : models_) {
    if (m->id() == id) return m.get();
  }
  return nullptr;
}

bool WorkerService::authorized(const HttpRequest& request) const {
  if (options_.cluster_token.empty()) return true;
  std::string_view auth = request.header("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (auth.size() < kBearer.size() || !iequals(auth.substr(0, kBearer.size()), kBearer)) return false;
  return constant_time_equals(auth.substr(kBearer.size()), options_.cluster_token);
}

void WorkerService::handle(HttpRequest request, std::shared_ptr<HttpResponder> responder) {
  if (request.method == "GET" && request.path == "/health") {
    return responder->respond(200, kJson, R"({"status":"ok"})");
  }
  // /ready answers without the token too: it is Kubernetes' readiness probe, and a kubelet cannot
  // send a secret (docs/operations.md). It tells loading, draining or ready, nothing more.
  const bool probe = request.method == "GET" && request.path == "/ready";
  if (!probe && !authorized(request)) {
    return respond_error(*responder, Status(ErrorCode::kUnauthenticated, "a valid cluster token is required"));
  }
  dispatch(std::move(request), responder);
}

void WorkerService::dispatch(HttpRequest request, const std::shared_ptr<HttpResponder>& responder) {
  const std::string& m = request.method;
  const std::string& p = request.path;
  const auto wrong_method = [&] {
    respond_error(*responder, Status(ErrorCode::kInvalidArgument, fmt::format("{} is not allowed on {}", m, p)));
  };
  if (p == "/ready") {
    if (m != "GET") return wrong_method();
    const char* state = !loaded_.load() ? "loading" : draining_.load() ? "draining" : "ready";
    return responder->respond(ready() ? 200 : 503, kJson, fmt::format(R"({{"status":"{}"}})", state));
  }
  if (p == "/metrics") {
    if (m != "GET") return wrong_method();
    return responder->respond(200, {{"Content-Type", "text/plain; version=0.0.4; charset=utf-8"}}, registry_.render());
  }
  if (p == "/internal/v1/generate") {
    if (m != "POST") return wrong_method();
    return generate(std::move(request), responder);
  }
  if (p.starts_with("/internal/v1/cancel/")) {
    if (m != "POST") return wrong_method();
    return cancel(p.substr(std::string_view("/internal/v1/cancel/").size()), *responder);
  }
  if (p == "/internal/v1/drain") {
    if (m != "POST") return wrong_method();
    drain();
    return responder->respond(200, kJson, fmt::format(R"({{"draining":true,"active":{}}})", active()));
  }
  if (m != "GET") {
    return respond_error(*responder, not_found_error("no route {} {}", m, p));
  }
  if (p == "/internal/v1/stats") return stats(request.query, *responder);
  if (!loaded_.load()) return respond_error(*responder, unavailable_error("the models are loading"));
  if (p == "/internal/v1/models") {
    std::vector<WorkerModelInfo> infos;
    std::function<void(WorkerModelInfo*)> fill;
    {
      std::lock_guard<std::mutex> lock(models_mu_);
      fill = status_;
    }
    for (const auto& model : model_list()) {
      infos.push_back(model->info());
      if (fill) fill(&infos.back());
    }
    return responder->respond(200, kJson, models_to_json(infos));
  }
  if (const std::optional<std::string_view> id = vocab_model_id(p)) {
    const WorkerModel* model = find_model(*id);
    if (model == nullptr) return respond_error(*responder, not_found_error("no model '{}'", *id));
    const std::vector<std::byte>& bytes = model->vocab_gguf();
    return responder->respond(200, {{"Content-Type", "application/octet-stream"}},
                              std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  }
  respond_error(*responder, not_found_error("no route {} {}", m, p));
}

void WorkerService::stats(std::string_view query, HttpResponder& responder) const {
  WorkerStats s;
  s.draining = draining_.load();
  if (loaded_.load()) {
    for (const auto& m : model_list()) s.models.emplace_back(m->id(), m->engine().stats());
  }
  Result<QueryParams> params = parse_query(query);
  if (!params.ok()) return respond_error(responder, params.status());
  for (const auto& [name, value] : *params) {
    if (name != "blocks_since") continue;
    std::uint64_t since = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), since);
    if (ec != std::errc() || end != value.data() + value.size())
      return respond_error(responder, invalid_argument_error("blocks_since must be a number"));
    s.prefix_blocks = placements_.since(since, kMaxStatsBlocks);
  }
  responder.respond(200, kJson, worker_stats_to_json(s));
}

void WorkerService::cancel(const std::string& request_id, HttpResponder& responder) {
  Active a;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const auto it = active_.find(request_id);
    if (it != active_.end()) {
      it->second.cancel_requested = true;  // applied by set_active_id when the id is not known yet
      a = it->second;
    }
  }
  if (a.model != nullptr && a.id != 0) a.model->engine().cancel(a.id);
  responder.respond(200, kJson, fmt::format(R"({{"cancelled":{}}})", a.model != nullptr));
}

void WorkerService::drain() {
  if (!draining_.exchange(true)) log_info("draining: no new generate calls; {} stream(s) in flight finish", active());
  idle_cv_.notify_all();
}

std::size_t WorkerService::active() const {
  std::lock_guard<std::mutex> lock(mu_);
  return active_.size() + pending_;
}

bool WorkerService::wait_idle(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return idle_cv_.wait_for(lock, timeout, [this] { return active_.empty() && pending_ == 0; });
}

bool WorkerService::reserve_active(const std::string& request_id, WorkerModel* model) {
  std::lock_guard<std::mutex> lock(mu_);
  return active_.emplace(request_id, Active{model, 0, false}).second;
}

void WorkerService::set_active_id(const std::string& request_id, RequestId id) {
  WorkerModel* cancel_on = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const auto it = active_.find(request_id);
    if (it == active_.end()) return;  // it has finished already
    it->second.id = id;
    if (it->second.cancel_requested) cancel_on = it->second.model;
  }
  if (cancel_on != nullptr) cancel_on->engine().cancel(id);
}

void WorkerService::end_pending() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    --pending_;
  }
  idle_cv_.notify_all();
}

void WorkerService::unregister_active(const std::string& request_id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    active_.erase(request_id);
  }
  idle_cv_.notify_all();
}

Result<std::unique_ptr<HttpServer>> serve_worker(HttpServerOptions options, std::shared_ptr<WorkerService> service) {
  options.max_body_bytes = std::max(options.max_body_bytes, service->max_body_bytes());
  return HttpServer::start(options, [service](HttpRequest request, std::shared_ptr<HttpResponder> responder) {
    service->handle(std::move(request), std::move(responder));
  });
}

}  // namespace parley
