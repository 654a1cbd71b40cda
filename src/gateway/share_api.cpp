#include "gateway/share_api.h"

#include "api/conversation_response.h"
#include "auth/crypto.h"
#include "base/log.h"
#include "gateway/api_json.h"
#include "gateway/conversation_reply.h"
#include "gateway/http_errors.h"

namespace parley {
namespace {

using api_json::store_error;

Status conversation_not_found() {
  return not_found_error("The conversation does not exist.").with_detail("code", "conversation_not_found");
}

Status share_not_found() {
  return not_found_error("The shared conversation does not exist or is no longer shared.")
      .with_detail("code", "share_not_found");
}

ShareOut share_out(const store::Share& s) {
  ShareOut o;
  o.id = s.id;
  o.conversation_id = s.conversation_id;
  o.title = s.title;
  o.token = s.token;
  o.message_count = s.message_count;
  o.created_at = unix_seconds(s.created_at);
  if (s.revoked_at) o.revoked_at = unix_seconds(*s.revoked_at);
  return o;
}

void reply_json(RouteCall& c, int status, std::string body) {
  c.responder->respond(
      status, {{"Content-Type", "application/json"}, {"X-Request-Id", c.request_id}, {"Cache-Control", "no-store"}},
      std::move(body));
}

// The public view's headers, on its errors too: never indexed, never cached.
void reply_public(RouteCall& c, const Status& st, std::string body) {
  HttpHeaders h{{"Content-Type", "application/json"},
                {"X-Request-Id", c.request_id},
                {"Cache-Control", "no-store"},
                {"X-Robots-Tag", "noindex, nofollow"}};
  int status = 200;
  if (!st.ok()) {
    const HttpError e = to_http_error(st);
    status = e.status;
    if (e.retry_after_s > 0) h.emplace_back("Retry-After", std::to_string(e.retry_after_s));
    body = e.body();
  }
  c.responder->respond(status, std::move(h), std::move(body));
}

// The body of POST .../shares: none, or an empty JSON object (there is nothing to choose yet).
Status check_create_body(const HttpRequest& req) {
  if (req.body.find_first_not_of(" \t\r\n") == std::string::npos) return ok_status();
  return api_json::parse_body(req, {}).status();
}

}  // namespace

void ShareApi::add_routes(RouteTable& t) {
  const auto owner_route = [&](std::string_view method, std::string_view pattern, bool json, RouteHandler h) {
    t.add({.method = method,
           .pattern = pattern,
           .name = "shares",
           .caller = Caller::kUser,
           .scope = auth::Scope::kChat,  // as the conversations themselves
           .json_body = json,
           .max_body_bytes = json ? api_json::kMaxApiBodyBytes : kIgnoredBodyBytes,
           .handler = std::move(h)});
  };
  // A JSON body, so that a form on another site cannot make a public link (it cannot send this
  // type without a preflight; the Origin check stops it too).
  owner_route("POST", "/api/conversations/{id}/shares", true, [this](RouteCall& c) { create(c); });
  owner_route("GET", "/api/conversations/{id}/shares", false, [this](RouteCall& c) { list(c); });
  owner_route("DELETE", "/api/shares/{share_id}", false, [this](RouteCall& c) { revoke(c); });
  t.add({.method = "GET",
         .pattern = "/api/shared/{token}",
         .name = "shared",
         .caller = Caller::kAnyone,
         .handler = [this](RouteCall& c) { view(c); }});
}

void ShareApi::create(RouteCall& c) {
  if (Status st = check_create_body(c.request); !st.ok()) return api_json::reply_error(*c.responder, c.request_id, st);
  const std::string& owner = c.principal.user_id;
  const std::string conversation_id(c.param("id"));
  Result<store::MessageTree> tree = store_.get_message_tree(owner, conversation_id);
  if (!tree.ok()) {
    const Status st =
        tree.status().code() == ErrorCode::kNotFound ? conversation_not_found() : store_error(tree.status());
    return api_json::reply_error(*c.responder, c.request_id, st);
  }
  Result<std::vector<store::Message>> path = store::message_path(*tree);
  if (!path.ok()) return api_json::reply_error(*c.responder, c.request_id, store_error(path.status()));
  std::int64_t shown = 0;
  for (const store::Message& m : *path) shown += m.role == store::MessageRole::kSystem ? 0 : 1;
  if (shown == 0) {
    return api_json::reply_error(*c.responder, c.request_id,
                                 invalid_argument_error("The conversation has no messages to share yet.")
                                     .with_detail("code", "conversation_empty"));
  }
  store::NewShare s;
  s.conversation_id = conversation_id;
  s.token = auth::base64url_encode(auth::random_bytes(32));
  s.leaf_message_id = path->back().id;
  s.title = tree->conversation.title;
  s.message_count = shown;
  Result<store::Share> share = store_.create_share(owner, s);
  if (!share.ok()) {
    const Status st =
        share.status().code() == ErrorCode::kNotFound ? conversation_not_found() : store_error(share.status());
    return api_json::reply_error(*c.responder, c.request_id, st);
  }
  log_event(LogLevel::kInfo, "conversation shared",
            {{"request_id", c.request_id},
             {"user_id", owner},
             {"conversation_id", conversation_id},
             {"share_id", share->id}});
  reply_json(c, 201, share_json(share_out(*share)));
}

void ShareApi::list(RouteCall& c) {
  Result<std::vector<store::Share>> shares = store_.list_shares(c.principal.user_id, c.param("id"));
  if (!shares.ok()) {
    const Status st =
        shares.status().code() == ErrorCode::kNotFound ? conversation_not_found() : store_error(shares.status());
    return api_json::reply_error(*c.responder, c.request_id, st);
  }
  std::vector<ShareOut> out;
  out.reserve(shares->size());
  for (const store::Share& s : *shares) out.push_back(share_out(s));
  reply_json(c, 200, share_list_json(out));
}

void ShareApi::revoke(RouteCall& c) {
  Result<store::Share> share = store_.revoke_share(c.principal.user_id, c.param("share_id"));
  if (!share.ok()) {
    const Status st = share.status().code() == ErrorCode::kNotFound ? share_not_found() : store_error(share.status());
    return api_json::reply_error(*c.responder, c.request_id, st);
  }
  log_event(LogLevel::kInfo, "share revoked",
            {{"request_id", c.request_id}, {"user_id", c.principal.user_id}, {"share_id", share->id}});
  reply_json(c, 200, share_json(share_out(*share)));
}

void ShareApi::view(RouteCall& c) {
  if (options_.limiter != nullptr) {
    // Every attempt counts, found or not: guessing tokens is slow (and hopeless: 256 bits).
    const auth::RateDecision d =
        options_.limiter->try_acquire("ip:" + c.request.remote_address + ":shared", 1,
                                      auth::TokenBucketSpec::per_minute(options_.shared_per_minute_ip));
    if (!d.allowed)
      return reply_public(c, auth::rate_limited_error(d, "shared conversations read from this address"), {});
  }
  const std::string_view token = c.param("token");
  if (token.size() != kShareTokenChars || !auth::is_base64url(token)) return reply_public(c, share_not_found(), {});
  Result<store::SharedConversation> shared = store_.find_shared_conversation(token);
  if (!shared.ok()) {
    const Status st = shared.status().code() == ErrorCode::kNotFound ? share_not_found() : store_error(shared.status());
    return reply_public(c, st, {});
  }
  std::vector<SharedMessageOut> messages;
  for (const store::Message& m : shared->path) {
    if (m.role == store::MessageRole::kSystem) continue;
    messages.push_back({std::string(store::message_role_name(m.role)), m.content,
                        m.role == store::MessageRole::kAssistant ? m.model : std::string(),
                        unix_seconds(m.created_at)});
  }
  reply_public(c, ok_status(),
               shared_conversation_json(shared->share.title, unix_seconds(shared->share.created_at), messages));
}

}  // namespace parley
