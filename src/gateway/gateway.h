// Gateway: the HTTP front door of `parley serve`. Routes requests, turns OpenAI JSON into engine
// requests (chat template, tokenizer, limits), and answers through GenerationJobs.
//
//   GET  /health                 liveness: the process answers
//   GET  /ready                  readiness: every model is loaded and its engine running
//   GET  /metrics                Prometheus text
//   GET  /v1/models              the served models;  GET /v1/models/{id}
//   POST /v1/chat/completions    chat (stream or not)
//   POST /v1/completions         raw completions (stream or not)
//   /api/auth/*, /api/keys, /api/usage, /api/admin/*   accounts (gateway/account_api.h)
//
// Every response carries X-Request-Id (the client's if sane, else a new one). Errors use
// OpenAI's body and the status mapping of gateway/http_errors.h.
//
// With Accounts (gateway/accounts.h), /v1/* and /api/* run on its request pool, off the I/O
// threads (they wait on the database). Each /v1 request is authenticated first (an API key, or
// the local user in AuthMode::kNone; 401 otherwise), its key's scope checked (403), then, after
// validation and tokenization and before it is queued, admitted by the UsageRecorder (rate
// limits and quotas: 429 with Retry-After) and charged when it ends. Without Accounts (tests,
// tools) every request is anonymous and nothing is limited or recorded.
//
// Wiring another API behind the same steps (the conversation API):
//   Result<Principal> who = gateway.authenticate(request);       // 401/403 as an error Status
//   Result<UsageTicket> t = gateway.usage_recorder().admit(*who, upper_bound);
//   ... gateway.usage_recorder().record(*t, model, prompt_tokens, completion_tokens);
//
// Thread safety: handle() is called concurrently from the server's I/O threads.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "api/openai_request.h"
#include "base/result.h"
#include "gateway/accounts.h"
#include "gateway/conversation_api.h"
#include "gateway/gateway_metrics.h"
#include "gateway/generation.h"
#include "gateway/principal.h"
#include "gateway/served_model.h"
#include "gateway/usage_recorder.h"
#include "net/http_request.h"
#include "net/http_responder.h"
#include "obs/metrics.h"

namespace parley {

struct GatewayOptions {
  ApiLimits limits;
};

class Gateway {
 public:
  Gateway(std::vector<std::unique_ptr<ServedModel>> models, const GatewayOptions& options = {},
          std::unique_ptr<Accounts> accounts = nullptr);
  ~Gateway();

  void handle(HttpRequest request, std::shared_ptr<HttpResponder> responder);

  // The caller of `request` (see Authenticator). Without Accounts: an anonymous local principal.
  // Blocks on the store: call it off the I/O threads (handlers reached through handle() are).
  Result<Principal> authenticate(const HttpRequest& request) const;
  UsageRecorder& usage_recorder();
  Accounts* accounts() { return accounts_.get(); }

  MetricsRegistry& metrics_registry() { return registry_; }
  const std::vector<std::unique_ptr<ServedModel>>& models() const { return models_; }

 private:
  const ServedModel* find_model(std::string_view id) const;
  // Everything but the probes and metrics; on the request pool when there are Accounts.
  void route(const HttpRequest& req, const std::string& request_id, const std::shared_ptr<HttpResponder>& responder);
  void openai(const HttpRequest& req, const std::string& request_id, const std::shared_ptr<HttpResponder>& responder);
  void chat_completions(const HttpRequest& req, const Principal& who, const std::string& request_id,
                        std::shared_ptr<HttpResponder> responder);
  void completions(const HttpRequest& req, const Principal& who, const std::string& request_id,
                   std::shared_ptr<HttpResponder> responder);
  // Admission (rate limits, quotas), then the job; answers the error itself when either fails.
  void start_job(JobSpec spec, const Principal& who, std::int64_t tokens_upper_bound, const ServedModel& m,
                 std::vector<ChoiceInput> choices, const std::shared_ptr<HttpResponder>& responder);
  void list_models(const std::string& request_id, HttpResponder& responder) const;
  void reply_error(HttpResponder& responder, const std::string& request_id, const Status& st, const std::string& model,
                   const std::string& endpoint);

  // Declared before the models so that it outlives them: stopping an engine ends its requests,
  // whose usage is then recorded (the destructor stops the request pool before either goes).
  std::unique_ptr<Accounts> accounts_;
  NullUsageRecorder null_usage_;
  std::vector<std::unique_ptr<ServedModel>> models_;
  GatewayOptions options_;
  MetricsRegistry registry_;
  GatewayMetrics metrics_;
  // /api/conversations, with accounts only (it needs the store). Reset first in the destructor,
  // while the models and the store it saves replies into still exist.
  std::unique_ptr<ConversationApi> conversations_;
};

}  // namespace parley
