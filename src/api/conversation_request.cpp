#include "api/conversation_request.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "api/json_fields.h"

namespace parley {
namespace {

using namespace api_json;

ApiLimits json_limits(const ConversationLimits& limits) {
  ApiLimits a;
  a.max_json_depth = limits.max_json_depth;
  return a;
}

// A text field the store will keep: bounded, and without NUL (PostgreSQL's text cannot hold it;
// Boost.JSON has already refused invalid UTF-8).
Status check_text(std::string_view param, const std::string& value, std::size_t max_bytes, bool allow_empty) {
  if (!allow_empty && value.empty()) return invalid_param(param, fmt::format("'{}' must not be empty.", param));
  if (value.size() > max_bytes) {
    return invalid_param(
        param, fmt::format("'{}' is too long: {} bytes, at most {} are allowed.", param, value.size(), max_bytes));
  }
  if (value.find('\0') != std::string::npos)
    return invalid_param(param, fmt::format("'{}' must not contain NUL characters.", param));
  return ok_status();
}

// A message id given in a body. Its shape is checked by the store (anything else is simply not a
// message of the conversation); here only that it is a bounded string.
Status check_id(std::string_view param, const std::string& id) {
  if (id.size() > 64) return invalid_param(param, fmt::format("'{}' is not a message id.", param));
  return ok_status();
}

// The fields each body may have (anything else is refused).
constexpr std::string_view kCreateFields[] = {"title", "system_prompt", "settings"};
constexpr std::string_view kUpdateFields[] = {"title", "archived", "settings"};
constexpr std::string_view kSettingsFields[] = {"system_prompt", "temperature", "max_tokens", "model"};
constexpr std::string_view kSendFields[] = {"content", "parent_id"};
constexpr std::string_view kReplyFields[] = {"model", "max_tokens", "max_completion_tokens"};  // and sampling
constexpr std::string_view kSetLeafFields[] = {"message_id"};

Result<ReplyOptions> parse_reply(const json::object& o, const ConversationLimits& limits) {
  ReplyOptions r;
  RETURN_IF_ERROR(get_string(o, "model", &r.model));
  std::optional<std::int64_t> mt, mct;
  RETURN_IF_ERROR(get_integer(o, "max_tokens", 1, INT32_MAX, &mt));
  RETURN_IF_ERROR(get_integer(o, "max_completion_tokens", 1, INT32_MAX, &mct));
  r.max_tokens = mct ? mct : mt;
  RETURN_IF_ERROR(parse_sampling(o, json_limits(limits), &r.sampling));
  return r;
}

// One text setting: null or "" clears it.
Status settings_text(const json::object& o, std::string_view key, std::string_view param, std::size_t max_bytes,
                     SettingChange<std::string>* out) {
  if (!o.contains(key)) return ok_status();
  const json::value* v = field(o, key);
  if (v == nullptr) {
    out->emplace();
    return ok_status();
  }
  if (!v->is_string()) return type_error(param, "a string or null", *v);
  std::string text(v->as_string());
  RETURN_IF_ERROR(check_text(param, text, max_bytes, true));
  if (text.empty()) {
    out->emplace();
  } else {
    out->emplace(std::move(text));
  }
  return ok_status();
}

Result<ConversationSettingsChange> parse_settings(const json::value& v, const ConversationLimits& limits) {
  if (!v.is_object()) return type_error("settings", "an object", v);
  const json::object& o = v.as_object();
  for (const auto& kv : o) {
    const std::string_view key(kv.key().data(), kv.key().size());
    if (std::find(std::begin(kSettingsFields), std::end(kSettingsFields), key) == std::end(kSettingsFields)) {
      const std::string param = fmt::format("settings.{}", key.substr(0, 64));
      return invalid_param(param, fmt::format("Unknown field '{}'.", param));
    }
  }
  ConversationSettingsChange s;
  RETURN_IF_ERROR(
      settings_text(o, "system_prompt", "settings.system_prompt", limits.max_content_bytes, &s.system_prompt));
  RETURN_IF_ERROR(settings_text(o, "model", "settings.model", kMaxSettingsModelBytes, &s.model));
  if (o.contains("temperature")) {
    std::optional<double> t;
    if (field(o, "temperature") != nullptr) {
      ASSIGN_OR_RETURN(const double d, as_number(o.at("temperature"), "settings.temperature"));
      if (!(d >= 0.0 && d <= 2.0)) {
        return invalid_param(
            "settings.temperature",
            fmt::format("{} is out of range for 'settings.temperature': it must be between 0 and 2.", d));
      }
      t = d;
    }
    s.temperature = t;
  }
  if (o.contains("max_tokens")) {
    std::optional<std::int64_t> n;
    if (field(o, "max_tokens") != nullptr) {
      ASSIGN_OR_RETURN(const std::int64_t i, as_integer(o.at("max_tokens"), "settings.max_tokens"));
      if (i < 1 || i > INT32_MAX) {
        return invalid_param(
            "settings.max_tokens",
            fmt::format("{} is out of range for 'settings.max_tokens': it must be between 1 and {}.", i, INT32_MAX));
      }
      n = i;
    }
    s.max_tokens = n;
  }
  return s;
}

Result<std::int64_t> query_integer(std::string_view name, const std::string& value, std::int64_t lo, std::int64_t hi) {
  std::int64_t v = 0;
  const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (value.empty() || ec != std::errc() || p != value.data() + value.size() || v < lo || v > hi) {
    return invalid_param(name, fmt::format("'{}' must be an integer between {} and {}.", name, lo, hi));
  }
  return v;
}

}  // namespace

bool is_json_content_type(std::string_view content_type) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.remove_suffix(1);
  while (!media.empty() && (media.front() == ' ' || media.front() == '\t')) media.remove_prefix(1);
  constexpr std::string_view kJson = "application/json";
  if (media.size() != kJson.size()) return false;
  for (std::size_t i = 0; i < media.size(); ++i) {
    char c = media[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kJson[i]) return false;
  }
  return true;
}

