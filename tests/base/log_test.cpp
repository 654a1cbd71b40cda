// Logging: JSON escaping (checked with a strict hand-written JSON parser), the one-object-per-line
// JSON format, the text format, level filtering and the option parsers.
#include "base/log.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "base/rng.h"
#include "base/utf8.h"
#include "base/utf8_reference.h"

namespace parley {
namespace {

// A strict RFC 8259 parser, just enough to check what the logger writes.
struct Json {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool boolean = false;
  double number = 0;
  std::string str;
  std::vector<Json> items;
  std::vector<std::pair<std::string, Json>> members;

  const Json* get(std::string_view key) const {
    for (const auto& [k, v] : members) {
      if (k == key) return &v;
    }
    return nullptr;
  }
};

class JsonParser {
 public:
  explicit JsonParser(std::string_view s) : s_(s) {}

  // The whole input as one JSON value (surrounding whitespace allowed), or nullopt.
  std::optional<Json> parse() {
    Json v;
    ws();
    if (!value(&v, 0)) return std::nullopt;
    ws();
    if (i_ != s_.size()) return std::nullopt;
    return v;
  }

 private:
  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  bool eat(char c) {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool literal(std::string_view w) {
    if (s_.substr(i_, w.size()) != w) return false;
    i_ += w.size();
    return true;
  }

  bool value(Json* out, int depth) {
    if (depth > 32 || i_ >= s_.size()) return false;
    const char c = s_[i_];
    if (c == '{') return object(out, depth);
    if (c == '[') return array(out, depth);
    if (c == '"') {
      out->kind = Json::Kind::kString;
      return string(&out->str);
    }
    if (literal("null")) return true;
    if (literal("true") || literal("false")) {
      out->kind = Json::Kind::kBool;
      out->boolean = s_[i_ - 1] == 'e' && s_[i_ - 2] == 'u';
      return true;
    }
    out->kind = Json::Kind::kNumber;
    return number(&out->number);
  }

  bool object(Json* out, int depth) {
    out->kind = Json::Kind::kObject;
    ++i_;
    ws();
    if (eat('}')) return true;
    for (;;) {
      std::string key;
      Json v;
      ws();
      if (i_ >= s_.size() || s_[i_] != '"' || !string(&key)) return false;
      ws();
      if (!eat(':')) return false;
      ws();
      if (!value(&v, depth + 1)) return false;
      out->members.emplace_back(std::move(key), std::move(v));
      ws();
      if (eat('}')) return true;
      if (!eat(',')) return false;
    }
  }

  bool array(Json* out, int depth) {
    out->kind = Json::Kind::kArray;
    ++i_;
    ws();
    if (eat(']')) return true;
    for (;;) {
      Json v;
      ws();
      if (!value(&v, depth + 1)) return false;
      out->items.push_back(std::move(v));
      ws();
      if (eat(']')) return true;
      if (!eat(',')) return false;
    }
  }

  bool hex4(std::uint32_t* out) {
    if (s_.size() - i_ < 4) return false;
    *out = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s_[i_++];
      std::uint32_t d = 0;
      if (c >= '0' && c <= '9')
        d = c - '0';
      else if (c >= 'a' && c <= 'f')
        d = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        d = c - 'A' + 10;
      else
        return false;
      *out = *out * 16 + d;
    }
    return true;
  }

  bool string(std::string* out) {
    ++i_;  // opening quote
    while (i_ < s_.size()) {
      const auto c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') {
        ++i_;
        return true;
      }
      if (c < 0x20) return false;  // raw control characters are not allowed
      if (c >= 0x80) {             // raw UTF-8 must be valid
        const size_t n = utf8_valid_prefix_char_length(s_.substr(i_));
        if (n == 0) return false;
        out->append(s_.substr(i_, n));
        i_ += n;
        continue;
      }
      ++i_;
      if (c != '\\') {
        *out += static_cast<char>(c);
        continue;
      }
      if (i_ >= s_.size()) return false;
      const char e = s_[i_++];
      switch (e) {
        case '"':
          *out += '"';
          break;
        case '\\':
          *out += '\\';
          break;
        case '/':
          *out += '/';
          break;
        case 'b':
          *out += '\b';
          break;
        case 'f':
          *out += '\f';
          break;
        case 'n':
          *out += '\n';
          break;
        case 'r':
          *out += '\r';
          break;
        case 't':
          *out += '\t';
          break;
        case 'u': {
          std::uint32_t cp = 0;
          if (!hex4(&cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            std::uint32_t lo = 0;
            if (!literal("\\u") || !hex4(&lo) || lo < 0xDC00 || lo > 0xDFFF) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return false;
          }
          utf8_append(*out, cp);
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }

  bool number(double* out) {
    const size_t start = i_;
    eat('-');
    if (eat('0')) {
    } else if (i_ < s_.size() && s_[i_] >= '1' && s_[i_] <= '9') {
      while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) ++i_;
    } else {
      return false;
    }
    if (eat('.')) {
      if (i_ >= s_.size() || !std::isdigit(static_cast<unsigned char>(s_[i_]))) return false;
      while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) ++i_;
    }
    if (eat('e') || eat('E')) {
      if (!eat('+')) eat('-');
      if (i_ >= s_.size() || !std::isdigit(static_cast<unsigned char>(s_[i_]))) return false;
      while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) ++i_;
    }
    *out = std::strtod(std::string(s_.substr(start, i_ - start)).c_str(), nullptr);
    return true;
  }

