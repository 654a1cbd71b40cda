// Logging. Human-readable text on a terminal by default; one JSON object per line when asked
// (`--log-format json` or PARLEY_LOG_FORMAT=json), for log shippers. Thread-safe.
//
//   log_info("loaded {} tensors", n);
//   log_event(LogLevel::kInfo, "request done", {{"request_id", id}, {"tokens_out", 42}});
//
// spdlog does the I/O; only log.cpp includes it, so this header stays light.
#pragma once

#include <fmt/core.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

#include "base/status.h"

namespace parley {

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError, kOff };
enum class LogFormat { kText, kJson };

struct LogOptions {
  LogLevel level = LogLevel::kInfo;
  LogFormat format = LogFormat::kText;
};

// Parses "trace|debug|info|warn|error|off" and "text|json".
Status parse_log_level(std::string_view name, LogLevel* out);
Status parse_log_format(std::string_view name, LogFormat* out);

// Installs the process-wide logger (stderr). Safe to call again to change settings; not meant
// to race with itself (the CLI calls it once at start-up).
void init_logging(const LogOptions& options);

// `defaults` with PARLEY_LOG_LEVEL / PARLEY_LOG_FORMAT applied where set and valid.
LogOptions log_options_from_env(LogOptions defaults);

bool log_enabled(LogLevel level);

// One structured field of a log event.
struct LogField {
  std::string_view key;
  std::variant<std::string_view, std::int64_t, std::uint64_t, double, bool> value;
  LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
  LogField(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  LogField(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  LogField(std::string_view k, std::int64_t v) : key(k), value(v) {}
  LogField(std::string_view k, int v) : key(k), value(static_cast<std::int64_t>(v)) {}
  LogField(std::string_view k, std::uint64_t v) : key(k), value(v) {}
  LogField(std::string_view k, double v) : key(k), value(v) {}
  LogField(std::string_view k, bool v) : key(k), value(v) {}
};

// A message plus fields: text format prints `msg key=value ...`, JSON format puts the fields
// beside "ts", "level" and "msg" in the same object.
void log_event(LogLevel level, std::string_view message, std::initializer_list<LogField> fields = {});

// Appends `s` to `out` as the body of a JSON string (quotes not included), escaping per RFC 8259.
// Invalid UTF-8 is replaced by U+FFFD so that every line stays valid JSON.
void append_json_escaped(std::string& out, std::string_view s);

template <typename... Args>
void log_at(LogLevel level, fmt::format_string<Args...> f, Args&&... args) {
  if (log_enabled(level)) log_event(level, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void log_debug(fmt::format_string<Args...> f, Args&&... args) { log_at(LogLevel::kDebug, f, std::forward<Args>(args)...); }
template <typename... Args>
void log_info(fmt::format_string<Args...> f, Args&&... args) { log_at(LogLevel::kInfo, f, std::forward<Args>(args)...); }
template <typename... Args>
void log_warn(fmt::format_string<Args...> f, Args&&... args) { log_at(LogLevel::kWarn, f, std::forward<Args>(args)...); }
template <typename... Args>
void log_error(fmt::format_string<Args...> f, Args&&... args) { log_at(LogLevel::kError, f, std::forward<Args>(args)...); }

}  // namespace parley
