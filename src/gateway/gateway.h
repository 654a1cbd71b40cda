// Gateway: the HTTP front door of `parley serve`. Routes requests, turns OpenAI JSON into engine
// requests (chat template, tokenizer, limits), and answers through GenerationJobs.
//
//   GET  /health                 liveness: the process answers
//   GET  /ready                  readiness: every model is loaded and its engine running
//   GET  /metrics                Prometheus text
//   GET  /v1/models              the served models;  GET /v1/models/{id}
//   POST /v1/chat/completions    chat (stream or not)
//   POST /v1/completions         raw completions (stream or not)
//
// Every response carries X-Request-Id (the client's if sane, else a new one). Errors use
// OpenAI's body and the status mapping of gateway/http_errors.h.
//
// Thread safety: handle() is called concurrently from the server's I/O threads.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "api/openai_request.h"
#include "gateway/gateway_metrics.h"
#include "gateway/served_model.h"
#include "net/http_request.h"
#include "net/http_responder.h"
#include "obs/metrics.h"

namespace parley {

struct GatewayOptions {
  ApiLimits limits;
};

class Gateway {
 public:
  Gateway(std::vector<std::unique_ptr<ServedModel>> models, const GatewayOptions& options = {});
  ~Gateway();

  void handle(HttpRequest request, std::shared_ptr<HttpResponder> responder);

  MetricsRegistry& metrics_registry() { return registry_; }
  const std::vector<std::unique_ptr<ServedModel>>& models() const { return models_; }

 private:
  const ServedModel* find_model(std::string_view id) const;
  void chat_completions(const HttpRequest& req, const std::string& request_id, std::shared_ptr<HttpResponder> responder);
  void completions(const HttpRequest& req, const std::string& request_id, std::shared_ptr<HttpResponder> responder);
  void list_models(const std::string& request_id, HttpResponder& responder) const;
  void reply_error(HttpResponder& responder, const std::string& request_id, const Status& st, const std::string& model,
                   const std::string& endpoint);

  std::vector<std::unique_ptr<ServedModel>> models_;
  GatewayOptions options_;
  MetricsRegistry registry_;
  GatewayMetrics metrics_;
};

}  // namespace parley
