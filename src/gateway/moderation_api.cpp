// Moderation's endpoints (docs/api.md):
//
//   POST /v1/moderations  {input: string | [string], model?}   OpenAI-compatible: results[] with
//                         flagged, categories, category_scores (1 or 0: rules are not scores);
//                         with a guard model, its categories too (add_guard_categories)
//   GET  /api/admin/moderation/events?user_id=&address=&rule=&action=&stage=&from=&to=&limit=&offset=
//   GET  /api/admin/moderation/suspensions?subject=&active=true&limit=&offset=
//   POST /api/admin/moderation/suspensions/lift  {subject}     lifts the subject's suspension
//
// and the input hook of /v1/chat/completions (screen_chat_messages).
#include <fmt/format.h>

#include <boost/json.hpp>
#include <charconv>

#include "base/log.h"
#include "gateway/api_json.h"
#include "gateway/gateway.h"
#include "gateway/http_errors.h"
#include "net/url.h"
#include "obs/request_id.h"

namespace parley {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxModerationInputs = 2048;

Result<policy::Role> role_of(std::string_view role) {
  if (role == "user") return policy::Role::kUser;
  if (role == "system" || role == "developer") return policy::Role::kSystem;
  if (role == "tool" || role == "function") return policy::Role::kTool;
  if (role == "assistant") return policy::Role::kAssistant;
  return invalid_argument_error("unknown role");
}

// Screens one JSON string in place; true when it changed (redacted).
Result<bool> screen_string(Moderation& m, const ModerationContext& ctx, policy::Role role, json::value& v) {
  if (!v.is_string()) return false;
  std::string text(v.as_string());
  const std::size_t before = text.size();
  const std::string original = before < 4096 ? text : std::string();
  RETURN_IF_ERROR(m.screen(ctx, role, &text));
  const bool changed = text.size() != before || (before < 4096 && text != original) || before >= 4096;
  if (changed) v = json::string(text);
  return changed;
}

std::int64_t parse_int(std::string_view s, std::int64_t lo, std::int64_t hi, std::string_view name, Status* st) {
  std::int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || v < lo || v > hi) {
    *st = invalid_argument_error("'{}' must be an integer in [{}, {}].", name, lo, hi)
              .with_detail("param", std::string(name));
  }
  return v;
}

json::object event_json(const store::ModerationEvent& e) {
  json::object o;
  o["id"] = e.id;
  o["at"] = api_json::unix_seconds(e.at);
  o["user_id"] = e.user_id;
  o["address"] = e.address;
  o["request_id"] = e.request_id;
  o["rule"] = e.rule;
  o["action"] = e.action;
  o["stage"] = e.stage;
  o["excerpt"] = e.excerpt;
  return o;
}

json::object suspension_json(const store::StoredSuspension& s, store::Time now) {
  json::object o;
  o["id"] = s.id;
  o["subject"] = s.subject;
  o["reason"] = s.reason;
  o["score"] = s.score;
  o["created_at"] = api_json::unix_seconds(s.created_at);
  o["until"] = api_json::unix_seconds(s.until);
  o["created_by"] = s.created_by;
  o["lifted_at"] = api_json::unix_seconds_or_null(s.lifted_at);
  o["lifted_by"] = s.lifted_by;
  o["active"] = s.active_at(now);
  return o;
}

// Applies the paging parameters `limit` and `offset`; other names are left to the caller.
void page_param(const std::string& name, const std::string& value, store::PageRequest* page, Status* st) {
  if (name == "limit") page->limit = static_cast<int>(parse_int(value, 1, store::kMaxPageLimit, name, st));
  if (name == "offset") page->offset = static_cast<int>(parse_int(value, 0, 1'000'000, name, st));
}

void list_events(store::Store& db, RouteCall& c) {
  store::ModerationEventQuery q;
  Result<QueryParams> params = parse_query(c.request.query);
  Status st = params.ok() ? ok_status() : invalid_argument_error("The query string is malformed.");
  for (const auto& [name, value] : params.ok() ? *params : QueryParams{}) {
    if (name == "user_id") q.user_id = value;
    if (name == "address") q.address = value;
    if (name == "rule") q.rule = value;
    if (name == "action") q.action = value;
    if (name == "stage") q.stage = value;
    if (name == "from") q.from = api_json::from_unix_seconds(parse_int(value, 0, std::int64_t{1} << 40, name, &st));
    if (name == "to") q.to = api_json::from_unix_seconds(parse_int(value, 0, std::int64_t{1} << 40, name, &st));
    page_param(name, value, &q.page, &st);
  }
  if (!st.ok()) return api_json::reply_error(*c.responder, c.request_id, st);
  Result<store::Page<store::ModerationEvent>> page = db.list_moderation_events(q);
  if (!page.ok()) return api_json::reply_error(*c.responder, c.request_id, api_json::store_error(page.status()));
  json::array data;
  for (const auto& e : page->items) data.push_back(event_json(e));
  api_json::reply(*c.responder, 200, c.request_id,
                  json::object{{"data", std::move(data)}, {"has_more", page->has_more}});
}

