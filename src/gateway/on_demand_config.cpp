#include "gateway/on_demand_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <filesystem>

#include "gateway/on_demand_config_toml.h"

namespace parley {

namespace {

std::string where(const toml::node& node, std::string_view source) {
  const toml::source_region& r = node.source();
  return fmt::format("{}:{}:{}", source, r.begin.line, r.begin.column);
}

Status number(const toml::table& t, std::string_view key, double lo, double hi, std::string_view source, double* out) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return ok_status();
  const std::optional<double> v = n->value<double>();
  if (!v || !(*v >= lo && *v <= hi)) {
    return invalid_argument_error("{}: on_demand.{} must be a number in [{}, {}]", where(*n, source), key, lo, hi);
  }
  *out = *v;
  return ok_status();
}

Status duration(const toml::table& t, std::string_view key, std::string_view source, std::chrono::milliseconds* out) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return ok_status();
  if (const std::optional<double> secs = n->value_exact<std::int64_t>() ? n->value<double>() : std::nullopt) {
    if (*secs < 0) return invalid_argument_error("{}: on_demand.{} must not be negative", where(*n, source), key);
    *out = std::chrono::milliseconds(static_cast<std::int64_t>(*secs * 1000));
    return ok_status();
  }
  const std::optional<std::string> s = n->value_exact<std::string>();
  Result<std::chrono::milliseconds> d = s ? parse_duration(*s) : invalid_argument_error("not a string");
  if (!d.ok()) {
    return invalid_argument_error("{}: on_demand.{} must be a duration (\"90s\", \"15m\", \"2h\") or seconds",
                                  where(*n, source), key);
  }
  *out = *d;
  return ok_status();
}

}  // namespace

ModelPoolOptions OnDemandConfig::pool_options() const {
  ModelPoolOptions o;
  o.memory_bytes = static_cast<std::int64_t>(memory_gib * double(std::int64_t{1} << 30));
  o.idle_unload = idle_unload;
  o.load_timeout = load_timeout;
  o.max_waiters = max_waiters;
  // Idle models are looked for often enough for the bound to hold within a few percent.
  o.housekeeping = idle_unload.count() > 0
                       ? std::clamp(idle_unload / 10, std::chrono::milliseconds(50), std::chrono::milliseconds(10'000))
                       : std::chrono::milliseconds(0);
  return o;
}

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr == text.data() || value < 0) {
    return invalid_argument_error("'{}' is not a duration (\"90s\", \"15m\", \"2h\")", text);
  }
  const std::string_view unit(ptr, static_cast<std::size_t>(end - ptr));
  double ms = 0;
  if (unit.empty() || unit == "s") {
    ms = value * 1000;
  } else if (unit == "ms") {
    ms = value;
  } else if (unit == "m") {
    ms = value * 60'000;
  } else if (unit == "h") {
    ms = value * 3'600'000;
  } else if (unit == "d") {
    ms = value * 86'400'000;
  } else {
    return invalid_argument_error("'{}' is not a duration (units: ms, s, m, h, d)", text);
  }
  if (ms > 365.0 * 86'400'000) return invalid_argument_error("'{}' is longer than a year", text);
  return std::chrono::milliseconds(static_cast<std::int64_t>(ms));
}

Status parse_on_demand_config(const toml::table& t, std::string_view source, const std::string& base_dir,
                              OnDemandConfig* out) {
  static constexpr std::string_view kKeys[] = {"dir",         "idle_unload", "memory_gib",     "load_timeout",
                                               "max_waiters", "rescan",      "pin_model_files"};
  for (const auto& [k, v] : t) {
    if (std::find(std::begin(kKeys), std::end(kKeys), k.str()) == std::end(kKeys)) {
      return invalid_argument_error("{}: unknown key on_demand.{} (known: {})", where(v, source), k.str(),
                                    fmt::join(kKeys, ", "));
    }
  }
  if (const toml::node* n = t.get("dir")) {
    const std::optional<std::string> v = n->value_exact<std::string>();
    if (!v || v->empty())
      return invalid_argument_error("{}: on_demand.dir must be a directory path", where(*n, source));
    const std::filesystem::path p(*v);
    out->dir = p.is_absolute() || base_dir.empty() ? *v : (std::filesystem::path(base_dir) / p).string();
  }
  RETURN_IF_ERROR(duration(t, "idle_unload", source, &out->idle_unload));
  RETURN_IF_ERROR(number(t, "memory_gib", 0, 1 << 20, source, &out->memory_gib));
  RETURN_IF_ERROR(duration(t, "load_timeout", source, &out->load_timeout));
  RETURN_IF_ERROR(duration(t, "rescan", source, &out->rescan));
  if (const toml::node* n = t.get("max_waiters")) {
    const std::optional<std::int64_t> v = n->value_exact<std::int64_t>();
    if (!v || *v < 1 || *v > 100'000) {
      return invalid_argument_error("{}: on_demand.max_waiters must be an integer in [1, 100000]", where(*n, source));
    }
    out->max_waiters = static_cast<std::int32_t>(*v);
  }
  if (const toml::node* n = t.get("pin_model_files")) {
    const std::optional<bool> v = n->value_exact<bool>();
    if (!v) return invalid_argument_error("{}: on_demand.pin_model_files must be true or false", where(*n, source));
    out->pin_model_files = *v;
  }
  if (out->load_timeout.count() <= 0)
    return invalid_argument_error("{}: on_demand.load_timeout must be positive", source);
  return ok_status();
}

}  // namespace parley
