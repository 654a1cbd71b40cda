// Models served by a `parley worker`: their list and vocabularies fetched over the internal API,
// each a ServedModel (tokenizer, chat template, grammar compiler from the vocab-only GGUF) whose
// engine is a RemoteEngineClient, or any EngineClient the caller gives (a router over several
// workers). The gateway then holds no weights.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "gateway/served_model.h"
#include "gguf/gguf_file.h"
#include "router/remote_engine.h"
#include "router/worker_protocol.h"

namespace parley {

struct WorkerEndpoint {
  std::string url;            // "http://10.0.0.7:8081"
  std::string cluster_token;  // "" = none
  std::chrono::milliseconds timeout{30'000};
};

// GET /internal/v1/models.
Result<std::vector<WorkerModelInfo>> fetch_worker_models(const WorkerEndpoint& worker);
// GET /internal/v1/models/{id}/vocab, parsed (the result keeps its bytes).
Result<std::shared_ptr<const GgufFile>> fetch_worker_vocab(const WorkerEndpoint& worker, const std::string& model_id);

// One ServedModel per model of the worker, each with its own RemoteEngineClient (options from
// `engine`, with the worker's URL, token and model id filled in).
Result<std::vector<std::unique_ptr<ServedModel>>> load_worker_models(const WorkerEndpoint& worker,
                                                                     RemoteEngineOptions engine = {},
                                                                     bool special_tokens_in_content = false);

}  // namespace parley
