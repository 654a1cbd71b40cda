// Gateway: the HTTP front door of `parley serve`. Every endpoint is a route in one RouteTable
// (gateway/route_table.h: who may call it, what body it takes), checked from the request's head
// before its body is read; it turns OpenAI JSON into engine requests (chat template, tokenizer,
// limits) and answers through GenerationJobs.
//
//   GET  /health                 liveness: the process answers
//   GET  /ready                  readiness: every model is loaded and its engine running
//   GET  /metrics                Prometheus text
//   GET  /v1/models              the served models;  GET /v1/models/{id}
//   GET  /api/models             the served models for the web UI (gateway/models_api.h)
//   POST /v1/chat/completions    chat (stream or not)
//   POST /v1/completions         raw completions (stream or not)
//   /api/auth/*, /api/keys, /api/usage, /api/admin/*   accounts (gateway/account_api.h)
//   /api/conversations/*                               conversations (gateway/conversation_api.h)
//   GET  every other path        the web UI, when GatewayOptions::site is set (gateway/static_site.h)
//
// Serve it with both of its entry points: admit() decides from a request's head (Host, route,
// Origin, body type and size, then the caller's credentials, on the request pool since they wait
// on the database) and handle() runs the admitted request (serve_gateway() wires both). A server
// that only calls handle() gets the same checks once the body is in. Every response carries
// X-Request-Id (the client's if sane, else a new one). Errors use OpenAI's body and the status
// mapping of gateway/http_errors.h.
//
// With Accounts (gateway/accounts.h), routes marked on_pool run on its request pool, off the I/O
// threads. /v1 requests are then, after validation and tokenization and before they are queued,
// admitted by the UsageRecorder (rate limits and quotas: 429 with Retry-After) and charged when
// they end. Without Accounts (tests, tools) every request is the anonymous local admin and
// nothing is limited or recorded.
//
// Thread safety: admit() and handle() are called concurrently from the server's I/O threads.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "api/openai_request.h"
#include "api/openai_response.h"
#include "base/result.h"
#include "gateway/accounts.h"
#include "gateway/conversation_api.h"
#include "gateway/conversations_config.h"
#include "gateway/gateway_metrics.h"
#include "gateway/generation.h"
#include "gateway/generation_params.h"
#include "gateway/model_catalog.h"
#include "gateway/moderation.h"
#include "gateway/principal.h"
#include "gateway/request_guard.h"
#include "gateway/route_table.h"
#include "gateway/served_model.h"
#include "gateway/static_site.h"
#include "gateway/store_health.h"
#include "gateway/usage_recorder.h"
#include "net/http_admission.h"
#include "net/http_request.h"
#include "net/http_responder.h"
#include "net/http_server.h"
#include "obs/heap_memory.h"
#include "obs/metrics.h"

namespace parley {

struct GatewayOptions {
  ApiLimits limits;
  // Host names and origins served besides the defaults (gateway/request_guard.h); whether the
  // gateway is in local mode comes from its Accounts (none, or AuthMode::kNone: local).
  std::vector<std::string> allowed_hosts;
  std::vector<std::string> allowed_origins;
  // The web UI: served on every path outside the API (none: those paths are 404).
  std::shared_ptr<const StaticSite> site;
  // The priority class of each role's OpenAI API requests when they do not say ([priority]).
  RolePriorities role_priority;
  // [moderation]: the compiled rules (gateway/moderation.h). Null or empty: nothing is checked.
  std::shared_ptr<const policy::Policy> moderation;
  store::Clock moderation_clock = store::system_now;  // violation scores and suspensions (tests move it)
  // [server] memory_trim_seconds: how often the C allocator's free pages go back (obs/heap_memory.h); 0: never.
  std::chrono::milliseconds memory_trim_interval = std::chrono::seconds(60);
  GuardConfig guard;  // [moderation.guard]: a served model as a prompt classifier (model empty: none)
  // Tracing (obs/trace.h; null: off): spans of the routes that generate, under the caller's
  // `traceparent`, which is forwarded to the engine (a remote worker) either way.
  std::shared_ptr<Tracer> tracer;
  ReplyCheckpointOptions checkpoints;  // [conversations]: streamed replies saved as they stream
};

class Gateway {
 public:
  Gateway(std::vector<std::unique_ptr<ServedModel>> models, const GatewayOptions& options = {},
          std::unique_ptr<Accounts> accounts = nullptr);
  ~Gateway();

