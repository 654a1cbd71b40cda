// The holes an attacker's probe found (issue 11), each tried the way the attacker tried it, through
// a real `parley serve`-like server (the Gateway behind HttpServer with admission from the head):
// bodies of unauthenticated requests are never read, DNS rebinding and cross-site requests against
// the no-auth local mode are refused, /v1 takes JSON only, log-out refuses API keys, HEAD answers
// like GET, Parley's own API refuses unknown fields, and nobody can lock an owner out of an account.
#include <gtest/gtest.h>

#include <limits>
#include <set>

#include "../net/net_test_util.h"
#include "accounts_fixture.h"
#include "parley_test_site.h"

namespace parley::testing {
namespace {

class SecurityTest : public AccountsTest {
 protected:
  // Sends a request head declaring a large body plus a little of it, and reads the answer that
  // must come without the rest of the body.
  std::optional<RawSocket::Response> probe_body(const std::string& path, const std::string& extra_headers = "",
                                                std::size_t declared = 15728641) {
    RawSocket s(server_->port());
    EXPECT_TRUE(s.connected());
    const std::string head = "POST " + path +
                             " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                             "Content-Length: " +
                             std::to_string(declared) + "\r\n" + extra_headers + "\r\n";
    EXPECT_TRUE(s.send(head + std::string(64 << 10, '{')));
    auto r = s.read_response(false, 3000ms);
    if (r) {
      EXPECT_EQ(r->header("Connection"), "close") << path;
      EXPECT_TRUE(s.wait_closed()) << path;
    }
    return r;
  }
};

// Finding 2: an unauthenticated client declaring 15 MiB bodies made the server buffer them for the
// body timeout. Now it is answered from the head, and the body is never read.
TEST_F(SecurityTest, BodiesOfUnauthenticatedRequestsAreNeverRead) {
  start();
  auto r = probe_body("/v1/chat/completions", "", 1 << 20);
  ASSERT_TRUE(r.has_value()) << "no answer before the body arrived";
  EXPECT_EQ(r->status, 401);
  r = probe_body("/v1/chat/completions", "Authorization: Bearer pk-not-a-real-key\r\n", 1 << 20);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 401);
  r = probe_body("/v1/chat/completions");  // more than any served context could use: 413 first
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 413);
  r = probe_body("/api/conversations", "", 1 << 20);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 401);
  r = probe_body("/api/conversations");  // over the route's size: refused before anything else
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 413);
  r = probe_body("/no/such/path");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 404);
  // Anonymous endpoints take small bodies only: 413 from the head.
  r = probe_body("/api/auth/login");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 413);
  // A session's unsafe request without its CSRF token is refused before its body too.
  const Session s = signup("a@example.com");
  r = probe_body("/api/conversations", "Cookie: " + s.cookie + "\r\n", 1 << 20);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 403);
  // What held keeps holding: an authenticated request with a body works.
  const auto [id, key] = create_key(s);
  EXPECT_EQ(chat(key).status, 200);
}