Result<CreateConversationRequest> parse_create_conversation(std::string_view body, const ConversationLimits& limits) {
  ASSIGN_OR_RETURN(const json::object o, parse_object(body, json_limits(limits)));
  RETURN_IF_ERROR(refuse_unknown_fields(o, {kCreateFields}));
  CreateConversationRequest r;
  RETURN_IF_ERROR(get_string(o, "title", &r.title));
  RETURN_IF_ERROR(check_text("title", r.title, limits.max_title_bytes, true));
  std::string system;
  RETURN_IF_ERROR(get_string(o, "system_prompt", &system));
  if (!system.empty()) {
    RETURN_IF_ERROR(check_text("system_prompt", system, limits.max_content_bytes, false));
    r.system_prompt = std::move(system);
  }
  if (const json::value* settings = field(o, "settings")) {
    ASSIGN_OR_RETURN(r.settings, parse_settings(*settings, limits));
  }
  return r;
}

Result<UpdateConversationRequest> parse_update_conversation(std::string_view body, const ConversationLimits& limits) {
  ASSIGN_OR_RETURN(const json::object o, parse_object(body, json_limits(limits)));
  RETURN_IF_ERROR(refuse_unknown_fields(o, {kUpdateFields}));
  UpdateConversationRequest r;
  if (field(o, "title") != nullptr) {
    std::string title;
    RETURN_IF_ERROR(get_string(o, "title", &title));
    RETURN_IF_ERROR(check_text("title", title, limits.max_title_bytes, true));
    r.title = std::move(title);
  }
  if (field(o, "archived") != nullptr) {
    bool archived = false;
    RETURN_IF_ERROR(get_bool(o, "archived", &archived));
    r.archived = archived;
  }
  if (const json::value* settings = field(o, "settings")) {
    ASSIGN_OR_RETURN(r.settings, parse_settings(*settings, limits));
  }
  if (!r.title && !r.archived && !r.settings) {
    return invalid_param("title", "Give at least one of 'title', 'archived' and 'settings'.");
  }
  return r;
}

Result<SendMessageRequest> parse_send_message(std::string_view body, const ConversationLimits& limits) {
  ASSIGN_OR_RETURN(const json::object o, parse_object(body, json_limits(limits)));
  RETURN_IF_ERROR(refuse_unknown_fields(o, {kSendFields, kReplyFields, kSamplingFieldNames}));
  SendMessageRequest r;
  RETURN_IF_ERROR(get_string(o, "content", &r.content, true));
  RETURN_IF_ERROR(check_text("content", r.content, limits.max_content_bytes, false));
  if (field(o, "parent_id") != nullptr) {
    std::string parent;
    RETURN_IF_ERROR(get_string(o, "parent_id", &parent));
    RETURN_IF_ERROR(check_id("parent_id", parent));
    r.parent_id = std::move(parent);
  }
  ASSIGN_OR_RETURN(r.reply, parse_reply(o, limits));
  return r;
}

Result<ReplyOptions> parse_regenerate(std::string_view body, const ConversationLimits& limits) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return ReplyOptions{};
  ASSIGN_OR_RETURN(const json::object o, parse_object(body, json_limits(limits)));
  RETURN_IF_ERROR(refuse_unknown_fields(o, {kReplyFields, kSamplingFieldNames}));
  return parse_reply(o, limits);
}

Result<SetCurrentLeafRequest> parse_set_current_leaf(std::string_view body, const ConversationLimits& limits) {
  ASSIGN_OR_RETURN(const json::object o, parse_object(body, json_limits(limits)));
  RETURN_IF_ERROR(refuse_unknown_fields(o, {kSetLeafFields}));
  SetCurrentLeafRequest r;
  RETURN_IF_ERROR(get_string(o, "message_id", &r.message_id, true));
  RETURN_IF_ERROR(check_id("message_id", r.message_id));
  return r;
}

Result<ListConversationsQuery> parse_list_conversations(const std::vector<std::pair<std::string, std::string>>& params,
                                                        const ConversationLimits& limits) {
  ListConversationsQuery q;
  for (const auto& [name, value] : params) {
    if (name == "limit") {
      ASSIGN_OR_RETURN(const std::int64_t v, query_integer("limit", value, 1, limits.max_page_size));
      q.limit = static_cast<int>(v);
    } else if (name == "offset") {
      ASSIGN_OR_RETURN(const std::int64_t v, query_integer("offset", value, 0, INT32_MAX));
      q.offset = static_cast<int>(v);
    } else if (name == "q") {
      RETURN_IF_ERROR(check_text("q", value, 256, true));
      q.search = value;
    } else if (name == "include_archived") {
      if (value == "true" || value == "1") {
        q.include_archived = true;
      } else if (value == "false" || value == "0") {
        q.include_archived = false;
      } else {
        return invalid_param("include_archived", "'include_archived' must be true or false.");
      }
    }
  }
  return q;
}

Result<ExportFormat> parse_export_query(const std::vector<std::pair<std::string, std::string>>& params) {
  ExportFormat f = ExportFormat::kMarkdown;
  for (const auto& [name, value] : params) {
    if (name != "format") continue;
    if (value == "markdown" || value == "md") {
      f = ExportFormat::kMarkdown;
    } else if (value == "json") {
      f = ExportFormat::kJson;
    } else {
      return invalid_param("format", "'format' must be markdown or json.");
    }
  }
  return f;
}

}  // namespace parley
