#include "gateway/router_config.h"

#include <fmt/format.h>

#include <algorithm>

#include "gateway/router_config_toml.h"
#include "router/route_policy.h"

namespace parley {

namespace {

std::string where(const toml::node& node, std::string_view source) {
  const toml::source_region& r = node.source();
  return fmt::format("{}:{}:{}", source, r.begin.line, r.begin.column);
}

template <typename T>
Status integer(const toml::table& t, std::string_view key, std::int64_t lo, std::int64_t hi, std::string_view source,
               T* out) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return ok_status();
  const std::optional<std::int64_t> v = n->value_exact<std::int64_t>();
  if (!v) return invalid_argument_error("{}: router.{} must be an integer", where(*n, source), key);
  if (*v < lo || *v > hi) {
    return invalid_argument_error("{}: router.{} = {} is out of range [{}, {}]", where(*n, source), key, *v, lo, hi);
  }
  *out = static_cast<T>(*v);
  return ok_status();
}

}  // namespace

Status parse_router_config(const toml::table& t, std::string_view source, RouterConfig* out) {
  static constexpr std::string_view kKeys[] = {
      "policy",        "workers",      "health_interval_ms", "dns_interval_ms", "probe_timeout_ms",       "eject_after",
      "eject_base_ms", "eject_max_ms", "max_tries",          "load_bound_eps",  "index_blocks_per_worker"};
  for (const auto& [k, v] : t) {
    if (std::find(std::begin(kKeys), std::end(kKeys), k.str()) == std::end(kKeys)) {
      return invalid_argument_error("{}: unknown key router.{} (known: {})", where(v, source), k.str(),
                                    fmt::join(kKeys, ", "));
    }
  }
  if (const toml::node* n = t.get("policy")) {
    const std::optional<std::string> v = n->value_exact<std::string>();
    if (!v || !make_route_policy(*v).ok()) {
      return invalid_argument_error("{}: router.policy must be \"affinity\", \"least_loaded\" or \"round_robin\"",
                                    where(*n, source));
    }
    out->policy = *v;
  }
  if (const toml::node* n = t.get("workers")) {
    const toml::array* a = n->as_array();
    if (a == nullptr) return invalid_argument_error("{}: router.workers must be a list of strings", where(*n, source));
    std::vector<std::string> workers;
    for (const toml::node& e : *a) {
      const std::optional<std::string> v = e.value_exact<std::string>();
      if (!v || !(v->starts_with("http://") || v->starts_with("dns:"))) {
        return invalid_argument_error("{}: router.workers: each is \"http://host:port\" or \"dns:NAME:PORT\"",
                                      where(e, source));
      }
      workers.push_back(*v);
    }
    out->workers = std::move(workers);
  }
  constexpr std::int64_t kHour = 3'600'000;
  RETURN_IF_ERROR(integer(t, "health_interval_ms", 50, kHour, source, &out->health_interval_ms));
  RETURN_IF_ERROR(integer(t, "dns_interval_ms", 100, kHour, source, &out->dns_interval_ms));
  RETURN_IF_ERROR(integer(t, "probe_timeout_ms", 10, 60'000, source, &out->probe_timeout_ms));
  RETURN_IF_ERROR(integer(t, "eject_after", 1, 1000, source, &out->eject_after));
  RETURN_IF_ERROR(integer(t, "eject_base_ms", 1, kHour, source, &out->eject_base_ms));
  RETURN_IF_ERROR(integer(t, "eject_max_ms", 1, kHour, source, &out->eject_max_ms));
  RETURN_IF_ERROR(integer(t, "max_tries", 1, 16, source, &out->max_tries));
  RETURN_IF_ERROR(integer(t, "index_blocks_per_worker", 16, 1 << 24, source, &out->index_blocks_per_worker));
  if (const toml::node* n = t.get("load_bound_eps")) {
    std::optional<double> v = n->value<double>();  // an integer reads as a float too
    if (!v || !(*v >= 0 && *v <= 100)) {
      return invalid_argument_error("{}: router.load_bound_eps must be a number in [0, 100]", where(*n, source));
    }
    out->load_bound_eps = *v;
  }
  return ok_status();
}

WorkerRegistryOptions registry_options(const RouterConfig& c, const std::string& cluster_token) {
  WorkerRegistryOptions o;
  for (const std::string& w : c.workers) (w.starts_with("dns:") ? o.dns : o.urls).push_back(w);
  o.cluster_token = cluster_token;
  o.health_interval = std::chrono::milliseconds(c.health_interval_ms);
  o.dns_interval = std::chrono::milliseconds(c.dns_interval_ms);
  o.probe_timeout = std::chrono::milliseconds(c.probe_timeout_ms);
  o.eject_after = c.eject_after;
  o.eject_base = std::chrono::milliseconds(c.eject_base_ms);
  o.eject_max = std::chrono::milliseconds(c.eject_max_ms);
  return o;
}

}  // namespace parley