  std::string_view s_;
  size_t i_ = 0;
};

std::string escaped(std::string_view s) {
  std::string out;
  append_json_escaped(out, s);
  return out;
}

// What a JSON string literal holding `s` decodes to: `s` with each maximal invalid subpart
// replaced by U+FFFD.
std::string with_replacements(std::string_view s) {
  return utf8_reference::sanitize(s);
}

std::optional<std::string> parse_string_literal(const std::string& body) {
  auto v = JsonParser("\"" + body + "\"").parse();
  if (!v || v->kind != Json::Kind::kString) return std::nullopt;
  return v->str;
}

TEST(JsonParserSelfTest, AcceptsAndRejects) {
  EXPECT_TRUE(JsonParser(R"({"a":[1,-2.5e3,true,false,null,"x\u00e9\ud83d\ude00"],"b":{}})").parse());
  for (const char* bad :
       {"", "{", "{\"a\":}", "[1,]", "\"\x01\"", "\"\\x\"", "01", "{\"a\":1}x", "\"\xff\"", "\"\\ud800\"", "tru"}) {
    EXPECT_FALSE(JsonParser(bad).parse()) << bad;
  }
}

TEST(AppendJsonEscapedTest, EscapesPerRfc8259) {
  EXPECT_EQ(escaped("plain text"), "plain text");
  EXPECT_EQ(escaped("say \"hi\""), "say \\\"hi\\\"");
  EXPECT_EQ(escaped("a\\b"), "a\\\\b");
  EXPECT_EQ(escaped("\n\r\t\b\f"), "\\n\\r\\t\\b\\f");
  EXPECT_EQ(escaped(std::string_view("\0", 1)), "\\u0000");
  EXPECT_EQ(escaped("\x01\x1f"), "\\u0001\\u001f");
  EXPECT_EQ(escaped("\x7f"), "\x7f");  // DEL needs no escape
  EXPECT_EQ(escaped("/"), "/");
  EXPECT_EQ(escaped("caf\xC3\xA9 \xF0\x9F\x98\x80"), "caf\xC3\xA9 \xF0\x9F\x98\x80");  // valid UTF-8 kept
}

TEST(AppendJsonEscapedTest, InvalidUtf8BecomesReplacementChars) {
  EXPECT_EQ(escaped("\xFF"), "\xEF\xBF\xBD");
  EXPECT_EQ(escaped("a\xC0\x80z"), "a\xEF\xBF\xBD\xEF\xBF\xBDz");              // overlong: one U+FFFD per byte
  EXPECT_EQ(escaped("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  // A truncated sequence is one maximal subpart, so one U+FFFD (Unicode's recommended practice).
  EXPECT_EQ(escaped("\xE2\x82"), "\xEF\xBF\xBD");
  EXPECT_EQ(escaped("\xE2\x82\""), "\xEF\xBF\xBD\\\"");  // and the quote after it is still escaped
  EXPECT_EQ(escaped("\xF0\x9F\x98\n"), "\xEF\xBF\xBD\\n");
}

TEST(AppendJsonEscapedTest, AppendsWithoutClearing) {
  std::string out = "prefix:";
  append_json_escaped(out, "\"");
  EXPECT_EQ(out, "prefix:\\\"");
}

TEST(AppendJsonEscapedTest, EveryByteStringParsesBack) {
  // Each single byte and each pair of bytes, then random strings biased to awkward bytes.
  for (int a = 0; a < 256; ++a) {
    const std::string s(1, static_cast<char>(a));
    const auto back = parse_string_literal(escaped(s));
    ASSERT_TRUE(back.has_value()) << a;
    EXPECT_EQ(*back, with_replacements(s)) << a;
  }
  Rng rng(7);
  static constexpr unsigned char kAwkward[] = {'"',  '\\', '\n', 0x00, 0x1F, 0x7F, 0x80, 0xBF, 0xC0, 0xC3,
                                               0xE2, 0xED, 0xF0, 0xF4, 0xF5, 0xFF, 'a',  0xA9, 0x82, 0x9F};
  for (int iter = 0; iter < 5000; ++iter) {
    std::string s(rng.below(24), '\0');
    for (char& c : s) {
      c = static_cast<char>(rng.below(2) ? kAwkward[rng.below(sizeof kAwkward)] : rng.below(256));
    }
    const std::string body = escaped(s);
    ASSERT_TRUE(utf8_is_valid(body));
    const auto back = parse_string_literal(body);
    ASSERT_TRUE(back.has_value()) << body;
    ASSERT_EQ(*back, with_replacements(s));
    if (utf8_is_valid(s)) {
      ASSERT_EQ(*back, s);
    }
  }
}

// Restores the default logger after each test so tests do not leak settings.
class LogTest : public ::testing::Test {
 protected:
  void TearDown() override { init_logging(LogOptions{}); }
};

// "2024-05-01T12:34:56.789Z" (RFC 3339, UTC, milliseconds). Hand-checked: <regex> trips GCC 12
// -Wmaybe-uninitialized false positives in sanitizer builds.
bool is_rfc3339_millis(std::string_view ts) {
  static constexpr std::string_view kPattern = "dddd-dd-ddTdd:dd:dd.dddZ";
  if (ts.size() != kPattern.size()) return false;
  for (size_t i = 0; i < ts.size(); ++i) {
    const bool ok = kPattern[i] == 'd' ? std::isdigit(static_cast<unsigned char>(ts[i])) != 0 : ts[i] == kPattern[i];
    if (!ok) return false;
  }
  return true;
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> lines;
  std::istringstream in(s);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

TEST_F(LogTest, JsonFormatWritesOneObjectPerLine) {
  init_logging({.level = LogLevel::kDebug, .format = LogFormat::kJson});
  ::testing::internal::CaptureStderr();
  log_event(LogLevel::kInfo, "request \"done\"\nnext line",
            {{"request_id", "req-1"},
             {"tokens_out", 42},
             {"big", std::int64_t{-9000000000}},
             {"ratio", 0.25},
             {"nan", std::numeric_limits<double>::quiet_NaN()},
             {"inf", std::numeric_limits<double>::infinity()},
             {"cached", true},
             {"raw", std::string_view("bad \xFF byte")},
             {"we\"ird\nkey", "v"}});
  log_warn("{} of {} workers up", 3, 4);
  log_debug("debug shows at level debug");
  log_at(LogLevel::kTrace, "trace is below the level");
  log_error("ctl \x01 char");
  const std::string out = ::testing::internal::GetCapturedStderr();

  const auto lines = split_lines(out);
  ASSERT_EQ(lines.size(), 4u) << out;
  std::vector<Json> objs;
  for (const auto& line : lines) {
    auto v = JsonParser(line).parse();
    ASSERT_TRUE(v.has_value()) << line;
    ASSERT_EQ(v->kind, Json::Kind::kObject) << line;
    ASSERT_NE(v->get("ts"), nullptr) << line;
    EXPECT_TRUE(is_rfc3339_millis(v->get("ts")->str)) << v->get("ts")->str;
    ASSERT_NE(v->get("level"), nullptr);
    ASSERT_NE(v->get("msg"), nullptr);
    EXPECT_EQ(v->members[0].first, "ts");
    EXPECT_EQ(v->members[1].first, "level");
    EXPECT_EQ(v->members[2].first, "msg");
    objs.push_back(std::move(*v));
  }
  const Json& first = objs[0];
  EXPECT_EQ(first.get("level")->str, "info");
  EXPECT_EQ(first.get("msg")->str, "request \"done\"\nnext line");
  EXPECT_EQ(first.get("request_id")->str, "req-1");
  EXPECT_EQ(first.get("tokens_out")->kind, Json::Kind::kNumber);
  EXPECT_EQ(first.get("tokens_out")->number, 42);
  EXPECT_EQ(first.get("big")->number, -9000000000.0);
  EXPECT_EQ(first.get("ratio")->number, 0.25);
  EXPECT_EQ(first.get("nan")->kind, Json::Kind::kNull);
  EXPECT_EQ(first.get("inf")->kind, Json::Kind::kNull);
  EXPECT_EQ(first.get("cached")->kind, Json::Kind::kBool);
  EXPECT_TRUE(first.get("cached")->boolean);
  EXPECT_EQ(first.get("raw")->str, "bad \xEF\xBF\xBD byte");
  ASSERT_NE(first.get("we\"ird\nkey"), nullptr);
  EXPECT_EQ(first.members.size(), 3u + 9u);

  EXPECT_EQ(objs[1].get("level")->str, "warn");
  EXPECT_EQ(objs[1].get("msg")->str, "3 of 4 workers up");
  EXPECT_EQ(objs[2].get("level")->str, "debug");
  EXPECT_EQ(objs[3].get("level")->str, "error");
  EXPECT_EQ(objs[3].get("msg")->str, "ctl \x01 char");
}

TEST_F(LogTest, TextFormatPrintsMessageAndFields) {
  init_logging({.level = LogLevel::kInfo, .format = LogFormat::kText});
  ::testing::internal::CaptureStderr();
  log_event(LogLevel::kInfo, "loaded",
            {{"path", "a b.gguf"}, {"n", 3}, {"ok", false}, {"empty", ""}, {"plain", "x"},
             {"bytes", std::uint64_t{18446744073709551615u}}});
  const std::string out = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(out.find("loaded path=\"a b.gguf\" n=3 ok=false empty=\"\" plain=x bytes=18446744073709551615"),
            std::string::npos)
      << out;
  EXPECT_EQ(split_lines(out).size(), 1u);
}

TEST_F(LogTest, LevelFiltering) {
  init_logging({.level = LogLevel::kWarn, .format = LogFormat::kJson});
  EXPECT_FALSE(log_enabled(LogLevel::kTrace));
  EXPECT_FALSE(log_enabled(LogLevel::kInfo));
  EXPECT_TRUE(log_enabled(LogLevel::kWarn));
  EXPECT_TRUE(log_enabled(LogLevel::kError));
  EXPECT_FALSE(log_enabled(LogLevel::kOff));
  ::testing::internal::CaptureStderr();
  log_info("hidden");
  log_event(LogLevel::kDebug, "hidden too", {{"k", 1}});
  log_error("shown");
  const std::string out = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(split_lines(out).size(), 1u) << out;
  EXPECT_EQ(out.find("hidden"), std::string::npos);

  init_logging({.level = LogLevel::kOff, .format = LogFormat::kJson});
  EXPECT_FALSE(log_enabled(LogLevel::kError));
  ::testing::internal::CaptureStderr();
  log_error("nothing at off");
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

TEST(LogOptionsTest, ParseLogLevel) {
  const std::pair<const char*, LogLevel> cases[] = {
      {"trace", LogLevel::kTrace},  {"debug", LogLevel::kDebug}, {"info", LogLevel::kInfo}, {"warn", LogLevel::kWarn},
      {"warning", LogLevel::kWarn}, {"error", LogLevel::kError}, {"off", LogLevel::kOff}};
  for (const auto& [name, level] : cases) {
    LogLevel out = LogLevel::kInfo;
    EXPECT_TRUE(parse_log_level(name, &out).ok()) << name;
    EXPECT_EQ(out, level) << name;
  }
  for (const char* bad : {"", "INFO", "verbose", "info "}) {
    LogLevel out = LogLevel::kError;
    const Status s = parse_log_level(bad, &out);
    EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find(std::string("'") + bad + "'"), std::string_view::npos) << s.message();
    EXPECT_EQ(out, LogLevel::kError) << "output changed on error";
  }
}

TEST(LogOptionsTest, ParseLogFormat) {
  LogFormat f = LogFormat::kText;
  EXPECT_TRUE(parse_log_format("json", &f).ok());
  EXPECT_EQ(f, LogFormat::kJson);
  EXPECT_TRUE(parse_log_format("text", &f).ok());
  EXPECT_EQ(f, LogFormat::kText);
  const Status s = parse_log_format("yaml", &f);
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(s.message().find("yaml"), std::string_view::npos);
  EXPECT_EQ(f, LogFormat::kText);
}

TEST(LogOptionsTest, FromEnvAppliesValidSettingsOnly) {
  ::setenv("PARLEY_LOG_LEVEL", "debug", 1);
  ::setenv("PARLEY_LOG_FORMAT", "json", 1);
  LogOptions o = log_options_from_env({});
  EXPECT_EQ(o.level, LogLevel::kDebug);
  EXPECT_EQ(o.format, LogFormat::kJson);

  ::setenv("PARLEY_LOG_LEVEL", "loud", 1);
  ::setenv("PARLEY_LOG_FORMAT", "", 1);
  o = log_options_from_env({.level = LogLevel::kWarn, .format = LogFormat::kText});
  EXPECT_EQ(o.level, LogLevel::kWarn);
  EXPECT_EQ(o.format, LogFormat::kText);

  ::unsetenv("PARLEY_LOG_LEVEL");
  ::unsetenv("PARLEY_LOG_FORMAT");
  o = log_options_from_env({.level = LogLevel::kError, .format = LogFormat::kJson});
  EXPECT_EQ(o.level, LogLevel::kError);
  EXPECT_EQ(o.format, LogFormat::kJson);
}

}  // namespace
}  // namespace parley
