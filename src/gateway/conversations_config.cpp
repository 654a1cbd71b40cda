#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <optional>

#include "base/result.h"
#include "gateway/conversations_config_toml.h"

namespace parley {
namespace {

std::string where(const toml::node& node, std::string_view source) {
  const toml::source_region& r = node.source();
  return fmt::format("{}:{}:{}", source, r.begin.line, r.begin.column);
}

Result<std::optional<std::int64_t>> integer(const toml::table& t, std::string_view key, std::int64_t lo,
                                            std::int64_t hi, std::string_view source) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return std::optional<std::int64_t>();
  const std::optional<std::int64_t> v = n->value_exact<std::int64_t>();
  if (!v) return invalid_argument_error("{}: conversations.{} must be an integer", where(*n, source), key);
  if (*v < lo || *v > hi) {
    return invalid_argument_error("{}: conversations.{} = {} is out of range [{}, {}]", where(*n, source), key, *v, lo,
                                  hi);
  }
  return v;
}

}  // namespace

Status parse_conversations_config(const toml::table& t, std::string_view source, ReplyCheckpointOptions* out) {
  static constexpr std::string_view kKeys[] = {"checkpoint_interval_ms", "stale_stream_s"};
  for (const auto& [k, v] : t) {
    if (std::find(std::begin(kKeys), std::end(kKeys), k.str()) == std::end(kKeys)) {
      return invalid_argument_error("{}: unknown key conversations.{} (known: {})", where(v, source), k.str(),
                                    fmt::join(kKeys, ", "));
    }
  }
  ASSIGN_OR_RETURN(const auto interval, integer(t, "checkpoint_interval_ms", 0, 3'600'000, source));
  ASSIGN_OR_RETURN(const auto stale, integer(t, "stale_stream_s", 1, 86'400, source));
  if (interval) out->checkpoint_interval = std::chrono::milliseconds(*interval);
  if (stale) out->stale_after = std::chrono::seconds(*stale);
  if (out->checkpoint_interval.count() > 0 && out->stale_after <= 2 * out->checkpoint_interval) {
    return invalid_argument_error("{}: conversations.stale_stream_s must exceed twice checkpoint_interval_ms", source);
  }
  return ok_status();
}

}  // namespace parley