  // HttpServer's HeadHandler and HttpHandler (net/http_admission.h).
  void admit(const HttpRequest& head, std::shared_ptr<HeadDecision> decision);
  void handle(HttpRequest request, std::shared_ptr<HttpResponder> responder);

  // The caller of `request` (see Authenticator). Without Accounts: an anonymous local principal.
  // Blocks on the store: call it off the I/O threads.
  Result<Principal> authenticate(const HttpRequest& request) const;
  const RouteTable& routes() const { return routes_; }
  UsageRecorder& usage_recorder();
  Accounts* accounts() { return accounts_.get(); }

  MetricsRegistry& metrics_registry() { return registry_; }
  Moderation& moderation() { return *moderation_; }
  // The models served now (the catalog may change while serving: gateway/model_catalog.h).
  std::vector<const ServedModel*> models() const { return catalog_.list(); }
  ModelCatalog& catalog() { return catalog_; }

  // Graceful shutdown has begun (SIGTERM): /ready answers 503 so that a load balancer stops
  // sending work; requests in flight carry on. Irreversible.
  void begin_shutdown() { shutting_down_.store(true); }
  bool shutting_down() const { return shutting_down_.load(); }

 private:
  // A request that passed admission: its route and caller (in HttpRequest::context).
  struct Admitted {
    const RouteSpec* route = nullptr;
    Principal principal;
    std::vector<std::pair<std::string, std::string>> params;
    std::string request_id;
    RequestTrace trace;
  };
  // A request refused from its head; handle() answers it when it had no body to skip (the
  // connection then stays open), else the server answers and closes.
  struct Refused {
    int status = 500;
    HttpHeaders headers;
    std::string body;
  };
  using Verdict = std::variant<Admitted, Refused>;

  void add_routes();
  // The head checks of admit(); `done` gets the verdict, maybe on the request pool.
  void check(const HttpRequest& head, std::function<void(Verdict)> done);
  Refused refusal(const std::string& request_id, const Status& st, std::string_view endpoint, HttpHeaders extra = {});
  void dispatch(HttpRequest req, Admitted admitted, const std::shared_ptr<HttpResponder>& responder);

  const ServedModel* find_model(std::string_view id) const;
  void get_model(RouteCall& call);
  void chat_completions(RouteCall& call);
  void completions(RouteCall& call);
  void moderations(RouteCall& call);  // POST /v1/moderations (gateway/moderation_api.cpp)
  void add_moderation_routes();       // it and /api/admin/moderation/* (moderation_api.cpp)
  ModerationContext moderation_context(const RouteCall& call, std::string model) const;
  // Admission (rate limits, quotas), then the job; answers the error itself when either fails.
  void start_job(JobSpec spec, const Principal& who, std::int64_t tokens_upper_bound, const ServedModel& m,
                 std::vector<ChoiceInput> choices, const std::shared_ptr<HttpResponder>& responder);
  void list_models(const std::string& request_id, HttpResponder& responder) const;
  // /v1/models' entry: OpenAI's fields, and Parley's (size, loaded) for a model loaded on demand.
  ModelInfoOut model_info(const ServedModel& m) const;
  void probe(RouteCall& call, bool ready) const;
  void reply_error(HttpResponder& responder, const std::string& request_id, const Status& st, const std::string& model,
                   const std::string& endpoint);

  // Declared before the models so that it outlives them: stopping an engine ends its requests,
  // whose usage is then recorded (the destructor stops the request pool before either goes).
  std::unique_ptr<Accounts> accounts_;
  NullUsageRecorder null_usage_;
  ModelCatalog catalog_;
  GatewayOptions options_;
  MetricsRegistry registry_;
  GatewayMetrics metrics_;
  HeapTrimmer heap_trimmer_;                   // parley_malloc_trim* (obs/heap_memory.h)
  std::unique_ptr<StoreHealth> store_health_;  // parley_store_up (with accounts)
  // The rules, violation scores and audit log; before the conversation API, which uses it.
  std::unique_ptr<Moderation> moderation_;
  // /api/conversations, with accounts only (it needs the store). Reset first in the destructor,
  // while the models and the store it saves replies into still exist.
  std::unique_ptr<ConversationApi> conversations_;
  HostPolicy host_policy_;
  std::atomic<bool> shutting_down_{false};
  RouteTable routes_;  // last: its handlers use everything above
};

// Starts an HttpServer that serves `gateway` through both of its entry points.
Result<std::unique_ptr<HttpServer>> serve_gateway(const HttpServerOptions& options, std::shared_ptr<Gateway> gateway);

}  // namespace parley
