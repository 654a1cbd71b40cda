// RouterConfig: how a gateway routes over its workers (`parley gateway`, `serve --worker`): the
// [router] section of parley.toml (docs/configuration.md) and the flags --worker, --workers,
// --route-policy. Parsed by router_config.cpp (router_config_toml.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "router/worker_registry.h"

namespace parley {

struct RouterConfig {
  std::string policy = "affinity";   // affinity | least_loaded | round_robin
  std::vector<std::string> workers;  // "http://host:port" and "dns:NAME:PORT"
  std::int64_t health_interval_ms = 1'000;
  std::int64_t dns_interval_ms = 5'000;
  std::int64_t probe_timeout_ms = 2'000;
  int eject_after = 3;
  std::int64_t eject_base_ms = 1'000;
  std::int64_t eject_max_ms = 60'000;
  int max_tries = 3;
  double load_bound_eps = 0.5;
  std::int64_t index_blocks_per_worker = 1 << 16;
};

// The registry's options for `config` (workers split into URLs and dns: specs).
WorkerRegistryOptions registry_options(const RouterConfig& config, const std::string& cluster_token);

}  // namespace parley
