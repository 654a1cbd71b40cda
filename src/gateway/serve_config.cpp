#include "gateway/serve_config.h"

#include <fmt/core.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <set>

#include "auth/csrf.h"
#include "gateway/conversations_config_toml.h"
#include "gateway/moderation_config.h"
#include "gateway/on_demand_config_toml.h"
#include "gateway/router_config_toml.h"
#include "obs/otlp_exporter.h"
#include "store/email.h"

namespace parley {
namespace {

std::string where(const toml::node& node, std::string_view source) {
  const toml::source_region& r = node.source();
  return fmt::format("{}:{}:{}", source, r.begin.line, r.begin.column);
}

// Reads the keys of one table, remembering which it consumed so that the rest can be reported.
class TableReader {
 public:
  TableReader(const toml::table& table, std::string prefix, std::string_view source)
      : table_(table), prefix_(std::move(prefix)), source_(source) {}

  Status integer(std::string_view key, std::int64_t lo, std::int64_t hi, std::int64_t* out) {
    const toml::node* n = take(key);
    if (n == nullptr) return ok_status();
    const std::optional<std::int64_t> v = n->value_exact<std::int64_t>();
    if (!v) return bad(*n, key, "an integer");
    if (*v < lo || *v > hi) {
      return invalid_argument_error("{}: {}{} = {} is out of range [{}, {}]", where(*n, source_), prefix_, key, *v, lo,
                                    hi);
    }
    *out = *v;
    return ok_status();
  }

  template <typename T>
  Status integer_as(std::string_view key, std::int64_t lo, std::int64_t hi, T* out) {
    std::int64_t v = static_cast<std::int64_t>(*out);
    RETURN_IF_ERROR(integer(key, lo, hi, &v));
    *out = static_cast<T>(v);
    return ok_status();
  }

  Status string(std::string_view key, std::string* out) {
    const toml::node* n = take(key);
    if (n == nullptr) return ok_status();
    const std::optional<std::string> v = n->value_exact<std::string>();
    if (!v) return bad(*n, key, "a string");
    *out = *v;
    return ok_status();
  }

  // A path: relative ones are taken from the config file's directory.
  Status path(std::string_view key, const std::string& base_dir, std::string* out) {
    std::string v;
    const bool present = table_.contains(key);
    RETURN_IF_ERROR(string(key, &v));
    if (!present) return ok_status();
    if (v.empty()) {
      *out = "";
      return ok_status();
    }
    const std::filesystem::path p(v);
    *out = p.is_absolute() || base_dir.empty() ? v : (std::filesystem::path(base_dir) / p).lexically_normal().string();
    return ok_status();
  }

  Status boolean(std::string_view key, bool* out) {
    const toml::node* n = take(key);
    if (n == nullptr) return ok_status();
    const std::optional<bool> v = n->value_exact<bool>();
    if (!v) return bad(*n, key, "true or false");
    *out = *v;
    return ok_status();
  }

  // A list of strings, each checked by `check` (which names what is wrong with it).
  Status string_list(std::string_view key, const std::function<Status(std::string_view)>& check,
                     std::vector<std::string>* out) {
    const toml::node* n = take(key);
    if (n == nullptr) return ok_status();
    const toml::array* a = n->as_array();
    if (a == nullptr) return bad(*n, key, "a list of strings");
    std::vector<std::string> values;
    for (const toml::node& e : *a) {
      const std::optional<std::string> v = e.value_exact<std::string>();
      if (!v) return bad(e, key, "a list of strings");
      if (Status st = check(*v); !st.ok()) {
        return invalid_argument_error("{}: {}{}: {}", where(e, source_), prefix_, key, st.message());
      }
      values.push_back(*v);
    }
    *out = std::move(values);
    return ok_status();
  }

  // A non-negative number, integer or float (prices, costs).
  Status number(std::string_view key, double hi, double* out) {
    const toml::node* n = take(key);
    if (n == nullptr) return ok_status();
    const std::optional<double> v = n->value<double>();
    if (!v || !(n->is_integer() || n->is_floating_point())) return bad(*n, key, "a number");
    if (!(*v >= 0 && *v <= hi)) {
      return invalid_argument_error("{}: {}{} = {} is out of range [0, {}]", where(*n, source_), prefix_, key, *v, hi);
    }
    *out = *v;
    return ok_status();
  }

