#include "api/conversation_response.h"

#include <boost/json.hpp>

namespace parley {
namespace json = boost::json;
namespace {

json::value id_or_null(const std::string& id) {
  if (id.empty()) return nullptr;
  return json::string(id);
}

json::object settings_object(const SettingsOut& s) {
  json::object o;
  if (s.system_prompt) o["system_prompt"] = *s.system_prompt;
  if (s.temperature) o["temperature"] = *s.temperature;
  if (s.max_tokens) o["max_tokens"] = *s.max_tokens;
  if (s.model) o["model"] = *s.model;
  return o;
}

json::object usage_object(const UsageOut& u) {
  return json::object{{"requests", u.requests},
                      {"prompt_tokens", u.prompt_tokens},
                      {"completion_tokens", u.completion_tokens},
                      {"total_tokens", u.prompt_tokens + u.completion_tokens},
                      {"cost_micros", u.cost_micros},
                      {"cost", static_cast<double>(u.cost_micros) / 1e6}};
}

json::object conversation_object(const ConversationOut& c) {
  json::object o;
  o["id"] = c.id;
  o["object"] = "conversation";
  o["title"] = c.title;
  o["created_at"] = c.created_at;
  o["updated_at"] = c.updated_at;
  o["archived"] = c.archived;
  o["current_leaf_id"] = id_or_null(c.current_leaf_id);
  o["message_count"] = c.message_count;
  if (c.model) o["model"] = *c.model;
  o["settings"] = settings_object(c.settings);
  if (c.usage) o["usage"] = usage_object(*c.usage);
  return o;
}

json::object share_object(const ShareOut& s) {
  json::object o;
  o["id"] = s.id;
  o["object"] = "share";
  o["conversation_id"] = s.conversation_id;
  o["title"] = s.title;
  o["url"] = "/share/" + s.token;
  o["token"] = s.token;
  o["message_count"] = s.message_count;
  o["created_at"] = s.created_at;
  o["revoked_at"] = s.revoked_at ? json::value(*s.revoked_at) : json::value(nullptr);
  return o;
}

json::object message_object(const MessageOut& m) {
  json::object o;
  o["id"] = m.id;
  o["object"] = "conversation.message";
  o["parent_id"] = id_or_null(m.parent_id);
  o["role"] = m.role;
  o["content"] = m.content;
  o["model"] = id_or_null(m.model);
  o["created_at"] = m.created_at;
  o["status"] = m.status;
  if (!m.finish_reason.empty()) o["finish_reason"] = m.finish_reason;
  if (!m.error.empty()) o["error"] = m.error;
  if (!m.reasoning.empty()) o["reasoning"] = m.reasoning;
  if (m.prompt_tokens) {
    o["usage"] = json::object{{"prompt_tokens", *m.prompt_tokens},
                              {"completion_tokens", m.completion_tokens},
                              {"total_tokens", *m.prompt_tokens + m.completion_tokens}};
  }
  if (m.children) {
    json::array children;
    for (const std::string& id : *m.children) children.emplace_back(id);
    o["children"] = std::move(children);
  }
  return o;
}

}  // namespace

std::string conversation_json(const ConversationOut& c) {
  return json::serialize(conversation_object(c));
}

std::string conversation_list_json(const std::vector<ConversationOut>& items, bool has_more) {
  json::array data;
  for (const ConversationOut& c : items) data.emplace_back(conversation_object(c));
  return json::serialize(json::object{{"object", "list"}, {"data", std::move(data)}, {"has_more", has_more}});
}

std::string conversation_tree_json(const ConversationOut& c, const std::vector<MessageOut>& messages) {
  json::array data;
  for (const MessageOut& m : messages) data.emplace_back(message_object(m));
  return json::serialize(json::object{{"conversation", conversation_object(c)},
                                      {"current_leaf_id", id_or_null(c.current_leaf_id)},
                                      {"messages", std::move(data)}});
}

std::string share_json(const ShareOut& s) {
  return json::serialize(share_object(s));
}

std::string share_list_json(const std::vector<ShareOut>& shares) {
  json::array data;
  for (const ShareOut& s : shares) data.emplace_back(share_object(s));
  return json::serialize(json::object{{"object", "list"}, {"data", std::move(data)}});
}

std::string shared_conversation_json(std::string_view title, std::int64_t created_at,
                                     const std::vector<SharedMessageOut>& messages) {
  json::array data;
  for (const SharedMessageOut& m : messages) {
    data.emplace_back(json::object{
        {"role", m.role}, {"content", m.content}, {"model", id_or_null(m.model)}, {"created_at", m.created_at}});
  }
  return json::serialize(json::object{
      {"object", "shared_conversation"}, {"title", title}, {"created_at", created_at}, {"messages", std::move(data)}});
}

std::string ui_model_list_json(const std::vector<UiModelOut>& models) {
  json::array data;
  for (const UiModelOut& m : models) {
    data.emplace_back(json::object{{"id", m.id},
                                   {"object", "model"},
                                   {"context_length", m.context_length},
                                   {"demo", m.demo},
                                   {"owned_by", m.owned_by}});
  }
  return json::serialize(json::object{{"object", "list"}, {"data", std::move(data)}});
}

std::string message_json(const MessageOut& m) {
  return json::serialize(message_object(m));
}

std::string message_event_json(std::string_view conversation_id, const MessageOut& user_message) {
  return json::serialize(json::object{{"conversation_id", conversation_id}, {"message", message_object(user_message)}});
}

std::string delta_event_json(std::string_view content) {
  return json::serialize(json::object{{"content", content}});
}

std::string reasoning_delta_event_json(std::string_view reasoning) {
  return json::serialize(json::object{{"reasoning", reasoning}});
}

std::string done_event_json(const MessageOut& assistant, const ConversationOut& conversation) {
  return json::serialize(
      json::object{{"message", message_object(assistant)}, {"conversation", conversation_object(conversation)}});
}

std::string error_event_json(std::string_view message, std::string_view type, std::string_view code,
                             const MessageOut* assistant) {
  json::object err{{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}};
  if (!code.empty()) err["code"] = code;
  json::object o{{"error", std::move(err)}};
  if (assistant != nullptr) o["message"] = message_object(*assistant);
  return json::serialize(o);
}

std::string reply_metadata_json(const ReplyMetadata& m) {
  json::object o{{"finish_reason", m.finish_reason}};
  if (!m.error.empty()) o["error"] = m.error;
  if (!m.reasoning.empty()) o["reasoning"] = m.reasoning;
  return json::serialize(o);
}

ReplyMetadata parse_reply_metadata(std::string_view text) {
  ReplyMetadata m;
  if (text.empty()) return m;
  boost::system::error_code ec;
  const json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return m;
  const json::object& o = v.as_object();
  if (const auto* f = o.if_contains("finish_reason"); f && f->is_string())
    m.finish_reason = std::string(f->as_string());
  if (const auto* e = o.if_contains("error"); e && e->is_string()) m.error = std::string(e->as_string());
  if (const auto* r = o.if_contains("reasoning"); r && r->is_string()) m.reasoning = std::string(r->as_string());
  return m;
}

}  // namespace parley
