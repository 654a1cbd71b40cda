// The worker's generate path: parse, compile the grammar, submit, then stream the engine's events
// as SSE until the finish (or cancel the request when the client goes away).
#include <deque>

#include "base/log.h"
#include "router/route_policy.h"
#include "worker/task_pool.h"
#include "worker/worker_service.h"

namespace parley {

namespace {

void respond_error(HttpResponder& r, const Status& st) {
  HttpHeaders h = {{"Content-Type", "application/json"}};
  if (!st.detail("retry_after").empty()) h.emplace_back("Retry-After", std::string(st.detail("retry_after")));
  r.respond(worker_http_status(st.code()), std::move(h), error_to_json(st));
}

// A 503 the router recognizes: not a failure of the worker (docs/scaling.md#drain).
Status draining_error() {
  return unavailable_error("the worker is draining").with_detail("code", std::string(kWorkerDrainingCode));
}

}  // namespace

// Writes a request's events to its HTTP stream. Events that come before the stream has started
// (the engine can be quick) wait in `early_`; start() sends them.
class WorkerStreamSink final : public RequestSink {
 public:
  WorkerStreamSink(std::weak_ptr<WorkerService> service, std::shared_ptr<HttpResponder> responder,
                   std::string request_id)
      : service_(std::move(service)), responder_(std::move(responder)), request_id_(std::move(request_id)) {}

  // Records the call's span in `tracer` when it finishes.
  void trace(std::shared_ptr<Tracer> tracer, SpanTiming span, std::string model) {
    tracer_ = std::move(tracer);
    span_ = span;
    model_ = std::move(model);
  }

  void on_event(RequestId, EngineEvent event) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_) {
      early_.push_back(std::move(event));
      return;
    }
    send(event);
  }

  void start() {
    std::lock_guard<std::mutex> lock(mu_);
    responder_->start_stream(200, {{"Content-Type", "text/event-stream"}, {"Cache-Control", "no-cache"}});
    started_ = true;
    for (const EngineEvent& e : early_) send(e);
    early_.clear();
  }

 private:
  void send(const EngineEvent& event) {
    if (const auto* t = std::get_if<TokenEvent>(&event)) {
      responder_->write(tokens_event_sse(*t));
      return;
    }
    const auto& finish = std::get<FinishEvent>(event);
    responder_->write(finish_event_sse(finish));
    responder_->finish();
    if (tracer_) record_span(finish);
    if (auto service = service_.lock()) service->unregister_active(request_id_);
  }

  void record_span(const FinishEvent& f) {
    SpanRecord r = finish_span(span_, "worker generate", SpanKind::kServer);
    r.attributes = {{"parley.model", model_},
                    {"parley.request_id", request_id_},
                    {"parley.finish_reason", std::string(finish_reason_name(f.reason))}};
    r.int_attributes = {{"parley.prompt_tokens", f.prompt_tokens},
                        {"parley.cached_prompt_tokens", f.cached_prompt_tokens},
                        {"parley.completion_tokens", f.completion_tokens}};
    r.error = f.reason == FinishReason::kError;
    r.status_message = f.message;
    tracer_->record(std::move(r));
  }

  std::weak_ptr<WorkerService> service_;
  std::shared_ptr<HttpResponder> responder_;
  std::shared_ptr<Tracer> tracer_;
  SpanTiming span_;
  std::string model_;
  std::string request_id_;
  std::mutex mu_;
  bool started_ = false;
  std::deque<EngineEvent> early_;
};

void WorkerService::generate(HttpRequest request, std::shared_ptr<HttpResponder> responder) {
  if (draining_.load()) return respond_error(*responder, draining_error());
  if (!loaded_.load()) return respond_error(*responder, unavailable_error("the models are loading"));
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++pending_;
  }
  auto self = shared_from_this();
  pool_->post([self, request = std::move(request), responder = std::move(responder)] {
    self->run_generate(request, responder);
    self->end_pending();
  });
}

void WorkerService::run_generate(const HttpRequest& request, const std::shared_ptr<HttpResponder>& responder) {
  if (draining_.load()) return respond_error(*responder, draining_error());
  Result<WorkerGenerate> parsed = parse_generate_request(request.body, options_.limits);
  if (!parsed.ok()) return respond_error(*responder, parsed.status());
  WorkerGenerate& w = *parsed;
  WorkerModel* model = nullptr;
  for (const auto& m : models_) {
    if (m->id() == w.model) model = m.get();
  }
  if (model == nullptr) return respond_error(*responder, not_found_error("no model '{}' on this worker", w.model));
  if (w.request.prompt.size() >= static_cast<std::size_t>(model->n_ctx())) {
    return respond_error(*responder, invalid_argument_error("the prompt has {} tokens; the model's context is {}",
                                                            w.request.prompt.size(), model->n_ctx())
                                         .with_detail("code", "context_length_exceeded"));
  }
  if (w.grammar || w.built_grammar) {
    const std::shared_ptr<const BuiltGrammar>& built = w.built_grammar;
    Result<CompiledGrammarPtr> g =
        w.grammar ? model->grammar_compiler().compile(*w.grammar)
                  : model->grammar_compiler().compile(built->key, [&]() -> Result<Grammar> { return built->grammar; });
    if (!g.ok()) return respond_error(*responder, g.status());
    w.request.grammar = std::move(*g);
  }
  if (!reserve_active(w.request_id, model)) {
    return respond_error(*responder, invalid_argument_error("request id '{}' is already in flight", w.request_id));
  }
  auto sink = std::make_shared<WorkerStreamSink>(weak_from_this(), responder, w.request_id);
  // Tracing: the engine request carries the caller's context on; the span is this call's.
  const std::optional<TraceContext> parent = parse_traceparent(request.header("traceparent"));
  if (parent) w.request.traceparent = format_traceparent(*parent);
  if (options_.tracer && parent) {
    const TraceContext mine = options_.tracer->child_of(parent);
    w.request.traceparent = format_traceparent(mine);
    sink->trace(options_.tracer, SpanTiming{.context = mine, .parent_span_id = parent->span_id}, model->id());
  }
  const std::vector<std::uint64_t> blocks = prefix_block_hashes(w.request.prompt, w.request.cache_scope);
  Result<RequestId> id = model->engine().submit(std::move(w.request), sink);
  if (id.ok()) placements_.record(model->id(), blocks);
  if (!id.ok()) {
    unregister_active(w.request_id);
    Status st = id.status();
    if (st.code() == ErrorCode::kResourceExhausted && st.detail("retry_after").empty())
      st = st.with_detail("retry_after", "1");
    return respond_error(*responder, st);
  }
  set_active_id(w.request_id, *id);
  sink->start();
  // A client that goes away cancels its request: a worker never computes for nobody.
  std::weak_ptr<WorkerService> weak = weak_from_this();
  responder->on_disconnect([weak, model, id = *id] {
    if (auto self = weak.lock()) model->engine().cancel(id);
  });
}

}  // namespace parley