  // A limit: an integer >= 0 (0 suspends), or "unlimited". `scale` multiplies a number (cost in
  // currency units -> micro-units), which may then be a float. Absent: *out is left alone.
  Status limit(std::string_view key, double scale, std::optional<auth::LimitValue>* out) {
    const toml::node* n = take(key);
    if (n == nullptr) return ok_status();
    if (const std::optional<std::string> s = n->value_exact<std::string>()) {
      if (*s != "unlimited") return bad(*n, key, "a number >= 0 or \"unlimited\"");
      *out = auth::LimitValue();
      return ok_status();
    }
    const std::optional<double> v = n->value<double>();
    if (!v || !(n->is_integer() || (scale != 1 && n->is_floating_point()))) {
      return bad(*n, key, scale != 1 ? "a number >= 0 or \"unlimited\"" : "an integer >= 0 or \"unlimited\"");
    }
    const double scaled = *v * scale;
    if (!(scaled >= 0 && scaled <= 1e15)) {
      return invalid_argument_error("{}: {}{} = {} is out of range", where(*n, source_), prefix_, key, *v);
    }
    *out = auth::LimitValue(n->is_integer() && scale == 1 ? *n->value_exact<std::int64_t>()
                                                          : static_cast<std::int64_t>(std::llround(scaled)));
    return ok_status();
  }

  const toml::node* node(std::string_view key) { return take(key); }

  // Every key not consumed is an error (with the keys this table knows, for typos).
  Status finish(std::string_view known) const {
    for (const auto& [key, value] : table_) {
      if (!taken_.contains(std::string(key.str()))) {
        return invalid_argument_error("{}: unknown key '{}{}' (known here: {})", where(value, source_), prefix_,
                                      key.str(), known);
      }
    }
    return ok_status();
  }

 private:
  const toml::node* take(std::string_view key) {
    taken_.insert(std::string(key));
    return table_.get(key);
  }
  Status bad(const toml::node& n, std::string_view key, std::string_view want) const {
    return invalid_argument_error("{}: {}{} must be {}", where(n, source_), prefix_, key, want);
  }

