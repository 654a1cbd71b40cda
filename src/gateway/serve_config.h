// ServeConfig: everything `parley serve` is configured with, from a TOML file (`--config
// parley.toml`) and/or command-line flags. docs/configuration.md describes the file; every key
// there maps to one field here.
//
//   [server]   host, port, io_threads, max_body_mib, max_body_in_flight_mib, max_body_per_address_mib,
//              max_connections, data, tls_cert, tls_key, web_dir, allowed_hosts, allowed_origins,
//              memory_trim_seconds
//   [engine]   defaults for every model: threads, ctx, max_batch_tokens, max_running, max_waiting,
//              kv_cache_mib, backend
//   [limits]   request limits of the API (ApiLimits)
//   [[models]] path (required), id, special_tokens_in_content, and any [engine] key to override
//              it for that model
//   [store]    url, replicas, replica_*;  [redis] url, timeouts, pool_size, key_prefix
//   [auth]     mode, signup, sessions, CSRF key, password cost, log-in limits
//   [limits.roles.user|admin], [limits.users."email"], [limits.keys]: rates and quotas
//   [prices."model-id"] prompt_per_million, completion_per_million
//   [cluster]  token_file: the shared cluster token of the internal API (`parley worker`)
//   [router]   policy, workers, health and ejection settings of `parley gateway` (gateway/router_config.h)
//   [tracing]  otlp_endpoint, service_name, sample_ratio
//   [on_demand] dir, idle_unload, memory_gib, load_timeout, max_waiters, rescan, pin_model_files
//
// Unknown sections and keys, wrong types and out-of-range values are errors naming the key and
// its line: a typo in a config file must not silently fall back to a default.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/status.h"
#include "gateway/accounts_config.h"
#include "gateway/gateway.h"
#include "gateway/on_demand_config.h"
#include "gateway/router_config.h"
#include "gateway/served_model.h"
#include "net/http_server.h"

namespace parley {

// The internal API between gateways and workers (docs/scaling.md).
struct ClusterConfig {
  std::string token_file;  // the shared cluster token (one line); "" = none
};

// [tracing]: spans exported over OTLP/HTTP (obs/trace.h); off while otlp_endpoint is empty.
struct TracingConfig {
  std::string otlp_endpoint;  // http://collector:4318
  std::string service_name;   // "" = "parley-<role>" (serve, gateway, worker)
  double sample_ratio = 1.0;  // of new traces (a caller's sampled flag is followed)
};

// The tracer of `config` for `role`, or null when tracing is off. kInvalidArgument: a bad endpoint.
Result<std::shared_ptr<Tracer>> make_tracer(const TracingConfig& config, std::string_view role);

struct ServeConfig {
  HttpServerOptions server;
  std::string data_dir = "data";           // the demo model is generated here
  std::string web_dir;                     // serve the web UI from here, read per request (empty: embedded)
  ServedModelOptions model_defaults;       // [engine]: the base of every model entry
  std::vector<ServedModelOptions> models;  // empty: serve the built-in demo model
  GatewayOptions gateway;
  AccountsConfig accounts;   // [store], [auth], account limits, [prices]
  ClusterConfig cluster;     // [cluster]
  RouterConfig router;       // [router]
  TracingConfig tracing;     // [tracing]
  OnDemandConfig on_demand;  // [on_demand]: models loaded on demand (gateway/on_demand_config.h)
};

inline constexpr std::size_t kMaxConfigFileBytes = 1 << 20;

// Parses a config document. Relative paths in it (model files, data, TLS files) are resolved
// against `base_dir` (the file's directory); `source` names the document in errors.
Result<ServeConfig> parse_serve_config(std::string_view text, const std::string& base_dir, std::string_view source);

// Reads and parses a config file (at most kMaxConfigFileBytes).
Result<ServeConfig> load_serve_config(const std::string& path);

// Checks the ranges of one model's engine settings (shared by the file and the command line).
Status validate_model_options(const ServedModelOptions& options);

}  // namespace parley