TEST_F(SecurityTest, RefusalsOfBodilessRequestsKeepTheConnection) {
  start();
  RawSocket s(server_->port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(s.send("GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    auto r = s.read_response();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 401);
    EXPECT_EQ(r->header("Connection"), "");
  }
  EXPECT_FALSE(s.closed());
}

// Finding 3: with authentication off, a page that rebinds its name to 127.0.0.1 was served as the
// local admin.
TEST_F(SecurityTest, LocalModeServesOnlyLocalHostNames) {
  mode_ = AuthMode::kNone;
  gateway_options_.allowed_hosts = {"chat.internal", ".corp.example"};
  start();
  const auto with_host = [&](std::string host) { return call("GET", "/api/auth/me", {}, {{"Host", std::move(host)}}); };
  const Reply rebound = with_host("attacker.example.com");
  EXPECT_EQ(rebound.status, 403);
  EXPECT_EQ(rebound.error_code(), "host_not_allowed");
  EXPECT_EQ(with_host("attacker.example.com:" + std::to_string(server_->port())).status, 403);
  EXPECT_EQ(with_host("localhost.attacker.example").status, 403);
  EXPECT_EQ(with_host("127.0.0.1.nip.io").status, 403);
  for (const std::string ok :
       {"localhost", "localhost:8080", "LOCALHOST", "app.localhost:1", "127.0.0.1", "127.0.0.1:8080", "[::1]:8080",
        "10.1.2.3", "chat.internal", "a.b.corp.example", "corp.example"}) {
    EXPECT_EQ(with_host(ok).status, 200) << ok;
  }
  // The probes and the OpenAI API too.
  EXPECT_EQ(call("GET", "/v1/models", {}, {{"Host", "attacker.example.com"}}).status, 403);
  EXPECT_EQ(call("GET", "/health", {}, {{"Host", "attacker.example.com"}}).status, 403);
}

TEST_F(SecurityTest, WithAuthenticationAnyHostIsServedUnlessAllowedHostsIsSet) {
  start();
  EXPECT_EQ(call("GET", "/api/auth/options", {}, {{"Host", "chat.example.com"}}).status, 200);
  stop();
  gateway_options_.allowed_hosts = {"chat.example.com"};
  start();
  EXPECT_EQ(call("GET", "/api/auth/options", {}, {{"Host", "chat.example.com"}}).status, 200);
  EXPECT_EQ(call("GET", "/api/auth/options", {}, {{"Host", "other.example.com"}}).status, 403);
}

TEST_F(SecurityTest, StateChangingRequestsFromOtherOriginsAreRefused) {
  mode_ = AuthMode::kNone;
  gateway_options_.allowed_origins = {"https://app.example.com"};
  start();
  const std::string self = "http://127.0.0.1:" + std::to_string(server_->port());
  const std::string create = R"({"title":"t"})";
  const Reply foreign = call("POST", "/api/conversations", create, {{"Origin", "http://evil.example"}});
  EXPECT_EQ(foreign.status, 403);
  EXPECT_EQ(foreign.error_code(), "cross_origin");
  EXPECT_EQ(call("POST", "/api/conversations", create, {{"Origin", "null"}}).status, 403);
  EXPECT_EQ(call("POST", "/api/conversations", create, {{"Sec-Fetch-Site", "cross-site"}}).status, 403);
  EXPECT_EQ(
      call("POST", "/v1/chat/completions", R"({"model":"tiny","messages":[]})", {{"Origin", "http://evil.example"}})
          .status,
      403);
  EXPECT_EQ(call("DELETE", "/api/keys/key_x", {}, {{"Origin", "http://evil.example"}}).status, 403);
  // The page served from Parley itself, an allowed origin, and programs (no Origin) may.
  EXPECT_EQ(call("POST", "/api/conversations", create, {{"Origin", self}}).status, 201);
  EXPECT_EQ(call("POST", "/api/conversations", create, {{"Origin", "https://app.example.com"}}).status, 201);
  EXPECT_EQ(call("POST", "/api/conversations", create, {{"Sec-Fetch-Site", "same-origin"}}).status, 201);
  EXPECT_EQ(call("POST", "/api/conversations", create).status, 201);
  // Reading is not state-changing (and a foreign page cannot read the answer: no CORS).
  const Reply list = call("GET", "/api/conversations", {}, {{"Origin", "http://evil.example"}});
  EXPECT_EQ(list.status, 200);
  EXPECT_EQ(list.header("Access-Control-Allow-Origin"), "");
}

// Finding 3, last part: /v1 accepted text/plain, which any page may POST without a preflight.
TEST_F(SecurityTest, TheOpenAiApiTakesJsonOnly) {
  mode_ = AuthMode::kNone;
  start();
  const std::string body = R"({"model":"tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":1})";
  for (const std::string type : {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data", ""}) {
    const Reply r = call("POST", "/v1/chat/completions", body, {{"Content-Type", type}}, false);
    EXPECT_EQ(r.status, 415) << type;
    EXPECT_EQ(r.error_code(), "unsupported_media_type") << type;
  }
  EXPECT_EQ(call("POST", "/v1/completions", R"({"model":"tiny","prompt":"x","max_tokens":1})",
                 {{"Content-Type", "text/plain"}}, false)
                .status,
            415);
  EXPECT_EQ(
      call("POST", "/v1/chat/completions", body, {{"Content-Type", "application/json; charset=utf-8"}}, false).status,
      200);
}

TEST_F(SecurityTest, AnApiKeyCannotSignItsOwnerOut) {
  start();
  const Session s = signup("a@example.com");
  const auto [id, key] = create_key(s);
  const Reply r = with_key(key, "POST", "/api/auth/logout");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.error_code(), "session_required");
  EXPECT_EQ(as(s, "GET", "/api/auth/me").status, 200);  // the session lives on
  EXPECT_EQ(as(s, "POST", "/api/auth/logout").status, 204);
  EXPECT_EQ(as(s, "GET", "/api/auth/me").status, 401);
}

TEST_F(SecurityTest, HeadAnswersLikeGetWithoutABody) {
  start();
  const Session s = signup("a@example.com");
  const auto [id, key] = create_key(s);
  for (const std::string path : {"/v1/models", "/v1/models/tiny", "/health", "/api/auth/options"}) {
    const Reply get = with_key(key, "GET", path);
    const Reply head = with_key(key, "HEAD", path);
    EXPECT_EQ(head.status, get.status) << path;
    EXPECT_EQ(head.body, "") << path;
    EXPECT_EQ(head.header("Content-Length"), std::to_string(get.body.size())) << path;
    EXPECT_EQ(head.header("Content-Type"), get.header("Content-Type")) << path;
  }
  EXPECT_EQ(as(s, "HEAD", "/api/conversations").status, 200);
  EXPECT_EQ(call("HEAD", "/v1/models").status, 401);
  EXPECT_NE(call("OPTIONS", "/v1/models").header("Allow").find("HEAD"), std::string::npos);
}

TEST_F(SecurityTest, ParleysOwnApiRefusesUnknownFields) {
  start();
  const Session s = signup("a@example.com");
  const Reply r = as(s, "POST", "/api/conversations", R"({"title":"t","sytem_prompt":"typo"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.json.at("error").at("param"), "sytem_prompt");
  const Reply ok = as(s, "POST", "/api/conversations", R"({"title":"t"})");
  ASSERT_EQ(ok.status, 201);
  const std::string conv(ok.json.at("id").as_string());
  EXPECT_EQ(as(s, "PATCH", "/api/conversations/" + conv, R"({"title":"u","archive":true})").status, 400);
  EXPECT_EQ(as(s, "POST", "/api/conversations/" + conv + "/messages", R"({"content":"hi","temprature":0})").status,
            400);
  EXPECT_EQ(as(s, "POST", "/api/keys", R"({"nmae":"x"})").status, 400);
  // The OpenAI API ignores them, as OpenAI does (SDKs send new fields over time).
  const auto [id, key] = create_key(s);
  EXPECT_EQ(with_key(key, "POST", "/v1/chat/completions",
                     R"({"model":"tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":1,"future_field":1})")
                .status,
            200);
}

// Finding 9: after 10 wrong passwords a minute from anywhere, the right password was refused too.
TEST_F(SecurityTest, WrongPasswordsFromElsewhereDoNotLockTheOwnerOut) {
  config_.auth.login_per_minute_account = 3;
  config_.auth.login_per_hour_account = 4;
  config_.auth.login_per_minute_ip = 1000;
  start();
  // The owner signed up (or in) on this browser before: it keeps the device cookie.
  const Reply signed_up =
      call("POST", "/api/auth/signup", R"({"email":"owner@example.com","password":"correct horse battery"})");
  ASSERT_EQ(signed_up.status, 201);
  std::string device;
  for (const auto& [name, value] : signed_up.headers) {
    if (iequals(name, "Set-Cookie") && value.starts_with("parley_device=")) device = value.substr(0, value.find(';'));
  }
  ASSERT_FALSE(device.empty()) << "no device cookie";
  EXPECT_NE(device.find('.'), std::string::npos);
  const std::string wrong = R"({"email":"owner@example.com","password":"wrong password"})";
  const std::string right = R"({"email":"owner@example.com","password":"correct horse battery"})";
  // An attacker guesses until refused.
  int refused = 0;
  for (int i = 0; i < 8; ++i) refused += call("POST", "/api/auth/login", wrong).status == 429 ? 1 : 0;
  EXPECT_GE(refused, 4);
  // The owner's browser still gets in...
  const Reply owner = call("POST", "/api/auth/login", right, {{"Cookie", device}});
  EXPECT_EQ(owner.status, 200) << owner.body;
  // ... while a browser the account has never seen is slowed down with the attacker.
  EXPECT_EQ(call("POST", "/api/auth/login", right).status, 429);
  // A device cookie of another account, or a forged one, counts for nothing.
  const Reply other =
      call("POST", "/api/auth/signup", R"({"email":"mallory@example.com","password":"another fine passphrase"})");
  ASSERT_EQ(other.status, 201);
  std::string mallory_device;
  for (const auto& [name, value] : other.headers) {
    if (iequals(name, "Set-Cookie") && value.starts_with("parley_device="))
      mallory_device = value.substr(0, value.find(';'));
  }
  EXPECT_EQ(call("POST", "/api/auth/login", right, {{"Cookie", mallory_device}}).status, 429);
  EXPECT_EQ(call("POST", "/api/auth/login", right, {{"Cookie", device + "x"}}).status, 429);
  // The known browser is limited on its own: it cannot be used to guess without limit either.
  int device_refused = 0;
  for (int i = 0; i < 5; ++i) {
    device_refused += call("POST", "/api/auth/login", wrong, {{"Cookie", device}}).status == 429 ? 1 : 0;
  }
  EXPECT_GE(device_refused, 2);
}

// The gateway's whole table, checked once: what anyone may call is a short, known list; every
// route that takes a body takes JSON within a bound; the OpenAI API takes keys; admin paths need
// the admin role; the web UI (the fallback) answers GET only and no path of the API.
TEST_F(SecurityTest, EveryRouteDeclaresWhoMayCallIt) {
  gateway_options_.site = StaticSite::embedded(test_site_files());
  start();
  // A share link's token is its credential (gateway/share_api.h); the web UI is public.
  const std::set<std::string> anonymous = {"GET /health",
                                           "GET /ready",
                                           "GET /metrics",
                                           "GET /api/auth/options",
                                           "POST /api/auth/signup",
                                           "POST /api/auth/login",
                                           "GET /api/shared/{token}",
                                           "GET /{*path}"};
  std::set<std::string> seen_anonymous;
  std::size_t n = 0;
  for (const RouteSpec& r : gateway_->routes().routes()) {
    ++n;
    const std::string name = std::string(r.method) + " " + std::string(r.pattern);
    if (r.caller == Caller::kAnyone) seen_anonymous.insert(name);
    EXPECT_LE(r.max_body_bytes, r.json_body ? std::numeric_limits<std::size_t>::max() : kIgnoredBodyBytes) << name;
    if (r.caller == Caller::kAnyone) {
      EXPECT_LE(r.max_body_bytes, std::size_t{64} << 10) << name;
    }
    // Actions named by their path take no body (the CSRF header still guards a session's POST).
    const bool bodiless = r.pattern.ends_with("/stop") || r.pattern == "/api/auth/logout" ||
                          (r.pattern.starts_with("/api/admin/models/{id}/") &&
                           (r.pattern.ends_with("/load") || r.pattern.ends_with("/unload") ||
                            r.pattern.ends_with("/pin") || r.pattern.ends_with("/unpin")));
    const bool writes_json = (r.method == "POST" || r.method == "PUT" || r.method == "PATCH") && !bodiless;
    EXPECT_EQ(r.json_body, writes_json) << name;
    if (r.pattern.starts_with("/v1/")) {
      EXPECT_EQ(r.caller, Caller::kApiKey) << name;
    }
    if (r.pattern.starts_with("/api/admin")) {
      EXPECT_TRUE(r.admin) << name;
    }
    if (r.pattern.starts_with("/api/keys")) {
      EXPECT_EQ(r.caller, Caller::kSession) << name;
    }
    if (r.pattern.starts_with("/api/conversations") || r.pattern.starts_with("/api/shares")) {
      EXPECT_EQ(r.scope, auth::Scope::kChat) << name;
    }
  }
  EXPECT_EQ(seen_anonymous, anonymous);
  EXPECT_GE(n, 30u);
  // The UI's fallback: GET (and HEAD) only, without a body, and never on a path of the API: every
  // other route lies under a reserved prefix, so an unknown path there stays the API's 404.
  const RouteTable& table = gateway_->routes();
  ASSERT_NE(table.fallback(), nullptr);
  EXPECT_EQ(table.fallback()->method, "GET");
  EXPECT_EQ(table.fallback()->max_body_bytes, kIgnoredBodyBytes);
  EXPECT_FALSE(table.fallback()->json_body);
  const std::set<std::string> reserved(table.reserved().begin(), table.reserved().end());
  EXPECT_EQ(reserved, (std::set<std::string>{"/api", "/v1", "/health", "/ready", "/metrics"}));
  for (const RouteSpec& r : table.routes()) {
    if (&r == table.fallback()) continue;
    EXPECT_FALSE(table.fallback_covers(r.pattern)) << r.method << " " << r.pattern << " is outside the API";
  }
}

}  // namespace
}  // namespace parley::testing