  const toml::table& table_;
  std::string prefix_;
  std::string_view source_;
  std::set<std::string> taken_;
};

constexpr std::string_view kEngineKeys =
    "threads, ctx, max_batch_tokens, max_running, max_waiting, kv_cache_mib, kv_type, backend, target_itl_ms, "
    "max_prefill_per_tenant, kv_disk_gib, kv_disk_dir";

Status read_engine_keys(TableReader& r, const std::string& base_dir, ServedModelOptions* m) {
  RETURN_IF_ERROR(r.integer_as("threads", 0, 1024, &m->threads));
  RETURN_IF_ERROR(r.integer_as("ctx", 0, std::int64_t{1} << 24, &m->n_ctx));
  RETURN_IF_ERROR(r.integer_as("max_batch_tokens", 1, std::int64_t{1} << 20, &m->max_batch_tokens));
  RETURN_IF_ERROR(r.integer_as("max_running", 1, 4096, &m->max_running));
  RETURN_IF_ERROR(r.integer_as("max_waiting", 0, 1 << 20, &m->max_waiting));
  std::int64_t kv_mib = m->kv_cache_bytes >> 20;
  RETURN_IF_ERROR(r.integer("kv_cache_mib", 1, std::int64_t{1} << 24, &kv_mib));
  m->kv_cache_bytes = kv_mib << 20;
  std::string kv_type(tensor_type_name(m->kv_type));
  RETURN_IF_ERROR(r.string("kv_type", &kv_type));
  ASSIGN_OR_RETURN(m->kv_type, parse_kv_type(kv_type));
  RETURN_IF_ERROR(r.string("backend", &m->backend));
  RETURN_IF_ERROR(r.number("target_itl_ms", 1e6, &m->target_itl_ms));
  RETURN_IF_ERROR(r.integer_as("max_prefill_per_tenant", 0, 4096, &m->max_prefill_per_tenant));
  double kv_disk_gib = static_cast<double>(m->kv_disk_bytes) / double(1 << 30);
  RETURN_IF_ERROR(r.number("kv_disk_gib", 1e6, &kv_disk_gib));
  m->kv_disk_bytes = static_cast<std::int64_t>(kv_disk_gib * double(1 << 30));
  RETURN_IF_ERROR(r.path("kv_disk_dir", base_dir, &m->kv_disk_dir));
  return ok_status();
}

const toml::table* as_table(const toml::node* n) {
  return n == nullptr ? nullptr : n->as_table();
}

Result<const toml::table*> table_at(const toml::node& n, std::string_view name, std::string_view source) {
  const toml::table* t = n.as_table();
  if (t == nullptr) return invalid_argument_error("{}: '{}' must be a table ([{}])", where(n, source), name, name);
  return t;
}

constexpr std::string_view kLimitKeys =
    "requests_per_minute, tokens_per_minute, tokens_per_day, tokens_per_month, cost_per_day, cost_per_month";

// One [limits.roles.*] or [limits.users.*] table. Costs are in currency units, kept in micro-units.
Status read_limit_table(const toml::table& t, std::string prefix, std::string_view source, auth::LimitOverrides* o) {
  TableReader r(t, std::move(prefix), source);
  RETURN_IF_ERROR(r.limit("requests_per_minute", 1, &o->requests_per_minute));
  RETURN_IF_ERROR(r.limit("tokens_per_minute", 1, &o->tokens_per_minute));
  RETURN_IF_ERROR(r.limit("tokens_per_day", 1, &o->tokens_per_day));
  RETURN_IF_ERROR(r.limit("tokens_per_month", 1, &o->tokens_per_month));
  RETURN_IF_ERROR(r.limit("cost_per_day", 1e6, &o->cost_micros_per_day));
  RETURN_IF_ERROR(r.limit("cost_per_month", 1e6, &o->cost_micros_per_month));
  return r.finish(kLimitKeys);
}

// The account parts of [limits]: roles, users, keys (the rest of the table is ApiLimits).
Status read_usage_limits(TableReader& limits, std::string_view source, UsageLimitsConfig* u) {
  if (const toml::node* roles = limits.node("roles")) {
    ASSIGN_OR_RETURN(const toml::table* t, table_at(*roles, "limits.roles", source));
    TableReader r(*t, "limits.roles.", source);
    for (const auto role : {auth::Role::kUser, auth::Role::kAdmin}) {
      const std::string name(auth::role_name(role));
      if (const toml::node* n = r.node(name)) {
        ASSIGN_OR_RETURN(const toml::table* rt, table_at(*n, "limits.roles." + name, source));
        auth::LimitOverrides o;
        RETURN_IF_ERROR(read_limit_table(*rt, "limits.roles." + name + ".", source, &o));
        auth::Limits& l = role == auth::Role::kAdmin ? u->roles.admin : u->roles.user;
        l = auth::resolve_limits(l, o);
      }
    }
    RETURN_IF_ERROR(r.finish("user, admin"));
  }
  if (const toml::node* users = limits.node("users")) {
    ASSIGN_OR_RETURN(const toml::table* t, table_at(*users, "limits.users", source));
    for (const auto& [key, value] : *t) {
      const std::string email(key.str());
      if (email.find('@') == std::string::npos) {
        return invalid_argument_error("{}: limits.users.\"{}\": the key must be a user's email", where(value, source),
                                      email);
      }
      ASSIGN_OR_RETURN(const toml::table* ut, table_at(value, "limits.users", source));
      RETURN_IF_ERROR(read_limit_table(*ut, fmt::format("limits.users.\"{}\".", email), source,
                                       &u->users[store::normalize_email(email)]));
    }
  }
  if (const toml::node* keys = limits.node("keys")) {
    ASSIGN_OR_RETURN(const toml::table* t, table_at(*keys, "limits.keys", source));
    TableReader r(*t, "limits.keys.", source);
    std::optional<auth::LimitValue> rpm, tpm;
    RETURN_IF_ERROR(r.limit("requests_per_minute", 1, &rpm));
    RETURN_IF_ERROR(r.limit("tokens_per_minute", 1, &tpm));
    RETURN_IF_ERROR(r.finish("requests_per_minute, tokens_per_minute"));
    if (rpm) u->key_requests_per_minute = *rpm;
    if (tpm) u->key_tokens_per_minute = *tpm;
  }
  return ok_status();
}

bool is_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); });
}

