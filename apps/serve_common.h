// What `parley serve` and `parley gateway` share: the user-facing flags and config, the store,
// the web UI, the start-up announcement (defined in cmd_serve.cpp).
#pragma once

#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include "apps/engine_flags.h"
#include "apps/shared_state_flags.h"
#include "gateway/accounts.h"
#include "gateway/gateway.h"
#include "gateway/serve_config.h"
#include "gateway/static_site.h"
#include "net/http_server.h"

namespace CLI {
class App;
}  // namespace CLI

namespace parley::cli {

struct ServeArgs {
  std::string config;
  ModelFlags model_flags;            // serve: --model, --model-id and the engine flags (shared with `parley worker`)
  std::string database;              // --database URL
  std::string auth;                  // --auth none|required
  std::vector<std::string> workers;  // --worker URL (serve: one; gateway: any number)
  std::string workers_dns;           // gateway: --workers dns:NAME:PORT
  std::string route_policy;          // gateway: --route-policy
  std::string token_file;            // --cluster-token-file
  std::string otlp_endpoint;         // --otlp-endpoint
  ServeConfig cli;                   // the flags' values; only flags given on the command line are applied
  SharedStateFlags shared;           // --database-replica, --redis
  int shutdown_grace_s = 10;         // --shutdown-grace
};

// The user-facing flags of serve and gateway (--config, --host, --port, TLS, --database, --auth,
// the web UI, --cluster-token-file).
void add_front_flags(CLI::App* cmd, ServeArgs* a);
// Defaults, then the --config file, then the flags given on the command line.
Result<ServeConfig> build_config(const ServeArgs& a, const CLI::App& cmd);
// The store (--database, [store] url, or SQLite in the data directory) and everything on it.
Result<std::unique_ptr<Accounts>> open_accounts(const ServeConfig& c);
// The web UI: --web-dir, else the files embedded at build time, else none.
Result<std::shared_ptr<const StaticSite>> open_web_ui(const ServeConfig& c);
// Says at start-up who can use the server.
void announce_auth(const ServeConfig& c, AuthMode mode, Accounts& accounts);
// After the first SIGINT/SIGTERM: /ready turns 503 (`gateway`, when there is one, stops taking
// requests), and responses in flight get `grace_s` seconds before they are cut off; a second
// signal exits at once with status 1.
void graceful_stop(HttpServer& server, Gateway* gateway, const sigset_t& signals, int sig, int grace_s);
// "listening on ..." and the chat UI's address.
void announce_listening(const ServeConfig& c, std::uint16_t port, const std::string& models);

}  // namespace parley::cli