void list_suspensions(store::Store& db, RouteCall& c) {
  store::SuspensionQuery q;
  const store::Time now = store::system_now();
  Result<QueryParams> params = parse_query(c.request.query);
  Status st = params.ok() ? ok_status() : invalid_argument_error("The query string is malformed.");
  for (const auto& [name, value] : params.ok() ? *params : QueryParams{}) {
    if (name == "subject") q.subject = value;
    if (name == "active" && value == "true") q.active_at = now;
    page_param(name, value, &q.page, &st);
  }
  if (!st.ok()) return api_json::reply_error(*c.responder, c.request_id, st);
  Result<store::Page<store::StoredSuspension>> page = db.list_suspensions(q);
  if (!page.ok()) return api_json::reply_error(*c.responder, c.request_id, api_json::store_error(page.status()));
  json::array data;
  for (const auto& s : page->items) data.push_back(suspension_json(s, now));
  api_json::reply(*c.responder, 200, c.request_id,
                  json::object{{"data", std::move(data)}, {"has_more", page->has_more}});
}

// The guard model's verdict on one text merged into its result: every category the guard can
// name (OpenAI's names where Llama Guard's correspond, "S7" and the like otherwise), true for those
// it names. A failed classification adds nothing (fail open) or is a 503 (fail closed).
Result<bool> add_guard_categories(Moderation& m, const ModerationContext& ctx, std::string_view text,
                                  ModerationResult* r) {
  std::optional<GuardVerdict> v = m.guard_classify(ctx, text);
  if (!v) return false;
  if (!v->ok) {
    if (!m.guard_fails_closed()) return false;
    return unavailable_error("The content check is unavailable; retry shortly.").with_detail("retry_after", "1");
  }
  const auto set = [r](std::string_view name, bool hit) {
    for (auto& [have, was] : r->categories) {
      if (have == name) {
        was = was || hit;
        return;
      }
    }
    r->categories.emplace_back(std::string(name), hit);
  };
  for (const std::string_view name : guard_categories()) set(name, false);
  for (const std::string& c : v->categories) set(openai_category(c), true);
  r->flagged = r->flagged || v->unsafe;
  return true;
}

}  // namespace

// The chat messages of a request through the input rules: content strings and text parts, by the
// message's role. Redactions are written back into *messages_json.
Status screen_chat_messages(Moderation& m, const ModerationContext& ctx, std::string* messages_json,
                            std::string* last_user) {
  if (!m.enabled() && m.policy() == nullptr) return ok_status();
  boost::system::error_code ec;
  json::value doc = json::parse(*messages_json, ec);
  if (ec || !doc.is_array()) return ok_status();  // the parser refuses it next
  bool changed = false;
  for (json::value& msg : doc.as_array()) {
    if (!msg.is_object()) continue;
    json::object& o = msg.as_object();
    const json::value* r = o.if_contains("role");
    if (r == nullptr || !r->is_string()) continue;
    Result<policy::Role> role = role_of(r->as_string());
    if (!role.ok()) continue;
    json::value* content = o.if_contains("content");
    if (content == nullptr) continue;
    if (*role == policy::Role::kUser) last_user->clear();
    if (content->is_string()) {
      ASSIGN_OR_RETURN(bool c, screen_string(m, ctx, *role, *content));
      changed = changed || c;
      if (*role == policy::Role::kUser) *last_user = std::string(content->as_string());
    } else if (content->is_array()) {
      for (json::value& part : content->as_array()) {
        if (!part.is_object()) continue;
        json::value* text = part.as_object().if_contains("text");
        if (text == nullptr) continue;
        ASSIGN_OR_RETURN(bool c, screen_string(m, ctx, *role, *text));
        changed = changed || c;
        if (*role == policy::Role::kUser && text->is_string()) *last_user += std::string(text->as_string());
      }
    }
  }
  if (changed) *messages_json = json::serialize(doc);
  return ok_status();
}

ModerationContext Gateway::moderation_context(const RouteCall& call, std::string model) const {
  ModerationContext ctx;
  if (!call.principal.local_mode) ctx.user_id = call.principal.user_id;
  ctx.address = call.request.remote_address;
  ctx.request_id = call.request_id;
  ctx.model = std::move(model);
  return ctx;
}