Status read_auth(const toml::table& t, std::string_view source, AuthConfig* a) {
  TableReader r(t, "auth.", source);
  if (const toml::node* mode = r.node("mode")) {
    const std::optional<std::string> m = mode->value_exact<std::string>();
    if (m == "none") {
      a->mode = AuthMode::kNone;
    } else if (m == "required") {
      a->mode = AuthMode::kRequired;
    } else {
      return invalid_argument_error("{}: auth.mode must be \"none\" or \"required\"", where(*mode, source));
    }
  }
  RETURN_IF_ERROR(r.boolean("signup", &a->signup));
  RETURN_IF_ERROR(r.integer("session_days", 1, 3650, &a->session_days));
  RETURN_IF_ERROR(r.boolean("secure_cookies", &a->secure_cookies));
  if (const toml::node* key = t.get("csrf_key")) {
    RETURN_IF_ERROR(r.string("csrf_key", &a->csrf_key_hex));
    if (!a->csrf_key_hex.empty() &&  // empty: a random key per start, as when absent
        (a->csrf_key_hex.size() < 2 * auth::kCsrfKeyBytesMin || a->csrf_key_hex.size() % 2 != 0 ||
         !is_hex(a->csrf_key_hex))) {
      // The message does not echo the value: it is a secret.
      return invalid_argument_error("{}: auth.csrf_key must be at least {} hexadecimal characters (an even number)",
                                    where(*key, source), 2 * auth::kCsrfKeyBytesMin);
    }
  }
  std::int64_t mem_mib = static_cast<std::int64_t>(a->password.mem_limit_bytes >> 20);
  RETURN_IF_ERROR(r.integer("password_memory_mib", 8, 4096, &mem_mib));
  a->password.mem_limit_bytes = static_cast<std::size_t>(mem_mib) << 20;
  std::int64_t passes = static_cast<std::int64_t>(a->password.ops_limit);
  RETURN_IF_ERROR(r.integer("password_passes", 1, 16, &passes));
  a->password.ops_limit = static_cast<std::uint64_t>(passes);
  RETURN_IF_ERROR(r.integer_as("password_workers", 1, 64, &a->password_workers));
  RETURN_IF_ERROR(r.integer("login_per_minute_ip", 1, 1 << 20, &a->login_per_minute_ip));
  RETURN_IF_ERROR(r.integer("login_per_minute_account", 1, 1 << 20, &a->login_per_minute_account));
  RETURN_IF_ERROR(r.integer("login_per_hour_account", 1, 1 << 20, &a->login_per_hour_account));
  return r.finish(
      "mode, signup, session_days, secure_cookies, csrf_key, password_memory_mib, password_passes, password_workers, "
      "login_per_minute_ip, login_per_minute_account, login_per_hour_account");
}

Status read_prices(const toml::table& t, std::string_view source, PriceTable* prices) {
  for (const auto& [key, value] : t) {
    const std::string model(key.str());
    ASSIGN_OR_RETURN(const toml::table* pt, table_at(value, "prices." + model, source));
    TableReader r(*pt, fmt::format("prices.\"{}\".", model), source);
    ModelPrice& p = (*prices)[model];
    RETURN_IF_ERROR(r.number("prompt_per_million", 1e6, &p.prompt_per_million));
    RETURN_IF_ERROR(r.number("completion_per_million", 1e6, &p.completion_per_million));
    RETURN_IF_ERROR(r.finish("prompt_per_million, completion_per_million"));
  }
  return ok_status();
}

