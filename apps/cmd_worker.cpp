// `parley worker`: engines behind the internal API (docs/scaling.md), for gateways to use.
#include <fmt/core.h>
#include <signal.h>

#include <CLI/CLI.hpp>

#include "apps/cli.h"
#include "apps/engine_flags.h"
#include "base/log.h"
#include "gateway/serve_config.h"
#include "worker/worker_model_dir.h"
#include "worker/worker_service.h"

namespace parley::cli {
namespace {

struct WorkerArgs {
  std::string config;
  ModelFlags model_flags;
  std::string host = "127.0.0.1";
  std::uint16_t port = 8081;
  int io_threads = 2;
  std::string token_file;
  std::string otlp_endpoint;
  int drain_timeout_s = 60;
};

Result<ServeConfig> build_config(const WorkerArgs& a, const CLI::App& cmd) {
  ServeConfig c;
  c.server.port = 8081;
  if (!a.config.empty()) {
    ASSIGN_OR_RETURN(c, load_serve_config(a.config));
  }
  if (cmd.count("--host") > 0 || a.config.empty()) c.server.host = a.host;
  if (cmd.count("--port") > 0 || a.config.empty()) c.server.port = a.port;
  if (cmd.count("--io-threads") > 0) c.server.io_threads = a.io_threads;
  if (cmd.count("--otlp-endpoint") > 0) c.tracing.otlp_endpoint = a.otlp_endpoint;
  RETURN_IF_ERROR(apply_model_flags(cmd, a.model_flags, &c));
  if (c.models.empty() && c.on_demand.dir.empty()) {
    return invalid_argument_error("give at least one --model or --models-dir (or [[models]], [on_demand] in --config)");
  }
  return c;
}

int run_worker(const WorkerArgs& args, const CLI::App& cmd) {
  Result<ServeConfig> config = build_config(args, cmd);
  if (!config.ok()) return fail("worker", config.status());
  const ServeConfig& c = *config;
  Result<std::string> token = cluster_token(args.token_file, c.cluster);
  if (!token.ok()) return fail("worker", token.status());
  if (token->empty() && !is_loopback_host(c.server.host)) {
    return fail("worker", invalid_argument_error(
                              "a worker listening on {} needs a cluster token (--cluster-token-file, "
                              "PARLEY_CLUSTER_TOKEN or [cluster] token_file): its API runs any prompt for anyone",
                              c.server.host));
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  WorkerOptions wo;
  wo.cluster_token = *token;
  wo.memory_trim_interval = c.gateway.memory_trim_interval;  // [server] memory_trim_seconds
  Result<std::shared_ptr<Tracer>> tracer = make_tracer(c.tracing, "worker");
  if (!tracer.ok()) return fail("worker", tracer.status());
  wo.tracer = *tracer;
  auto service = WorkerService::create(wo);
  std::vector<WorkerModelOptions> models;
  for (const ServedModelOptions& m : c.models) {
    WorkerModelOptions w;
    static_cast<LocalModelOptions&>(w) = m;
    w.id = m.id;
    w.demo = m.demo;
    models.push_back(std::move(w));
  }
  // The server first, so that /health answers and /ready says 503 while the models load.
  Result<std::unique_ptr<HttpServer>> server = serve_worker(c.server, service);
  if (!server.ok()) return fail("worker", server.status());
  if (c.on_demand.enabled()) {
    // Models loaded on demand (worker/worker_model_dir.h); the service holds the directory.
    WorkerModelDirOptions o;
    o.dir = c.on_demand.dir;
    o.model = c.model_defaults;
    o.pool = c.on_demand.pool_options();
    o.rescan = c.on_demand.rescan;
    Result<std::shared_ptr<WorkerModelDirectory>> d = WorkerModelDirectory::create(std::move(o), service);
    if (!d.ok()) return fail("worker", d.status());
    for (const WorkerModelOptions& m : models) {
      if (Status st = (*d)->add_file(m, c.on_demand.pin_model_files); !st.ok()) return fail("worker", st);
    }
    service->add_models({});  // ready
    (*d)->start_rescans();
    if (!c.on_demand.dir.empty()) {
      WorkerModelOptions shown;  // for the log line below
      shown.path = c.on_demand.dir + "/*.gguf (on demand)";
      models.push_back(std::move(shown));
    }
  } else if (Status st = service->load(models); !st.ok()) {
    return fail("worker", st);
  }
  std::string ids;
  for (const WorkerModelOptions& m : models) ids += (ids.empty() ? "" : ", ") + (m.id.empty() ? m.path : m.id);
  log_event(LogLevel::kInfo,
            fmt::format("worker listening on http://{}:{} (models: {}; cluster token {})", c.server.host,
                        (*server)->port(), ids, token->empty() ? "off: loopback only" : "required"),
            {{"port", static_cast<std::int64_t>((*server)->port())}});

  int sig = 0;
  sigwait(&signals, &sig);
  // SIGTERM drains: running streams finish, new calls get 503 (the router sends them elsewhere).
  service->drain();
  log_info("{} received: draining {} stream(s) (up to {} s; again to stop now)", sig == SIGINT ? "SIGINT" : "SIGTERM",
           service->active(), args.drain_timeout_s);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(args.drain_timeout_s);
  while (!service->wait_idle(std::chrono::milliseconds(200))) {
    sigset_t pending;
    sigpending(&pending);
    if (sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM) || std::chrono::steady_clock::now() > deadline)
      break;
  }
  (*server)->stop(std::chrono::seconds(2));
  server->reset();
  service.reset();
  log_info("stopped");
  return kExitOk;
}

}  // namespace

void add_worker_command(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<WorkerArgs>();
  CLI::App* cmd =
      app.add_subcommand("worker",
                         "Serve models to gateways over the internal API (/internal/v1/..., /health, /ready, /metrics; "
                         "docs/scaling.md): token ids in, token events out. No users, no chat templates.");
  cmd->add_option("--config", a->config,
                  "TOML config file (docs/configuration.md: [engine], [[models]], [server], [cluster]); flags "
                  "given on the command line override it")
      ->check(CLI::ExistingFile);
  cmd->add_option("--host", a->host, "Address to listen on")->capture_default_str();
  cmd->add_option("--port", a->port, "Port (0: any free port, printed at start-up)")->capture_default_str();
  cmd->add_option("--io-threads", a->io_threads, "HTTP I/O threads")->capture_default_str()->check(CLI::Range(1, 256));
  add_model_flags(cmd, &a->model_flags);
  cmd->add_option("--cluster-token-file", a->token_file,
                  "File holding the shared cluster token that gateways must send (else PARLEY_CLUSTER_TOKEN, else "
                  "[cluster] token_file). Required unless --host is loopback");
  cmd->add_option("--otlp-endpoint", a->otlp_endpoint,
                  "Export traces over OTLP/HTTP to this collector (http://host:4318; else [tracing] otlp_endpoint)");
  cmd->add_option("--drain-timeout", a->drain_timeout_s, "Seconds SIGTERM waits for running streams before stopping")
      ->capture_default_str()
      ->check(CLI::Range(0, 86400));
  cmd->callback([a, cmd, exit_code] { *exit_code = run_worker(*a, *cmd); });
}

}  // namespace parley::cli
