#include "gateway/serve_config.h"

#include <fmt/core.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <set>
#include <toml++/toml.h>

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
      return invalid_argument_error("{}: {}{} = {} is out of range [{}, {}]", where(*n, source_), prefix_, key, *v, lo, hi);
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

constexpr std::string_view kEngineKeys = "threads, ctx, max_batch_tokens, max_running, max_waiting, kv_cache_mib, backend";

Status read_engine_keys(TableReader& r, ServedModelOptions* m) {
  RETURN_IF_ERROR(r.integer_as("threads", 0, 1024, &m->threads));
  RETURN_IF_ERROR(r.integer_as("ctx", 0, std::int64_t{1} << 24, &m->n_ctx));
  RETURN_IF_ERROR(r.integer_as("max_batch_tokens", 1, std::int64_t{1} << 20, &m->max_batch_tokens));
  RETURN_IF_ERROR(r.integer_as("max_running", 1, 4096, &m->max_running));
  RETURN_IF_ERROR(r.integer_as("max_waiting", 0, 1 << 20, &m->max_waiting));
  std::int64_t kv_mib = m->kv_cache_bytes >> 20;
  RETURN_IF_ERROR(r.integer("kv_cache_mib", 1, std::int64_t{1} << 24, &kv_mib));
  m->kv_cache_bytes = kv_mib << 20;
  RETURN_IF_ERROR(r.string("backend", &m->backend));
  return ok_status();
}

const toml::table* as_table(const toml::node* n) { return n == nullptr ? nullptr : n->as_table(); }

Status parse_document(const toml::table& doc, const std::string& base_dir, std::string_view source, ServeConfig* c) {
  TableReader top(doc, "", source);
  const toml::node* server = top.node("server");
  const toml::node* engine = top.node("engine");
  const toml::node* limits = top.node("limits");
  const toml::node* models = top.node("models");
  RETURN_IF_ERROR(top.finish("[server], [engine], [limits], [[models]]"));

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
    RETURN_IF_ERROR(r.integer_as("max_connections", 1, 1 << 20, &c->server.max_connections));
    RETURN_IF_ERROR(r.path("data", base_dir, &c->data_dir));
    RETURN_IF_ERROR(r.path("tls_cert", base_dir, &c->server.tls_cert_file));
    RETURN_IF_ERROR(r.path("tls_key", base_dir, &c->server.tls_key_file));
    RETURN_IF_ERROR(r.finish("host, port, io_threads, max_body_mib, max_connections, data, tls_cert, tls_key"));
    if (c->server.tls_cert_file.empty() != c->server.tls_key_file.empty()) {
      return invalid_argument_error("{}: server.tls_cert and server.tls_key go together", where(*server, source));
    }
  }
  if (engine != nullptr) {
    const toml::table* t = as_table(engine);
    if (t == nullptr) return invalid_argument_error("{}: 'engine' must be a table ([engine])", where(*engine, source));
    TableReader r(*t, "engine.", source);
    RETURN_IF_ERROR(read_engine_keys(r, &c->model_defaults));
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
    RETURN_IF_ERROR(r.finish("max_messages, max_stop, max_stop_bytes, max_n, max_prompts, max_json_depth"));
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
      RETURN_IF_ERROR(read_engine_keys(r, &m));
      RETURN_IF_ERROR(r.finish(fmt::format("path, id, {}", kEngineKeys)));
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
  if (m.threads < 0 || m.threads > 1024) return invalid_argument_error("threads = {} is out of range [0, 1024]", m.threads);
  if (m.n_ctx < 0) return invalid_argument_error("ctx = {} must be 0 (the model's) or positive", m.n_ctx);
  if (m.max_batch_tokens < 1) return invalid_argument_error("max_batch_tokens = {} must be positive", m.max_batch_tokens);
  if (m.max_running < 1) return invalid_argument_error("max_running = {} must be positive", m.max_running);
  if (m.max_waiting < 0) return invalid_argument_error("max_waiting = {} must not be negative", m.max_waiting);
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

}  // namespace parley
