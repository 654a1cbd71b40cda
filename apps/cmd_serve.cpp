// `parley serve`: the OpenAI-compatible server with its engines, in one process.
#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <signal.h>

#include <filesystem>

#include "apps/cli.h"
#include "base/log.h"
#include "gateway/gateway.h"
#include "model/synth.h"
#include "net/http_server.h"
#include "tokenizer/builtin_vocab.h"

namespace parley::cli {
namespace {

struct ServeArgs {
  std::vector<std::string> models;
  std::vector<std::string> ids;
  std::string host = "127.0.0.1";
  int port = 8080;
  int io_threads = 2;
  int threads = 0;
  std::int32_t ctx = 0;
  std::int64_t max_batch_tokens = 512;
  std::int32_t max_running = 16;
  std::int32_t max_waiting = 256;
  std::int64_t kv_cache_mib = 2048;
  std::size_t max_body_mib = 16;
  std::string data = "data";
  std::string tls_cert;
  std::string tls_key;
};

constexpr std::string_view kDemoId = "parley-demo";

// The demo model: generated once into the data directory, so `make run` works with no download.
Result<std::string> ensure_demo_model(const std::string& data_dir) {
  const std::string path = (std::filesystem::path(data_dir) / "parley-demo.gguf").string();
  if (std::filesystem::exists(path)) return path;
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return io_error("cannot create the data directory {}: {}", data_dir, ec.message());
  SynthOptions o;
  o.arch = "llama";
  o.name = std::string(kDemoId);
  o.n_layer = 4;
  o.n_embd = 256;
  o.n_head = 4;
  o.n_head_kv = 2;
  o.n_ff = 768;
  o.n_ctx = 2048;
  o.type = TensorType::kQ8_0;
  o.seed = 1;
  ASSIGN_OR_RETURN(const auto vocab, builtin_vocab_metadata("bytes"));
  log_info("generating the demo model at {} (once)", path);
  RETURN_IF_ERROR(synth_model(o, vocab, path));
  return path;
}

int run_serve(ServeArgs a) {
  if (!a.ids.empty() && a.ids.size() != a.models.size()) {
    return fail("serve", invalid_argument_error("give one --model-id per --model ({} ids for {} models)", a.ids.size(),
                                                a.models.size()));
  }
  if (a.port < 0 || a.port > 65535) return fail("serve", invalid_argument_error("--port {} is out of range", a.port));
  const bool demo = a.models.empty();
  if (demo) {
    Result<std::string> path = ensure_demo_model(a.data);
    if (!path.ok()) return fail("serve", path.status());
    a.models.push_back(*path);
    a.ids.push_back(std::string(kDemoId));
    log_warn("no --model given: serving the built-in demo model '{}' ({}). It has random weights, so its replies are "
             "noise; start with --model FILE.gguf to serve a real model.",
             kDemoId, *path);
  }
  // Signals go to the main thread only: block them before any thread starts, then wait for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::vector<std::unique_ptr<ServedModel>> models;
  for (std::size_t i = 0; i < a.models.size(); ++i) {
    ServedModelOptions o;
    o.path = a.models[i];
    o.id = i < a.ids.size() ? a.ids[i] : "";
    o.threads = a.threads;
    o.n_ctx = a.ctx;
    o.max_batch_tokens = a.max_batch_tokens;
    o.max_running = a.max_running;
    o.max_waiting = a.max_waiting;
    o.kv_cache_bytes = a.kv_cache_mib << 20;
    Result<std::unique_ptr<ServedModel>> m = ServedModel::load(o);
    if (!m.ok()) return fail("serve", m.status());
    for (const auto& other : models) {
      if (other->id() == (*m)->id()) return fail("serve", invalid_argument_error("two models have the id '{}'; use --model-id", other->id()));
    }
    models.push_back(std::move(*m));
  }
  auto gateway = std::make_shared<Gateway>(std::move(models));

  HttpServerOptions so;
  so.host = a.host;
  so.port = static_cast<std::uint16_t>(a.port);
  so.io_threads = a.io_threads;
  so.max_body_bytes = a.max_body_mib << 20;
  so.tls_cert_file = a.tls_cert;
  so.tls_key_file = a.tls_key;
  Result<std::unique_ptr<HttpServer>> server =
      HttpServer::start(so, [gateway](HttpRequest req, std::shared_ptr<HttpResponder> res) { gateway->handle(std::move(req), std::move(res)); });
  if (!server.ok()) return fail("serve", server.status());
  const std::string scheme = a.tls_cert.empty() ? "http" : "https";
  std::string ids;
  for (const auto& m : gateway->models()) ids += (ids.empty() ? "" : ", ") + m->id();
  log_event(LogLevel::kInfo, fmt::format("listening on {}://{}:{} (models: {})", scheme, a.host, (*server)->port(), ids),
            {{"port", static_cast<std::int64_t>((*server)->port())}});
  if (a.host == "127.0.0.1" || a.host == "localhost" || a.host == "::1") {
    log_info("bound to loopback: only this machine can connect");
  } else {
    log_warn("listening on {} without authentication: anyone who can reach this port can use the models", a.host);
  }

  int sig = 0;
  sigwait(&signals, &sig);
  log_info("{} received: finishing in-flight responses (up to 5 s) and stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
  (*server)->stop(std::chrono::seconds(5));
  server->reset();
  gateway.reset();
  log_info("stopped");
  return kExitOk;
}

}  // namespace

void add_serve_command(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand(
      "serve",
      "Serve models over an OpenAI-compatible HTTP API (/v1/chat/completions, /v1/completions, /v1/models, /health, "
      "/ready, /metrics). With no --model, serves a small built-in demo model with random weights.");
  cmd->add_option("--model", a->models, "GGUF model file to serve (repeatable)");
  cmd->add_option("--model-id", a->ids, "Id of the model at the same position (default: the file name without extension)");
  cmd->add_option("--host", a->host, "Address to listen on (0.0.0.0 for every interface)")->capture_default_str();
  cmd->add_option("--port", a->port, "Port (0: any free port, printed at start-up)")->capture_default_str();
  cmd->add_option("--io-threads", a->io_threads, "HTTP I/O threads")->capture_default_str();
  cmd->add_option("-t,--threads", a->threads, "CPU threads per model (0: all cores)")->capture_default_str();
  cmd->add_option("--ctx", a->ctx, "Context length per request, prompt and completion (0: the model's)")->capture_default_str();
  cmd->add_option("--max-batch-tokens", a->max_batch_tokens, "Token budget of one engine step")->capture_default_str();
  cmd->add_option("--max-running", a->max_running, "Requests computed at once per model")->capture_default_str();
  cmd->add_option("--max-waiting", a->max_waiting, "Queued requests per model before 429")->capture_default_str();
  cmd->add_option("--kv-cache-mib", a->kv_cache_mib, "KV cache size per model, MiB")->capture_default_str();
  cmd->add_option("--max-body-mib", a->max_body_mib, "Largest request body, MiB")->capture_default_str();
  cmd->add_option("--data", a->data, "Data directory (the demo model is generated here)")->capture_default_str();
  cmd->add_option("--tls-cert", a->tls_cert, "PEM certificate chain: serve HTTPS (with --tls-key)");
  cmd->add_option("--tls-key", a->tls_key, "PEM private key for --tls-cert");
  cmd->callback([a, exit_code] { *exit_code = run_serve(*a); });
}

}  // namespace parley::cli