void Gateway::moderations(RouteCall& call) {
  boost::system::error_code ec;
  const json::value body = json::parse(call.request.body, ec);
  const json::value* input = !ec && body.is_object() ? body.as_object().if_contains("input") : nullptr;
  std::vector<std::string> texts;
  Status st;
  if (input == nullptr) {
    st = invalid_param("input", "'input' is required: a string or an array of strings.");
  } else if (input->is_string()) {
    texts.emplace_back(input->as_string());
  } else if (input->is_array() && !input->as_array().empty() && input->as_array().size() <= kMaxModerationInputs) {
    for (const json::value& v : input->as_array()) {
      if (v.is_string()) {
        texts.emplace_back(v.as_string());
      } else if (v.is_object() && v.as_object().if_contains("text") && v.at("text").is_string()) {
        texts.emplace_back(v.at("text").as_string());  // {"type": "text", "text": ...}
      } else if (v.is_object() && v.as_object().if_contains("type")) {
        continue;  // an image: no rule looks at images
      } else {
        st = invalid_param("input", "Every item of 'input' must be a string.");
        break;
      }
    }
  } else {
    st = invalid_param("input",
                       fmt::format("'input' must be a string or an array of 1 to {} strings.", kMaxModerationInputs));
  }
  if (!st.ok()) {
    moderation_->record_violation(moderation_context(call, ""), policy::ViolationKind::kMalformedRequest);
    return api_json::reply_error(*call.responder, call.request_id, st);
  }
  std::string model = "parley-rules";
  if (const json::value* m = body.as_object().if_contains("model"); m != nullptr && m->is_string()) {
    model = std::string(m->as_string()).substr(0, 256);
  }
  const ModerationContext ctx = moderation_context(call, "");
  json::array results;
  for (const std::string& t : texts) {
    ModerationResult r = moderation_->classify(t);
    Result<bool> guarded = add_guard_categories(*moderation_, ctx, t, &r);
    if (!guarded.ok()) return api_json::reply_error(*call.responder, call.request_id, guarded.status());
    json::object categories, scores, applied;
    for (const auto& [name, hit] : r.categories) {
      categories[name] = hit;
      scores[name] = hit ? 1.0 : 0.0;
      applied[name] = json::array{"text"};
    }
    json::object o;
    o["flagged"] = r.flagged;
    o["categories"] = std::move(categories);
    o["category_scores"] = std::move(scores);
    o["category_applied_input_types"] = std::move(applied);
    results.push_back(std::move(o));
  }
  json::object out;
  out["id"] = "modr-" + new_request_id().substr(4);
  out["model"] = model;
  out["results"] = std::move(results);
  api_json::reply(*call.responder, 200, call.request_id, out);
}

void Gateway::add_moderation_routes() {
  routes_.add({.method = "POST",
               .pattern = "/v1/moderations",
               .name = "moderations",
               .caller = Caller::kApiKey,
               .scope = auth::Scope::kChat,
               .json_body = true,
               .max_body_bytes = 8u << 20,
               .handler = [this](RouteCall& c) { moderations(c); }});
  if (!accounts_) return;  // the admin API needs the store
  const auto admin = [this](std::string_view method, std::string_view pattern, bool json_body, RouteHandler h) {
    routes_.add({.method = method,
                 .pattern = pattern,
                 .name = "admin",
                 .caller = Caller::kUser,
                 .admin = true,
                 .json_body = json_body,
                 .max_body_bytes = json_body ? api_json::kMaxApiBodyBytes : kIgnoredBodyBytes,
                 .handler = std::move(h)});
  };
  admin("GET", "/api/admin/moderation/events", false, [this](RouteCall& c) { list_events(accounts_->store(), c); });
  admin("GET", "/api/admin/moderation/suspensions", false,
        [this](RouteCall& c) { list_suspensions(accounts_->store(), c); });
  admin("POST", "/api/admin/moderation/suspensions/lift", true, [this](RouteCall& c) {
    Result<json::object> body = api_json::parse_body(c.request, {"subject"});
    Result<std::optional<std::string>> subject =
        body.ok() ? api_json::string_field(*body, "subject", store::kMaxAuditShortBytes) : body.status();
    if (!subject.ok()) return api_json::reply_error(*c.responder, c.request_id, subject.status());
    if (!*subject) return api_json::reply_error(*c.responder, c.request_id, api_json::missing("subject"));
    const bool lifted = moderation_->lift(**subject, c.principal.user_id);
    log_event(LogLevel::kInfo, "suspension_lifted",
              {{"subject", **subject}, {"by", c.principal.user_id}, {"was_suspended", lifted}});
    api_json::reply(*c.responder, 200, c.request_id, json::object{{"subject", **subject}, {"lifted", lifted}});
  });
}

}  // namespace parley