// [priority]: the default class of each role's OpenAI API requests, "interactive" or "batch".
Status read_role_priorities(const toml::table& t, std::string_view source, RolePriorities* out) {
  TableReader r(t, "priority.", source);
  for (const auth::Role role : {auth::Role::kUser, auth::Role::kAdmin}) {
    const std::string key(auth::role_name(role));
    const toml::node* n = r.node(key);
    if (n == nullptr) continue;
    const std::optional<std::string> v = n->value_exact<std::string>();
    const std::optional<Priority> p = v ? parse_priority(*v) : std::nullopt;
    if (!p)
      return invalid_argument_error("{}: priority.{} must be \"interactive\" or \"batch\"", where(*n, source), key);
    (role == auth::Role::kAdmin ? out->admin : out->user) = *p;
  }
  return r.finish("user, admin");
}

// The exporter of [tracing] (checks the endpoint; no connection is made). None without an endpoint.
Result<std::unique_ptr<OtlpHttpExporter>> tracing_exporter(const TracingConfig& config, std::string_view role) {
  if (config.otlp_endpoint.empty()) return std::unique_ptr<OtlpHttpExporter>();
  OtlpExporterOptions o;
  o.endpoint = config.otlp_endpoint;
  o.service_name = config.service_name.empty() ? fmt::format("parley-{}", role) : config.service_name;
  Result<std::unique_ptr<OtlpHttpExporter>> exporter = OtlpHttpExporter::create(o);
  if (!exporter.ok()) {
    return invalid_argument_error("tracing.otlp_endpoint '{}': {}", config.otlp_endpoint, exporter.status().message());
  }
  return exporter;
}

