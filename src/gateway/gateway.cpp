// Gateway: the route table, admission from the request head, dispatch, and the probes. The
// OpenAI endpoints are in gateway_openai.cpp.
#include "gateway/gateway.h"

#include <fmt/format.h>

#include <charconv>
#include <limits>

#include "base/log.h"
#include "gateway/http_errors.h"
#include "gateway/models_api.h"
#include "gateway/shared_state_metrics.h"
#include "obs/heap_memory.h"
#include "obs/process_metrics.h"
#include "obs/request_id.h"

namespace parley {
namespace {

HttpHeaders json_headers(const std::string& request_id) {
  return {{"Content-Type", "application/json"}, {"X-Request-Id", request_id}};
}

// The head of `request`: everything but the body (what admission looks at).
HttpRequest head_of(const HttpRequest& request) {
  HttpRequest head;
  head.method = request.method;
  head.target = request.target;
  head.path = request.path;
  head.query = request.query;
  head.version = request.version;
  head.headers = request.headers;
  head.remote_address = request.remote_address;
  return head;
}

bool has_body(const HttpRequest& head) {
  const std::string_view length = head.header("Content-Length");
  std::uint64_t n = 0;
  if (!length.empty()) std::from_chars(length.data(), length.data() + length.size(), n);
  return n > 0 || !head.header("Transfer-Encoding").empty();
}

Principal local_principal() {
  Principal p;
  p.role = auth::Role::kAdmin;
  p.scopes = auth::scopes_for_role(auth::Role::kAdmin);
  p.local_mode = true;
  return p;
}

// The largest /v1 generation body worth reading: a prompt cannot exceed the largest served
// context times the longest token, and JSON escapes take at most 6 bytes per byte ("\u0001"); 1 MiB
// more for everything else (sampling fields, logit_bias). Anything larger is refused from its head
// (413) instead of being read, parsed and copied only to be refused as too long.
std::size_t generation_body_bytes_max(const std::vector<const ServedModel*>& models) {
  if (models.empty()) return std::numeric_limits<std::size_t>::max();
  std::size_t most = 0;
  for (const ServedModel* m : models) {
    most = std::max(most, 6 * static_cast<std::size_t>(m->n_ctx()) * m->tokenizer().max_token_bytes());
  }
  return most + (std::size_t{1} << 20);
}

}  // namespace

Gateway::Gateway(std::vector<std::unique_ptr<ServedModel>> models, const GatewayOptions& options,
                 std::unique_ptr<Accounts> accounts)
    : accounts_(std::move(accounts)),
      catalog_(std::move(models)),
      options_(options),
      metrics_(registry_),
      heap_trimmer_(registry_, options_.memory_trim_interval) {
  add_process_metrics(registry_);  // RSS, open descriptors, threads (obs/process_metrics.h)
  add_heap_metrics(registry_);     // the allocator's memory in use and held free (obs/heap_memory.h)
  catalog_.on_add([this](const ServedModel& m) { metrics_.watch_engine(m.id(), m.engine()); });
  if (accounts_) {
    watch_shared_state(registry_, *accounts_);
    store_health_ = std::make_unique<StoreHealth>(registry_, accounts_->store(), accounts_->request_pool());
    accounts_->usage().count_cost(
        &registry_.counter("parley_usage_cost_micros_total",
                           "Cost of the recorded usage in millionths of the [prices] currency", {"model"}));
  }
  moderation_ = std::make_unique<Moderation>(options_.moderation, registry_, accounts_ ? &accounts_->store() : nullptr,
                                             options_.moderation_clock);
  if (!options_.guard.model.empty()) {
    if (const ServedModel* m = find_model(options_.guard.model)) {
      moderation_->set_guard(std::make_unique<GuardModel>(options_.guard, *m, moderation_->guard_latency()));
    } else {
      log_event(LogLevel::kError, "guard_model_not_served", {{"model", options_.guard.model}});
    }
  }
  if (Status st = moderation_->restore(); !st.ok()) {
    log_event(LogLevel::kError, "suspensions_not_restored", {{"error", st.message()}});
  }
  if (Status st = moderation_->purge(); !st.ok()) {
    log_event(LogLevel::kError, "moderation_purge_failed", {{"error", st.message()}});
  }
  moderation_->start_maintenance();  // periodic suspension sync and purge
  if (accounts_) {
    ConversationApiOptions o;
    o.usage = &accounts_->usage();
    o.limiter = &accounts_->limiter();  // share links' public reads, per address
    o.moderation = moderation_.get();
    o.checkpoints = options_.checkpoints;
    conversations_ = std::make_unique<ConversationApi>(accounts_->store(), catalog_, metrics_, std::move(o));
  }
  host_policy_.local_mode = !accounts_ || accounts_->mode() == AuthMode::kNone;
  host_policy_.allowed_hosts = options_.allowed_hosts;
  host_policy_.allowed_origins = options_.allowed_origins;
  add_routes();
}

Gateway::~Gateway() {
  // The guard model is one of the models: no reply is classified once they begin to go.
  moderation_->stop_guard();
  if (accounts_) accounts_->stop_pools();  // queued requests use the models
  conversations_.reset();                  // stops replies in flight and saves them
  // Engines end their requests here, which record usage and metrics: whatever else holds the
  // catalog's engines (a ModelDirectory) must let go first, or their replies outlive registry_.
  catalog_.clear();
  if (accounts_) accounts_->usage().count_cost(nullptr);  // the registry goes before the accounts
}

void Gateway::add_routes() {
  const std::size_t generation_body = generation_body_bytes_max(catalog_.list());
  routes_.add({.method = "GET",
               .pattern = "/health",
               .name = "health",
               .caller = Caller::kAnyone,
               .on_pool = false,
               .handler = [this](RouteCall& c) { probe(c, false); }});
  routes_.add({.method = "GET",
               .pattern = "/ready",
               .name = "ready",
               .caller = Caller::kAnyone,
               .on_pool = false,
               .handler = [this](RouteCall& c) { probe(c, true); }});
  routes_.add({.method = "GET",
               .pattern = "/metrics",
               .name = "metrics",
               .caller = Caller::kAnyone,
               .on_pool = false,
               .handler = [this](RouteCall& c) {
                 c.responder->respond(
                     200,
                     {{"Content-Type", "text/plain; version=0.0.4; charset=utf-8"}, {"X-Request-Id", c.request_id}},
                     registry_.render());
               }});
  routes_.add({.method = "GET",
               .pattern = "/v1/models",
               .name = "models",
               .caller = Caller::kApiKey,
               .scope = auth::Scope::kModels,
               .on_pool = false,
               .handler = [this](RouteCall& c) { list_models(c.request_id, *c.responder); }});
  routes_.add({.method = "GET",
               .pattern = "/v1/models/{*id}",
               .name = "models",
               .caller = Caller::kApiKey,
               .scope = auth::Scope::kModels,
               .on_pool = false,
               .handler = [this](RouteCall& c) { get_model(c); }});
  routes_.add({.method = "POST",
               .pattern = "/v1/chat/completions",
               .name = "chat",
               .caller = Caller::kApiKey,
               .scope = auth::Scope::kChat,
               .json_body = true,
               .max_body_bytes = generation_body,
               .traced = true,
               .handler = [this](RouteCall& c) { chat_completions(c); }});
  routes_.add({.method = "POST",
               .pattern = "/v1/completions",
               .name = "completions",
               .caller = Caller::kApiKey,
               .scope = auth::Scope::kChat,
               .json_body = true,
               .max_body_bytes = generation_body,
               .traced = true,
               .handler = [this](RouteCall& c) { completions(c); }});
  add_moderation_routes();
  add_ui_model_routes(routes_, catalog_);
  add_admin_model_routes(routes_, catalog_);
  if (accounts_) accounts_->api().add_routes(routes_);
  if (conversations_) conversations_->add_routes(routes_);
  // Last: the UI takes only what no route above matched, and never a path of the API.
  if (options_.site) add_web_routes(routes_, options_.site, {"/api", "/v1", "/health", "/ready", "/metrics"});
}

Result<Principal> Gateway::authenticate(const HttpRequest& request) const {
  if (accounts_) return accounts_->authenticator().authenticate(request);
  return local_principal();
}

UsageRecorder& Gateway::usage_recorder() {
  if (accounts_) return accounts_->usage();
  return null_usage_;
}

const ServedModel* Gateway::find_model(std::string_view id) const {
  return catalog_.find(id);
}

// ---- admission -----------------------------------------------------------------------------------

Gateway::Refused Gateway::refusal(const std::string& request_id, const Status& st, std::string_view endpoint,
                                  HttpHeaders extra) {
  const HttpError e = to_http_error(st);
  Refused r;
  r.status = e.status;
  r.headers = json_headers(request_id);
  if (e.retry_after_s > 0) r.headers.emplace_back("Retry-After", std::to_string(e.retry_after_s));
  for (auto& h : extra) r.headers.push_back(std::move(h));
  r.body = e.body();
  metrics_.requests.with({"", std::string(endpoint), std::to_string(e.status)}).inc();
  log_event(
      e.status >= 500 ? LogLevel::kError : LogLevel::kInfo, "request",
      {{"request_id", request_id}, {"endpoint", std::string(endpoint)}, {"status", e.status}, {"error", e.message}});
  return r;
}

void Gateway::check(const HttpRequest& head, std::function<void(Verdict)> done) {
  Admitted a;
  a.request_id = request_id_from_header(head.header("X-Request-Id"));
  if (Status st = check_host(host_policy_, head.header("Host")); !st.ok()) {
    return done(refusal(a.request_id, st, "host"));
  }
  RouteTable::Match m = routes_.match(head.method, head.path);
  if (m.route == nullptr) {
    HttpHeaders extra;
    const Status st = no_route_error(head, m, &extra);
    return done(refusal(a.request_id, st, m.allowed.empty() ? "unknown" : "method", std::move(extra)));
  }
  const RouteSpec& route = *m.route;
  if (Status st = check_origin(host_policy_, head); !st.ok()) return done(refusal(a.request_id, st, route.name));
  if (Status st = check_body_head(route, head); !st.ok()) return done(refusal(a.request_id, st, route.name));
  a.route = &route;
  a.params = std::move(m.params);
  a.trace = begin_request_trace(route.traced ? options_.tracer : nullptr, head.header("traceparent"),
                                fmt::format("{} {}", route.method, route.pattern));
  // A suspended client address or account (gateway/moderation.h) is refused everything but the
  // probes and the admin API (where an admin lifts suspensions).
  const bool suspendable = !route.admin && route.name != "health" && route.name != "ready" && route.name != "metrics";
  if (suspendable) {
    if (Status st = moderation_->check_suspended(Principal{}, head.remote_address); !st.ok()) {
      return done(refusal(a.request_id, st, route.name));
    }
  }
  if (route.caller == Caller::kAnyone) return done(std::move(a));
  if (!accounts_) {
    a.principal = local_principal();
    return done(std::move(a));
  }
  // Credentials are checked against the database: off the I/O thread.
  const std::string request_id = a.request_id;
  auto task = [this, head = head_of(head), a = std::move(a), done, suspendable]() mutable {
    const auto auth_start = std::chrono::steady_clock::now();
    Result<Principal> who = accounts_->authenticator().authenticate(head);
    a.trace.authenticated.emplace(auth_start, std::chrono::steady_clock::now());
    Status st = who.ok() ? authorize(*a.route, *who) : who.status();
    if (st.ok() && suspendable) st = moderation_->check_suspended(*who, "");
    if (!st.ok()) return done(refusal(a.request_id, st, a.route->name));
    a.principal = std::move(*who);
    done(std::move(a));
  };
  if (!accounts_->request_pool().try_submit(std::move(task))) {
    done(refusal(request_id, unavailable_error("The server is busy; retry shortly.").with_detail("retry_after", "1"),
                 route.name));
  }
}

void Gateway::admit(const HttpRequest& head, std::shared_ptr<HeadDecision> decision) {
  check(head, [decision, bodiless = !has_body(head)](Verdict v) {
    if (auto* a = std::get_if<Admitted>(&v)) {
      const std::size_t max_body = a->route->max_body_bytes;
      decision->admit(max_body, std::move(*a));
    } else if (bodiless) {
      decision->admit(0, std::move(std::get<Refused>(v)));  // answered by handle(); keep-alive goes on
    } else {
      Refused& r = std::get<Refused>(v);
      decision->refuse(r.status, std::move(r.headers), std::move(r.body));  // the body is never read
    }
  });
}

void Gateway::handle(HttpRequest req, std::shared_ptr<HttpResponder> responder) {
  if (auto* a = std::any_cast<Admitted>(&req.context)) {
    Admitted admitted = std::move(*a);
    req.context.reset();
    return dispatch(std::move(req), std::move(admitted), responder);
  }
  if (auto* r = std::any_cast<Refused>(&req.context)) {
    return responder->respond(r->status, std::move(r->headers), std::move(r->body));
  }
  // Not admitted from its head (a server without admit()): the same checks, now.
  auto shared = std::make_shared<HttpRequest>(std::move(req));
  check(*shared, [this, shared, responder](Verdict v) {
    if (auto* r = std::get_if<Refused>(&v))
      return responder->respond(r->status, std::move(r->headers), std::move(r->body));
    dispatch(std::move(*shared), std::move(std::get<Admitted>(v)), responder);
  });
}

void Gateway::dispatch(HttpRequest req, Admitted admitted, const std::shared_ptr<HttpResponder>& responder) {
  const RouteSpec& route = *admitted.route;
  auto call = std::make_shared<RouteCall>();
  call->request = std::move(req);
  call->principal = std::move(admitted.principal);
  call->params = std::move(admitted.params);
  call->request_id = std::move(admitted.request_id);
  call->responder = responder;
  call->trace = std::move(admitted.trace);
  if (moderation_->policy()) {
    // Rate-limit and quota hits and failed log-ins count towards the caller's violation score.
    auto ctx = std::make_shared<ModerationContext>(moderation_context(*call, ""));
    call->responder = std::make_shared<StatusWatchingResponder>(
        responder, [this, ctx, pattern = route.pattern](int status, std::string_view body) {
          moderation_->record_response(*ctx, pattern, status, body);
        });
  }
  if (!route.on_pool || !accounts_) return route.handler(*call);
  if (!accounts_->request_pool().try_submit([&route, call] { route.handler(*call); })) {
    const Refused r =
        refusal(call->request_id,
                unavailable_error("The server is busy; retry shortly.").with_detail("retry_after", "1"), route.name);
    responder->respond(r.status, r.headers, r.body);
  }
}

void Gateway::probe(RouteCall& c, bool ready) const {
  if (!ready) {
    c.responder->respond(200, json_headers(c.request_id), R"({"status":"ok"})");
    return;
  }
  if (shutting_down()) {
    c.responder->respond(503, json_headers(c.request_id), R"({"status":"shutting down"})");
    return;
  }
  if (store_health_) {
    store_health_->refresh();
    if (!store_health_->up()) {
      HttpHeaders headers = json_headers(c.request_id);
      headers.emplace_back("Retry-After", "1");
      c.responder->respond(503, std::move(headers), R"({"status":"store unavailable"})");
      return;
    }
  }
  const bool up = !catalog_.empty();
  c.responder->respond(up ? 200 : 503, json_headers(c.request_id),
                       up ? std::string(R"({"status":"ready"})") : std::string(R"({"status":"no model loaded"})"));
}

Result<std::unique_ptr<HttpServer>> serve_gateway(const HttpServerOptions& options, std::shared_ptr<Gateway> gateway) {
  return HttpServer::start(
      options,
      [gateway](HttpRequest req, std::shared_ptr<HttpResponder> r) { gateway->handle(std::move(req), std::move(r)); },
      [gateway](const HttpRequest& head, std::shared_ptr<HeadDecision> d) { gateway->admit(head, std::move(d)); });
}

}  // namespace parley
