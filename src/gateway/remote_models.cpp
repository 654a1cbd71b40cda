#include "gateway/remote_models.h"

#include <cstring>

#include "net/http_client.h"

namespace parley {

namespace {

Result<HttpResponse> get(const WorkerEndpoint& worker, const std::string& path, std::size_t max_bytes) {
  HttpClientRequest req;
  req.url = worker.url + path;
  if (!worker.cluster_token.empty()) req.headers.emplace_back("Authorization", "Bearer " + worker.cluster_token);
  req.timeout = worker.timeout;
  req.max_body_bytes = max_bytes;
  Result<HttpResponse> r = HttpClient().request(req);
  if (!r.ok()) return r.status().with_context(fmt::format("the worker at {}", worker.url));
  if (r->status != 200)
    return parse_error_body(r->status, r->body).with_context(fmt::format("the worker at {}", worker.url));
  return r;
}

}  // namespace

Result<std::vector<WorkerModelInfo>> fetch_worker_models(const WorkerEndpoint& worker) {
  ASSIGN_OR_RETURN(HttpResponse r, get(worker, std::string(kInternalApiPrefix) + "/models", 4 << 20));
  return parse_models(r.body);
}

Result<std::shared_ptr<const GgufFile>> fetch_worker_vocab(const WorkerEndpoint& worker, const std::string& model_id) {
  // Model ids are file-name stems; anything that would need escaping in a path is refused here.
  if (model_id.find_first_of("/?#% ") != std::string::npos) {
    return invalid_argument_error("model id '{}' cannot be fetched from a worker", model_id);
  }
  ASSIGN_OR_RETURN(HttpResponse r,
                   get(worker, std::string(kInternalApiPrefix) + "/models/" + model_id + "/vocab", 256 << 20));
  // The file refers to its bytes: both live in one block, released with the file.
  struct Held {
    std::vector<std::byte> bytes;
    std::unique_ptr<GgufFile> file;
  };
  auto held = std::make_shared<Held>();
  held->bytes.resize(r.body.size());
  std::memcpy(held->bytes.data(), r.body.data(), r.body.size());
  Result<std::unique_ptr<GgufFile>> file = GgufFile::from_memory(held->bytes);
  if (!file.ok())
    return file.status().with_context(fmt::format("the vocabulary of '{}' from {}", model_id, worker.url));
  held->file = std::move(*file);
  const GgufFile* f = held->file.get();
  return std::shared_ptr<const GgufFile>(std::move(held), f);
}

Result<std::vector<std::unique_ptr<ServedModel>>> load_worker_models(const WorkerEndpoint& worker,
                                                                     RemoteEngineOptions engine,
                                                                     bool special_tokens_in_content) {
  ASSIGN_OR_RETURN(std::vector<WorkerModelInfo> infos, fetch_worker_models(worker));
  std::vector<std::unique_ptr<ServedModel>> models;
  for (const WorkerModelInfo& info : infos) {
    ASSIGN_OR_RETURN(std::shared_ptr<const GgufFile> vocab, fetch_worker_vocab(worker, info.id));
    RemoteEngineOptions o = engine;
    o.worker_url = worker.url;
    o.cluster_token = worker.cluster_token;
    o.model = info.id;
    ServedModelFront front;
    front.id = info.id;
    front.n_ctx = info.n_ctx;
    front.created = info.created;
    front.demo = info.demo;
    front.special_tokens_in_content = special_tokens_in_content;
    front.source = fmt::format("worker {}", worker.url);
    // The vocabulary size bounds the token ids the worker may send back.
    if (Result<const GgufArray*> tokens = vocab->get_array("tokenizer.ggml.tokens"); tokens.ok()) {
      o.n_vocab = static_cast<std::int32_t>((*tokens)->count);
    }
    ASSIGN_OR_RETURN(std::unique_ptr<ServedModel> m,
                     ServedModel::with_engine(front, vocab, std::make_shared<RemoteEngineClient>(o)));
    models.push_back(std::move(m));
  }
  return models;
}

}  // namespace parley
