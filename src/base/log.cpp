#include "base/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>

#include "base/utf8.h"

namespace parley {
namespace {

std::atomic<LogFormat> g_format{LogFormat::kText};
std::atomic<LogLevel> g_level{LogLevel::kInfo};

spdlog::level::level_enum to_spdlog(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace: return spdlog::level::trace;
    case LogLevel::kDebug: return spdlog::level::debug;
    case LogLevel::kInfo: return spdlog::level::info;
    case LogLevel::kWarn: return spdlog::level::warn;
    case LogLevel::kError: return spdlog::level::err;
    case LogLevel::kOff: return spdlog::level::off;
  }
  return spdlog::level::info;
}

std::string_view level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace: return "trace";
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
    case LogLevel::kOff: return "off";
  }
  return "info";
}

void append_rfc3339_now(std::string& out) {
  const auto now = std::chrono::system_clock::now();
  const auto secs = std::chrono::time_point_cast<std::chrono::seconds>(now);
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now - secs).count();
  const std::time_t t = std::chrono::system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(millis));
  out += buf;
}

void append_field_value_json(std::string& out, const LogField& f) {
  std::visit(
      [&out](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, std::string_view>) {
          out += '"';
          append_json_escaped(out, v);
          out += '"';
        } else if constexpr (std::is_same_v<V, bool>) {
          out += v ? "true" : "false";
        } else if constexpr (std::is_same_v<V, double>) {
          // JSON has no NaN/Inf.
          if (v != v || v - v != 0) out += "null";
          else out += fmt::format("{}", v);
        } else {
          out += fmt::format("{}", v);
        }
      },
      f.value);
}

void append_field_value_text(std::string& out, const LogField& f) {
  std::visit(
      [&out](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, std::string_view>) {
          const bool quote = v.empty() || v.find_first_of(" \t\n\"=") != std::string_view::npos;
          if (quote) {
            out += '"';
            append_json_escaped(out, v);
            out += '"';
          } else {
            out += v;
          }
        } else if constexpr (std::is_same_v<V, bool>) {
          out += v ? "true" : "false";
        } else {
          out += fmt::format("{}", v);
        }
      },
      f.value);
}

}  // namespace

Status parse_log_level(std::string_view name, LogLevel* out) {
  static constexpr std::pair<std::string_view, LogLevel> kNames[] = {
      {"trace", LogLevel::kTrace}, {"debug", LogLevel::kDebug}, {"info", LogLevel::kInfo},
      {"warn", LogLevel::kWarn},   {"warning", LogLevel::kWarn}, {"error", LogLevel::kError},
      {"off", LogLevel::kOff}};
  for (const auto& [n, l] : kNames) {
    if (n == name) {
      *out = l;
      return ok_status();
    }
  }
  return invalid_argument_error("unknown log level '{}' (expected trace, debug, info, warn, error or off)", name);
}

Status parse_log_format(std::string_view name, LogFormat* out) {
  if (name == "text") *out = LogFormat::kText;
  else if (name == "json") *out = LogFormat::kJson;
  else return invalid_argument_error("unknown log format '{}' (expected text or json)", name);
  return ok_status();
}

LogOptions log_options_from_env(LogOptions defaults) {
  if (const char* lvl = std::getenv("PARLEY_LOG_LEVEL"); lvl && *lvl) parse_log_level(lvl, &defaults.level).ignore();
  if (const char* fmt = std::getenv("PARLEY_LOG_FORMAT"); fmt && *fmt) parse_log_format(fmt, &defaults.format).ignore();
  return defaults;
}

void init_logging(const LogOptions& options) {
  g_format = options.format;
  g_level = options.level;
  spdlog::drop("parley");
  auto logger = spdlog::stderr_color_mt("parley");
  if (options.format == LogFormat::kJson) {
    logger->set_pattern("%v");  // the line is already a complete JSON object
  } else {
    logger->set_pattern(isatty(STDERR_FILENO) ? "%^%L%$ %H:%M:%S.%e %v" : "%L %Y-%m-%dT%H:%M:%S.%e %v");
  }
  logger->set_level(to_spdlog(options.level));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
}

bool log_enabled(LogLevel level) { return level >= g_level.load(std::memory_order_relaxed) && level != LogLevel::kOff; }

void log_event(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) {
  if (!log_enabled(level)) return;
  std::string line;
  line.reserve(64 + message.size() + fields.size() * 24);
  if (g_format.load(std::memory_order_relaxed) == LogFormat::kJson) {
    line += "{\"ts\":\"";
    append_rfc3339_now(line);
    line += "\",\"level\":\"";
    line += level_name(level);
    line += "\",\"msg\":\"";
    append_json_escaped(line, message);
    line += '"';
    for (const LogField& f : fields) {
      line += ",\"";
      append_json_escaped(line, f.key);
      line += "\":";
      append_field_value_json(line, f);
    }
    line += '}';
  } else {
    line += message;
    for (const LogField& f : fields) {
      line += ' ';
      line += f.key;
      line += '=';
      append_field_value_text(line, f);
    }
  }
  spdlog::default_logger_raw()->log(to_spdlog(level), "{}", line);
}

void append_json_escaped(std::string& out, std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
          if (c < 0x20) out += fmt::format("\\u{:04x}", c);
          else out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    const size_t n = utf8_valid_prefix_char_length(s.substr(i));
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      i += utf8_invalid_prefix_length(s.substr(i));
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
}

}  // namespace parley