Status parse_document(const toml::table& doc, const std::string& base_dir, std::string_view source, ServeConfig* c) {
  TableReader top(doc, "", source);
  const toml::node* server = top.node("server");
  const toml::node* engine = top.node("engine");
  const toml::node* limits = top.node("limits");
  const toml::node* models = top.node("models");
  const toml::node* store = top.node("store");
  const toml::node* auth = top.node("auth");
  const toml::node* prices = top.node("prices");
  const toml::node* priority = top.node("priority");
  const toml::node* cluster = top.node("cluster");
  const toml::node* redis = top.node("redis");
  const toml::node* router = top.node("router");
  const toml::node* moderation = top.node("moderation");
  const toml::node* tracing = top.node("tracing");
  const toml::node* on_demand = top.node("on_demand");
  const toml::node* conversations = top.node("conversations");
  RETURN_IF_ERROR(
      top.finish("[server], [engine], [limits], [[models]], [store], [auth], [prices], [priority], [cluster], [redis], "
                 "[router], [moderation], [tracing], [on_demand], [conversations]"));
  if (on_demand != nullptr) {
    ASSIGN_OR_RETURN(const toml::table* t, table_at(*on_demand, "on_demand", source));
    RETURN_IF_ERROR(parse_on_demand_config(*t, source, base_dir, &c->on_demand));
  }
  if (conversations != nullptr) {
    ASSIGN_OR_RETURN(const toml::table* t, table_at(*conversations, "conversations", source));
    RETURN_IF_ERROR(parse_conversations_config(*t, source, &c->gateway.checkpoints));
  }
  if (moderation != nullptr)
    RETURN_IF_ERROR(read_moderation_config(*moderation, source, &c->gateway.moderation, &c->gateway.guard));

  if (tracing != nullptr) {
    ASSIGN_OR_RETURN(const toml::table* t, table_at(*tracing, "tracing", source));
    TableReader r(*t, "tracing.", source);
    RETURN_IF_ERROR(r.string("otlp_endpoint", &c->tracing.otlp_endpoint));
    RETURN_IF_ERROR(r.string("service_name", &c->tracing.service_name));
    RETURN_IF_ERROR(r.number("sample_ratio", 1.0, &c->tracing.sample_ratio));
    RETURN_IF_ERROR(r.finish("otlp_endpoint, service_name, sample_ratio"));
    RETURN_IF_ERROR(tracing_exporter(c->tracing, "").status());
  }
  if (router != nullptr) {
    ASSIGN_OR_RETURN(const toml::table* t, table_at(*router, "router", source));
    RETURN_IF_ERROR(parse_router_config(*t, source, &c->router));
  }
  if (redis != nullptr) {
    ASSIGN_OR_RETURN(const toml::table* t, table_at(*redis, "redis", source));
    TableReader r(*t, "redis.", source);
    RedisConfig& rc = c->accounts.redis;
    RETURN_IF_ERROR(r.string("url", &rc.url));
    RETURN_IF_ERROR(r.integer("connect_timeout_ms", 1, 60'000, &rc.connect_timeout_ms));
    RETURN_IF_ERROR(r.integer("command_timeout_ms", 1, 60'000, &rc.command_timeout_ms));
    RETURN_IF_ERROR(r.integer("pool_size", 1, 1024, &rc.pool_size));
    RETURN_IF_ERROR(r.string("key_prefix", &rc.key_prefix));
    RETURN_IF_ERROR(r.finish("url, connect_timeout_ms, command_timeout_ms, pool_size, key_prefix"));
  }

  if (cluster != nullptr) {
    ASSIGN_OR_RETURN(const toml::table* t, table_at(*cluster, "cluster", source));
    TableReader r(*t, "cluster.", source);
    RETURN_IF_ERROR(r.path("token_file", base_dir, &c->cluster.token_file));
    RETURN_IF_ERROR(r.finish("token_file"));
  }

  if (priority != nullptr) {
    ASSIGN_OR_RETURN(const toml::table* t, table_at(*priority, "priority", source));
    RETURN_IF_ERROR(read_role_priorities(*t, source, &c->gateway.role_priority));
  }
  if (store != nullptr) {
    ASSIGN_OR_RETURN(const toml::table* t, table_at(*store, "store", source));
    TableReader r(*t, "store.", source);
    RETURN_IF_ERROR(r.string("url", &c->accounts.store_url));
    ReplicaConfig& rep = c->accounts.replicas;
    const auto postgres_url = [](std::string_view u) {
      return u.starts_with("postgres://") || u.starts_with("postgresql://")
                 ? ok_status()
                 : invalid_argument_error("a replica must be a postgres:// URL");
    };
    RETURN_IF_ERROR(r.string_list("replicas", postgres_url, &rep.urls));
    RETURN_IF_ERROR(r.integer("replica_max_lag_ms", 1, 3'600'000, &rep.max_lag_ms));
    RETURN_IF_ERROR(r.integer("replica_check_interval_ms", 0, 60'000, &rep.check_interval_ms));
    RETURN_IF_ERROR(r.integer("replica_retry_ms", 1, 3'600'000, &rep.retry_ms));
    RETURN_IF_ERROR(r.finish("url, replicas, replica_max_lag_ms, replica_check_interval_ms, replica_retry_ms"));
  }
  if (auth != nullptr) {
    ASSIGN_OR_RETURN(const toml::table* t, table_at(*auth, "auth", source));
    RETURN_IF_ERROR(read_auth(*t, source, &c->accounts.auth));
  }
  if (prices != nullptr) {
    ASSIGN_OR_RETURN(const toml::table* t, table_at(*prices, "prices", source));
    RETURN_IF_ERROR(read_prices(*t, source, &c->accounts.prices));
  }

  if (server != nullptr) {
    const toml::table* t = as_table(server);
    if (t == nullptr) return invalid_argument_error("{}: 'server' must be a table ([server])", where(*server, source));
    TableReader r(*t, "server.", source);
    RETURN_IF_ERROR(r.string("host", &c->server.host));
    RETURN_IF_ERROR(r.integer_as("port", 0, 65535, &c->server.port));
    RETURN_IF_ERROR(r.integer_as("io_threads", 1, 256, &c->server.io_threads));
    std::int64_t body_mib = static_cast<std::int64_t>(c->server.max_body_bytes >> 20);
    RETURN_IF_ERROR(r.integer("max_body_mib", 1, 1024, &body_mib));
    c->server.max_body_bytes = static_cast<std::size_t>(body_mib) << 20;
    std::int64_t in_flight_mib = static_cast<std::int64_t>(c->server.max_body_bytes_in_flight >> 20);
    RETURN_IF_ERROR(r.integer("max_body_in_flight_mib", 1, 1 << 20, &in_flight_mib));
    c->server.max_body_bytes_in_flight = static_cast<std::size_t>(in_flight_mib) << 20;
    std::int64_t per_address_mib = static_cast<std::int64_t>(c->server.max_body_bytes_per_address >> 20);
    RETURN_IF_ERROR(r.integer("max_body_per_address_mib", 1, 1 << 20, &per_address_mib));
    c->server.max_body_bytes_per_address = static_cast<std::size_t>(per_address_mib) << 20;
    RETURN_IF_ERROR(r.integer_as("max_connections", 1, 1 << 20, &c->server.max_connections));
    RETURN_IF_ERROR(r.path("data", base_dir, &c->data_dir));
    RETURN_IF_ERROR(r.path("tls_cert", base_dir, &c->server.tls_cert_file));
    RETURN_IF_ERROR(r.path("tls_key", base_dir, &c->server.tls_key_file));
    RETURN_IF_ERROR(r.path("web_dir", base_dir, &c->web_dir));
    RETURN_IF_ERROR(r.string_list("allowed_hosts", validate_allowed_host, &c->gateway.allowed_hosts));
    RETURN_IF_ERROR(r.string_list("allowed_origins", validate_allowed_origin, &c->gateway.allowed_origins));
    std::int64_t trim_s = std::chrono::duration_cast<std::chrono::seconds>(c->gateway.memory_trim_interval).count();
    RETURN_IF_ERROR(r.integer("memory_trim_seconds", 0, 86400, &trim_s));
    c->gateway.memory_trim_interval = std::chrono::seconds(trim_s);
    RETURN_IF_ERROR(
        r.finish("host, port, io_threads, max_body_mib, max_body_in_flight_mib, max_body_per_address_mib, "
                 "max_connections, data, tls_cert, tls_key, web_dir, allowed_hosts, allowed_origins, "
                 "memory_trim_seconds"));
    if (c->server.tls_cert_file.empty() != c->server.tls_key_file.empty()) {
      return invalid_argument_error("{}: server.tls_cert and server.tls_key go together", where(*server, source));
    }
  }
  if (engine != nullptr) {
    const toml::table* t = as_table(engine);
    if (t == nullptr) return invalid_argument_error("{}: 'engine' must be a table ([engine])", where(*engine, source));
    TableReader r(*t, "engine.", source);
    RETURN_IF_ERROR(read_engine_keys(r, base_dir, &c->model_defaults));
    RETURN_IF_ERROR(r.finish(kEngineKeys));
  }
  if (limits != nullptr) {
    const toml::table* t = as_table(limits);
    if (t == nullptr) return invalid_argument_error("{}: 'limits' must be a table ([limits])", where(*limits, source));
    TableReader r(*t, "limits.", source);
    ApiLimits& l = c->gateway.limits;
    RETURN_IF_ERROR(r.integer_as("max_messages", 1, 1 << 20, &l.max_messages));
    RETURN_IF_ERROR(r.integer_as("max_stop", 0, 64, &l.max_stop));
    RETURN_IF_ERROR(r.integer_as("max_stop_bytes", 1, 1 << 16, &l.max_stop_bytes));
    RETURN_IF_ERROR(r.integer_as("max_n", 1, 128, &l.max_n));
    RETURN_IF_ERROR(r.integer_as("max_prompts", 1, 4096, &l.max_prompts));
    RETURN_IF_ERROR(r.integer_as("max_json_depth", 4, 512, &l.max_json_depth));
    RETURN_IF_ERROR(read_usage_limits(r, source, &c->accounts.limits));
    RETURN_IF_ERROR(
        r.finish("max_messages, max_stop, max_stop_bytes, max_n, max_prompts, max_json_depth, roles, users, keys"));
  }
  if (models != nullptr) {
    const toml::array* list = models->as_array();
    if (list == nullptr) {
      return invalid_argument_error("{}: 'models' must be an array of tables ([[models]])", where(*models, source));
    }
    for (std::size_t i = 0; i < list->size(); ++i) {
      const toml::node& entry = *list->get(i);
      const toml::table* t = entry.as_table();
      if (t == nullptr) return invalid_argument_error("{}: models[{}] must be a table", where(entry, source), i);
      TableReader r(*t, fmt::format("models[{}].", i), source);
      ServedModelOptions m = c->model_defaults;
      RETURN_IF_ERROR(r.path("path", base_dir, &m.path));
      RETURN_IF_ERROR(r.string("id", &m.id));
      RETURN_IF_ERROR(read_engine_keys(r, base_dir, &m));
      RETURN_IF_ERROR(r.boolean("special_tokens_in_content", &m.special_tokens_in_content));
      RETURN_IF_ERROR(r.finish(fmt::format("path, id, {}, special_tokens_in_content", kEngineKeys)));
      if (m.path.empty()) return invalid_argument_error("{}: models[{}] needs a path", where(entry, source), i);
      c->models.push_back(std::move(m));
    }
  }
  RETURN_IF_ERROR(validate_model_options(c->model_defaults).with_context("[engine]"));
  for (std::size_t i = 0; i < c->models.size(); ++i) {
    RETURN_IF_ERROR(validate_model_options(c->models[i]).with_context(fmt::format("models[{}]", i)));
  }
  return ok_status();
}

}  // namespace

Status validate_model_options(const ServedModelOptions& m) {
  if (m.threads < 0 || m.threads > 1024)
    return invalid_argument_error("threads = {} is out of range [0, 1024]", m.threads);
  if (m.n_ctx < 0) return invalid_argument_error("ctx = {} must be 0 (the model's) or positive", m.n_ctx);
  if (m.max_batch_tokens < 1)
    return invalid_argument_error("max_batch_tokens = {} must be positive", m.max_batch_tokens);
  if (m.max_running < 1) return invalid_argument_error("max_running = {} must be positive", m.max_running);
  if (m.max_waiting < 0) return invalid_argument_error("max_waiting = {} must not be negative", m.max_waiting);
  if (m.max_prefill_per_tenant < 0)
    return invalid_argument_error("max_prefill_per_tenant = {} must not be negative", m.max_prefill_per_tenant);
  if (m.kv_cache_bytes < (std::int64_t{1} << 20)) return invalid_argument_error("the KV cache needs at least 1 MiB");
  if (m.backend != "cpu" && m.backend != "reference") {
    return invalid_argument_error("backend '{}' is not one of: cpu, reference", m.backend);
  }
  return ok_status();
}

Result<ServeConfig> parse_serve_config(std::string_view text, const std::string& base_dir, std::string_view source) {
  if (text.size() > kMaxConfigFileBytes) {
    return invalid_argument_error("{}: {} bytes is more than a config file may have ({})", source, text.size(),
                                  kMaxConfigFileBytes);
  }
  toml::table doc;
  try {
    doc = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return invalid_argument_error("{}:{}:{}: {}", source, e.source().begin.line, e.source().begin.column,
                                  e.description());
  }
  ServeConfig c;
  RETURN_IF_ERROR(parse_document(doc, base_dir, source, &c));
  return c;
}

Result<ServeConfig> load_serve_config(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) return errno_error("open the config file", path, errno);
  std::string text;
  char buf[65536];
  std::size_t got = 0;
  while ((got = std::fread(buf, 1, sizeof buf, f.get())) > 0) {
    text.append(buf, got);
    if (text.size() > kMaxConfigFileBytes) {
      return invalid_argument_error("{}: larger than a config file may be ({} bytes)", path, kMaxConfigFileBytes);
    }
  }
  if (std::ferror(f.get())) return errno_error("read the config file", path, errno);
  const std::string base_dir = std::filesystem::absolute(std::filesystem::path(path)).parent_path().string();
  return parse_serve_config(text, base_dir, path);
}

Result<std::shared_ptr<Tracer>> make_tracer(const TracingConfig& config, std::string_view role) {
  if (config.otlp_endpoint.empty()) return std::shared_ptr<Tracer>();
  ASSIGN_OR_RETURN(std::unique_ptr<OtlpHttpExporter> exporter, tracing_exporter(config, role));
  TracerOptions t;
  t.service_name = config.service_name.empty() ? fmt::format("parley-{}", role) : config.service_name;
  t.sample_ratio = config.sample_ratio;
  return Tracer::create(t, std::move(exporter));
}

}  // namespace parley
