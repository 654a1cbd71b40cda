// `parley serve`: the OpenAI-compatible server with its engines, in one process.
#include <fmt/core.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <thread>

#include "apps/cli.h"
#include "apps/engine_flags.h"
#include "apps/serve_common.h"
#include "apps/shared_state_flags.h"
#include "auth/password.h"
#include "base/log.h"
#include "gateway/accounts.h"
#include "gateway/cluster_models.h"
#include "gateway/gateway.h"
#include "gateway/model_directory.h"
#include "gateway/serve_config.h"
#include "model/synth.h"
#include "net/http_server.h"
#include "parley_web_ui.h"
#include "store/open_store.h"
#include "tokenizer/builtin_vocab.h"

namespace parley::cli {
namespace {

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

}  // namespace

// The configuration: defaults, then the --config file, then the flags given on the command line
// (a flag overrides the same setting of every model in the file).
Result<ServeConfig> build_config(const ServeArgs& a, const CLI::App& cmd) {
  ServeConfig c;
  if (!a.config.empty()) {
    ASSIGN_OR_RETURN(c, load_serve_config(a.config));
  }
  const auto given = [&cmd](const char* flag) { return cmd.count(flag) > 0; };
  const ServeConfig& f = a.cli;
  if (given("--host")) c.server.host = f.server.host;
  if (given("--port")) c.server.port = f.server.port;
  if (given("--io-threads")) c.server.io_threads = f.server.io_threads;
  if (given("--max-body-mib")) c.server.max_body_bytes = f.server.max_body_bytes << 20;
  if (given("--tls-cert")) c.server.tls_cert_file = f.server.tls_cert_file;
  if (given("--tls-key")) c.server.tls_key_file = f.server.tls_key_file;
  if (given("--data")) c.data_dir = f.data_dir;
  if (given("--web-dir")) c.web_dir = f.web_dir;
  if (given("--database")) c.accounts.store_url = a.database;
  apply_shared_state_flags(cmd, a.shared, &c);
  if (given("--auth")) c.accounts.auth.mode = a.auth == "none" ? AuthMode::kNone : AuthMode::kRequired;
  if (given("--otlp-endpoint")) c.tracing.otlp_endpoint = a.otlp_endpoint;
  // `parley gateway` has no model flags.
  if (cmd.get_option_no_throw("--threads") != nullptr) RETURN_IF_ERROR(apply_model_flags(cmd, a.model_flags, &c));
  if (c.server.tls_cert_file.empty() != c.server.tls_key_file.empty()) {
    return invalid_argument_error("--tls-cert and --tls-key go together");
  }
  return c;
}

// The store (--database, [store] url, or SQLite in the data directory) and everything on it.
Result<std::unique_ptr<Accounts>> open_accounts(const ServeConfig& c) {
  std::string url = c.accounts.store_url;
  if (url.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(c.data_dir, ec);
    if (ec) return io_error("cannot create the data directory {}: {}", c.data_dir, ec.message());
    url = store::default_store_url(c.data_dir);
  }
  // The URL may hold a database password: errors name the backend, never the URL.
  Result<std::unique_ptr<store::Store>> db = open_account_store(url, c.accounts);
  if (!db.ok()) return db.status();
  AccountsOptions o;
  o.config = c.accounts;
  o.mode = effective_auth_mode(c.accounts.auth, c.server.host);
  o.tls = !c.server.tls_cert_file.empty();
  o.request_workers = std::max(4, c.server.io_threads * 2);
  log_info("account store: {} (schema version {})", (*db)->backend(), (*db)->schema_version());
  return Accounts::create(std::move(*db), std::move(o));
}

// The web UI: --web-dir (read per request), else the files embedded at build time, else none.
Result<std::shared_ptr<const StaticSite>> open_web_ui(const ServeConfig& c) {
  if (!c.web_dir.empty()) {
    ASSIGN_OR_RETURN(auto site, StaticSite::directory(c.web_dir));
    log_info("web UI: serving {} (read on every request)", c.web_dir);
    return site;
  }
  const std::span<const EmbeddedFile> files = web_ui_files();
  if (files.empty()) {
    log_info("web UI: none (this binary was built without web/; see docs/development.md)");
    return std::shared_ptr<const StaticSite>();
  }
  return StaticSite::embedded(files);
}

// Says at start-up who can use the server, so that nobody runs an open server by accident.
void announce_auth(const ServeConfig& c, AuthMode mode, Accounts& accounts) {
  const std::string& host = c.server.host;
  const bool loopback = is_loopback_host(host);
  if (mode == AuthMode::kNone) {
    if (loopback) {
      log_info(
          "authentication is off (local mode, the default on loopback): every request acts as the built-in "
          "admin user {}; only this machine can connect. Use --auth required for accounts and API keys.",
          kLocalUserEmail);
    } else {
      log_warn(
          "AUTHENTICATION IS OFF (--auth none / [auth] mode = \"none\") while listening on {}: anyone who can "
          "reach this port acts as the admin user {} and can use the models, read its conversations and "
          "change accounts. Remove it to require API keys and sign-in.",
          host, kLocalUserEmail);
    }
    return;
  }
  log_info(
      "authentication is required{}: /v1/* needs an API key (Authorization: Bearer pk-...), the web API a "
      "signed-in session; sign-up is {}",
      c.accounts.auth.mode ? "" : " (the default when not bound to loopback)",
      c.accounts.auth.signup ? "open (the first user becomes admin)" : "disabled");
  Result<std::int64_t> n = accounts.store().count_users();
  if (n.ok() && *n == 0) {
    log_info(
        "no accounts yet: sign up in the web UI, or create an admin with `parley admin create-user --email "
        "EMAIL --role admin` and a key with `parley admin create-key --email EMAIL`");
  }
}

void announce_listening(const ServeConfig& c, std::uint16_t port, const std::string& models) {
  const std::string scheme = c.server.tls_cert_file.empty() ? "http" : "https";
  log_event(LogLevel::kInfo, fmt::format("listening on {}://{}:{} (models: {})", scheme, c.server.host, port, models),
            {{"port", static_cast<std::int64_t>(port)}});
  if (c.gateway.site) {
    std::string host = c.server.host;
    if (host == "0.0.0.0" || host == "::" || host.empty()) host = "localhost";
    if (host.find(':') != std::string::npos) host = "[" + host + "]";
    log_info("the chat UI: open {}://{}:{}/ in a browser", scheme, host, port);
  }
}

namespace {

// --worker URL: every model of that worker, its engine a Router over that one worker (the same
// code as `parley gateway`, which routes over many). Unlike the gateway, serve needs the worker
// up at start-up.
Result<std::vector<std::unique_ptr<ServedModel>>> load_remote(const ServeArgs& args, const ServeConfig& c,
                                                              std::unique_ptr<ClusterModels>* cluster) {
  if (args.workers.empty()) return std::vector<std::unique_ptr<ServedModel>>();
  if (!args.model_flags.models.empty()) return invalid_argument_error("--worker and --model exclude each other");
  if (args.workers.size() > 1)
    return invalid_argument_error("serve takes one --worker; `parley gateway` routes over many");
  ClusterOptions o;
  o.router = c.router;
  o.router.workers = {args.workers[0]};
  o.special_tokens_in_content = c.model_defaults.special_tokens_in_content;
  ASSIGN_OR_RETURN(o.cluster_token, cluster_token(args.token_file, c.cluster));
  ASSIGN_OR_RETURN(*cluster, ClusterModels::create(std::move(o)));
  (*cluster)->poll();
  std::vector<std::unique_ptr<ServedModel>> models = (*cluster)->take_new_models();
  if (models.empty()) {
    return unavailable_error("the worker at {} is not ready or serves no model (its log says why)", args.workers[0]);
  }
  return models;
}

// --models-dir / [on_demand]: the directory's models and the --model files (pinned unless
// [on_demand] pin_model_files = false) as ModelPool slots (gateway/model_directory.h).
Result<std::shared_ptr<ModelDirectory>> open_on_demand(const ServeConfig& c) {
  ModelDirectoryOptions o;
  o.dir = c.on_demand.dir;
  o.model = c.model_defaults;
  o.pool = c.on_demand.pool_options();
  o.rescan = c.on_demand.rescan;
  ASSIGN_OR_RETURN(std::shared_ptr<ModelDirectory> d, ModelDirectory::create(std::move(o)));
  for (const ServedModelOptions& m : c.models) RETURN_IF_ERROR(d->add_file(m, c.on_demand.pin_model_files));
  return d;
}

}  // namespace

// After the first SIGINT/SIGTERM: /ready turns 503, no new connection is accepted, idle ones close,
// and responses in flight (streams included) get `grace_s` seconds to finish before they are cut
// off (a cut stream ends as a client disconnect would: its conversation reply is saved as it
// stands). A second signal meanwhile exits at once with status 1.
void graceful_stop(HttpServer& server, Gateway* gateway, const sigset_t& signals, int sig, int grace_s) {
  if (gateway != nullptr) gateway->begin_shutdown();
  log_info("{} received: stopping; responses in flight get up to {} s (send it again to stop at once)",
           sig == SIGINT ? "SIGINT" : "SIGTERM", grace_s);
  std::atomic<bool> stopped{false};
  std::thread stopper([&server, &stopped, grace_s] {
    server.stop(std::chrono::seconds(grace_s));
    stopped.store(true);
  });
  while (!stopped.load()) {
    const timespec tick{0, 100'000'000};
    if (sigtimedwait(&signals, nullptr, &tick) > 0) {
      log_warn("second signal: stopping at once, without waiting for responses in flight");
      std::_Exit(kExitError);
    }
  }
  stopper.join();
}

namespace {

int run_serve(const ServeArgs& args, const CLI::App& cmd) {
  Result<ServeConfig> config = build_config(args, cmd);
  if (!config.ok()) return fail("serve", config.status());
  ServeConfig& a = *config;
  Result<std::shared_ptr<const StaticSite>> site = open_web_ui(a);  // first: a wrong --web-dir fails at once
  if (!site.ok()) return fail("serve", site.status());
  a.gateway.site = std::move(*site);
  const bool on_demand = a.on_demand.enabled() && args.workers.empty();
  const bool demo = a.models.empty() && args.workers.empty() && a.on_demand.dir.empty();
  if (demo) {
    Result<std::string> path = ensure_demo_model(a.data_dir);
    if (!path.ok()) return fail("serve", path.status());
    ServedModelOptions m = a.model_defaults;
    m.path = *path;
    m.id = std::string(kDemoId);
    m.demo = true;  // the web UI shows a banner: its replies are noise
    a.models.push_back(std::move(m));
    log_warn(
        "no model configured: serving the built-in demo model '{}' ({}). It has random weights, so its replies "
        "are noise; start with --model FILE.gguf (or [[models]] in --config) to serve a real model.",
        kDemoId, *path);
  }
  // Signals go to the main thread only: block them before any thread starts, then wait for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // The store first: a wrong --database fails in a second, not after loading the models.
  Result<std::unique_ptr<Accounts>> accounts = open_accounts(a);
  if (!accounts.ok()) return fail("serve", accounts.status());

  std::unique_ptr<ClusterModels> cluster;  // --worker: outlives the gateway (its routers use it)
  Result<std::vector<std::unique_ptr<ServedModel>>> remote = load_remote(args, a, &cluster);
  if (!remote.ok()) return fail("serve", remote.status());
  std::vector<std::unique_ptr<ServedModel>> models = std::move(*remote);
  std::shared_ptr<ModelDirectory> directory;
  if (on_demand) {
    Result<std::shared_ptr<ModelDirectory>> d = open_on_demand(a);
    if (!d.ok()) return fail("serve", d.status());
    directory = std::move(*d);
  }
  for (const ServedModelOptions& o :
       args.workers.empty() && !on_demand ? a.models : std::vector<ServedModelOptions>{}) {
    Result<std::unique_ptr<ServedModel>> m = ServedModel::load(o);
    if (!m.ok()) return fail("serve", m.status());
    for (const auto& other : models) {
      if (other->id() == (*m)->id())
        return fail("serve", invalid_argument_error("two models have the id '{}'; use --model-id", other->id()));
    }
    models.push_back(std::move(*m));
  }
  Result<std::shared_ptr<Tracer>> tracer = make_tracer(a.tracing, args.workers.empty() ? "serve" : "gateway");
  if (!tracer.ok()) return fail("serve", tracer.status());
  a.gateway.tracer = *tracer;
  const AuthMode mode = (*accounts)->mode();
  auto gateway = std::make_shared<Gateway>(std::move(models), a.gateway, std::move(*accounts));

  if (cluster) cluster->attach_metrics(gateway->metrics_registry());
  if (directory) {
    directory->attach(gateway->catalog());  // the catalog holds it from now on
    directory->attach_metrics(gateway->metrics_registry());
    directory.reset();
  }

  // Before "listening on": whoever waits for that line may rely on knowing who can connect.
  announce_auth(a, mode, *gateway->accounts());
  Result<std::unique_ptr<HttpServer>> server = serve_gateway(a.server, gateway);
  if (!server.ok()) return fail("serve", server.status());
  std::string ids;
  for (const auto& m : gateway->models()) ids += (ids.empty() ? "" : ", ") + m->id();
  announce_listening(a, (*server)->port(), ids);

  int sig = 0;
  if (cluster) {
    // --worker: models the worker starts serving later (a new file in its --models-dir) are served too.
    for (;;) {
      const timespec tick{1, 0};
      sig = sigtimedwait(&signals, nullptr, &tick);
      if (sig == SIGINT || sig == SIGTERM) break;
      cluster->add_new_models(gateway->catalog());
    }
  } else {
    sigwait(&signals, &sig);
  }
  graceful_stop(**server, gateway.get(), signals, sig, args.shutdown_grace_s);
  server->reset();
  gateway.reset();  // the store is closed last, after every reply was saved
  log_info("stopped");
  return kExitOk;
}

}  // namespace

void add_front_flags(CLI::App* cmd, ServeArgs* a) {
  ServeConfig& f = a->cli;
  f.server.max_body_bytes >>= 20;
  cmd->add_option("--config", a->config,
                  "TOML config file (docs/configuration.md); flags given on the command line override it")
      ->check(CLI::ExistingFile);
  cmd->add_option("--host", f.server.host, "Address to listen on (0.0.0.0 for every interface)")->capture_default_str();
  cmd->add_option("--port", f.server.port, "Port (0: any free port, printed at start-up)")->capture_default_str();
  cmd->add_option("--io-threads", f.server.io_threads, "HTTP I/O threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  cmd->add_option("--max-body-mib", f.server.max_body_bytes, "Largest request body, MiB")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--data", f.data_dir, "Data directory (the demo model is generated here)")->capture_default_str();
  cmd->add_option("--web-dir", f.web_dir,
                  "Serve the web UI from this directory, read on every request (development: web/dist while "
                  "`npm run build -- --watch` runs), instead of the files built into the binary");
  cmd->add_option("--tls-cert", f.server.tls_cert_file, "PEM certificate chain: serve HTTPS (with --tls-key)");
  cmd->add_option("--tls-key", f.server.tls_key_file, "PEM private key for --tls-cert");
  cmd->add_option("--database", a->database,
                  "Account store: postgres://... or sqlite:PATH (default: sqlite:<data>/parley.db)");
  add_shared_state_flags(cmd, &a->shared);
  cmd->add_option("--cluster-token-file", a->token_file,
                  "With workers: the file holding the cluster token (else PARLEY_CLUSTER_TOKEN, else [cluster] "
                  "token_file)");
  cmd->add_option("--shutdown-grace", a->shutdown_grace_s,
                  "Seconds SIGTERM (or SIGINT) gives responses in flight, streams included, before stopping; a "
                  "second signal stops at once")
      ->capture_default_str()
      ->check(CLI::Range(0, 3600));
  cmd->add_option("--otlp-endpoint", a->otlp_endpoint,
                  "Export traces over OTLP/HTTP to this collector (http://host:4318; else [tracing] otlp_endpoint; "
                  "none: off)");
  cmd->add_option("--auth", a->auth,
                  "none (every request is the local admin user) or required (API keys and sign-in). Default: none "
                  "when --host is loopback, required otherwise")
      ->check(CLI::IsMember({"none", "required"}));
}

void add_serve_command(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand(
      "serve",
      "Serve models over an OpenAI-compatible HTTP API (/v1/chat/completions, /v1/completions, /v1/models, /health, "
      "/ready, /metrics), the account and conversation API (/api/...) and the chat web UI (every other path). "
      "With no --model, "
      "serves a small built-in demo model with random weights.");
  add_front_flags(cmd, a.get());
  add_model_flags(cmd, &a->model_flags);
  cmd->add_option("--worker", a->workers,
                  "Serve the models of a `parley worker` at this URL (http://host:port) instead of loading any: "
                  "this process then holds no weights (docs/scaling.md; `parley gateway` routes over many)")
      ->expected(1);
  cmd->callback([a, cmd, exit_code] { *exit_code = run_serve(*a, *cmd); });
}

}  // namespace parley::cli
