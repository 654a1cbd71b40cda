// The route table and the Host/Origin guard as pure functions: matching, 404/405, authorization
// of each kind of caller, the body checks made from the head, and which Host and Origin values
// are served.
#include "gateway/route_table.h"

#include <gtest/gtest.h>

#include "gateway/request_guard.h"

namespace parley {
namespace {

RouteSpec spec(std::string_view method, std::string_view pattern, Caller caller = Caller::kUser) {
  return {.method = method, .pattern = pattern, .name = "t", .caller = caller, .handler = [](RouteCall&) {}};
}

HttpRequest head(std::string method, std::string path, HttpHeaders headers = {}) {
  HttpRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.headers = std::move(headers);
  return r;
}

TEST(RouteTable, MatchesLiteralsParamsAndTheRest) {
  RouteTable t;
  t.add(spec("GET", "/api/conversations"));
  t.add(spec("POST", "/api/conversations"));
  t.add(spec("GET", "/api/conversations/{id}"));
  t.add(spec("POST", "/api/conversations/{id}/messages/{message_id}/regenerate"));
  t.add(spec("GET", "/v1/models/{*id}"));

  RouteTable::Match m = t.match("POST", "/api/conversations/cnv_1/messages/msg_2/regenerate");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/api/conversations/{id}/messages/{message_id}/regenerate");
  RouteCall call;
  call.params = m.params;
  EXPECT_EQ(call.param("id"), "cnv_1");
  EXPECT_EQ(call.param("message_id"), "msg_2");
  EXPECT_EQ(call.param("nothing"), "");

  m = t.match("GET", "/v1/models/org/model-7b");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.params.at(0).second, "org/model-7b");
  EXPECT_EQ(t.match("GET", "/v1/models/").route, nullptr);

  // HEAD is GET; a known path with another method is 405 with every allowed method.
  m = t.match("HEAD", "/api/conversations");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->method, "GET");
  m = t.match("DELETE", "/api/conversations");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_EQ(m.allowed, "GET, HEAD, POST");
  // Unknown paths: empty segments, trailing slashes, prefixes, longer paths.
  for (const char* p : {"/api/conversations/", "/api/conversations//x", "/api/conversationsX", "/api",
                        "/api/conversations/a/b", "", "nopath"}) {
    m = t.match("GET", p);
    EXPECT_EQ(m.route, nullptr) << p;
    EXPECT_EQ(m.allowed, "") << p;
  }
  HttpHeaders extra;
  EXPECT_EQ(no_route_error(head("GET", "/x"), t.match("GET", "/x"), &extra).code(), ErrorCode::kNotFound);
  const Status st = no_route_error(head("PUT", "/api/conversations"), t.match("PUT", "/api/conversations"), &extra);
  EXPECT_EQ(st.detail("http_status"), "405");
  EXPECT_EQ(find_header(extra, "Allow"), "GET, HEAD, POST");
}

// The web UI's fallback takes what no route matches outside the reserved prefixes.
TEST(RouteTable, TheFallbackTakesOnlyPathsOutsideTheApi) {
  RouteTable t;
  t.add(spec("GET", "/health"));
  t.add(spec("GET", "/api/conversations"));
  t.add(spec("POST", "/api/conversations"));
  t.set_fallback(spec("GET", "/{*path}", Caller::kAnyone), {"/api", "/v1", "/health"});
  EXPECT_EQ(t.routes().size(), 4u);
  ASSERT_NE(t.fallback(), nullptr);

  for (const auto& [path, bound] :
       std::initializer_list<std::pair<const char*, const char*>>{{"/", ""},
                                                                  {"/c/xyz", "c/xyz"},
                                                                  {"/assets/a.js", "assets/a.js"},
                                                                  {"/apix", "apix"},
                                                                  {"/v1x/y", "v1x/y"},
                                                                  {"/healthz", "healthz"},
                                                                  {"//api/x", "/api/x"}}) {
    for (const char* method : {"GET", "HEAD"}) {
      const RouteTable::Match m = t.match(method, path);
      ASSERT_EQ(m.route, t.fallback()) << method << " " << path;
      ASSERT_EQ(m.params.size(), 1u);
      EXPECT_EQ(m.params[0].first, "path");
      EXPECT_EQ(m.params[0].second, bound) << path;
    }
    const RouteTable::Match post = t.match("POST", path);
    EXPECT_EQ(post.route, nullptr) << path;
    EXPECT_EQ(post.allowed, "GET, HEAD") << path;
  }
  // Reserved: unknown paths stay 404 and known ones keep their own methods.
  for (const char* path : {"/api", "/api/", "/api/nope", "/v1", "/v1/models", "/health/x", "", "*"}) {
    const RouteTable::Match m = t.match("GET", path);
    EXPECT_EQ(m.route, nullptr) << path;
    EXPECT_EQ(m.allowed, "") << path;
  }
  EXPECT_EQ(t.match("GET", "/health").route->pattern, "/health");
  const RouteTable::Match del = t.match("DELETE", "/api/conversations");
  EXPECT_EQ(del.route, nullptr);
  EXPECT_EQ(del.allowed, "GET, HEAD, POST");
  EXPECT_TRUE(t.fallback_covers("/c/1"));
  EXPECT_FALSE(t.fallback_covers("/api/conversations"));
  EXPECT_FALSE(t.fallback_covers("relative"));
}

TEST(RouteTable, AuthorizeEachKindOfCaller) {
  Principal session;
  session.role = auth::Role::kUser;
  session.scopes = auth::scopes_for_role(auth::Role::kUser);
  session.via_session = true;
  Principal key = session;
  key.via_session = false;
  key.api_key_id = "key_1";
  key.scopes = {auth::Scope::kModels};
  Principal admin_key = key;
  admin_key.role = auth::Role::kAdmin;
  admin_key.scopes = {auth::Scope::kChat};
  Principal local;
  local.role = auth::Role::kAdmin;
  local.scopes = auth::scopes_for_role(auth::Role::kAdmin);
  local.local_mode = true;

  RouteSpec openai = spec("POST", "/v1/chat/completions", Caller::kApiKey);
  openai.scope = auth::Scope::kChat;
  EXPECT_EQ(authorize(openai, session).detail("code"), "invalid_api_key");
  EXPECT_EQ(authorize(openai, key).detail("code"), "insufficient_scope");
  EXPECT_TRUE(authorize(openai, admin_key).ok());
  EXPECT_TRUE(authorize(openai, local).ok());

  const RouteSpec keys = spec("POST", "/api/keys", Caller::kSession);
  EXPECT_TRUE(authorize(keys, session).ok());
  EXPECT_EQ(authorize(keys, key).detail("code"), "session_required");
  EXPECT_TRUE(authorize(keys, local).ok());

  RouteSpec admin = spec("GET", "/api/admin/users");
  admin.admin = true;
  EXPECT_EQ(authorize(admin, session).detail("code"), "admin_required");
  EXPECT_EQ(authorize(admin, admin_key).detail("code"), "admin_required") << "an admin's key without the admin scope";
  admin_key.scopes.add(auth::Scope::kAdmin);
  EXPECT_TRUE(authorize(admin, admin_key).ok());
  EXPECT_TRUE(authorize(admin, local).ok());
  EXPECT_TRUE(authorize(spec("GET", "/health", Caller::kAnyone), Principal{}).ok());
}

TEST(RouteTable, BodyChecksFromTheHead) {
  RouteSpec json = spec("POST", "/x");
  json.json_body = true;
  json.max_body_bytes = 100;
  EXPECT_TRUE(check_body_head(json, head("POST", "/x", {{"Content-Type", "application/json"}})).ok());
  EXPECT_TRUE(check_body_head(json, head("POST", "/x", {{"Content-Type", "Application/JSON; charset=utf-8"}})).ok());
  for (const char* type : {"text/plain", "application/jsonx", "application/x-www-form-urlencoded", ""}) {
    EXPECT_EQ(check_body_head(json, head("POST", "/x", {{"Content-Type", type}})).detail("http_status"), "415") << type;
  }
  EXPECT_EQ(check_body_head(json, head("POST", "/x", {{"Content-Type", "application/json"}, {"Content-Length", "101"}}))
                .detail("http_status"),
            "413");
  const RouteSpec plain = spec("POST", "/stop");
  EXPECT_TRUE(check_body_head(plain, head("POST", "/stop", {{"Content-Length", "2"}})).ok());
  EXPECT_EQ(check_body_head(plain, head("POST", "/stop", {{"Content-Length", "5000"}})).detail("http_status"), "413");
}

TEST(RequestGuard, HostNamesServedInLocalMode) {
  EXPECT_EQ(host_without_port("[::1]:8080"), "::1");
  EXPECT_EQ(host_without_port("LocalHost:80"), "localhost");
  EXPECT_EQ(host_without_port("a:b:c"), "");
  EXPECT_EQ(host_without_port("[::1"), "");
  HostPolicy local;
  local.allowed_hosts = {"chat.lan", ".corp.example"};
  for (const char* ok : {"localhost", "x.localhost:3", "127.0.0.1", "127.8.9.10:1", "[::1]", "192.168.1.5",
                         "chat.lan:8080", "corp.example", "a.corp.example", ""}) {
    EXPECT_TRUE(check_host(local, ok).ok()) << ok;
  }
  for (const char* bad : {"attacker.example", "localhost.attacker.example", "xcorp.example", "chat.lan.evil",
                          "127.0.0.1.nip.io", "[::1", "a:b:c"}) {
    EXPECT_EQ(check_host(local, bad).detail("code"), "host_not_allowed") << bad;
  }
  HostPolicy with_auth;
  with_auth.local_mode = false;
  EXPECT_TRUE(check_host(with_auth, "attacker.example").ok());
  with_auth.allowed_hosts = {"chat.example.com"};
  EXPECT_FALSE(check_host(with_auth, "localhost").ok()) << "localhost is special in local mode only";
  EXPECT_TRUE(check_host(with_auth, "chat.example.com:443").ok());
}

TEST(RequestGuard, OriginsOfStateChangingRequests) {
  HostPolicy p;
  p.allowed_origins = {"https://app.example.com"};
  const auto with = [](std::string method, HttpHeaders h) { return head(std::move(method), "/", std::move(h)); };
  EXPECT_TRUE(check_origin(p, with("POST", {{"Host", "127.0.0.1:8080"}, {"Origin", "http://127.0.0.1:8080"}})).ok());
  EXPECT_TRUE(
      check_origin(p, with("POST", {{"Host", "chat.example.com"}, {"Origin", "https://chat.example.com"}})).ok());
  EXPECT_TRUE(
      check_origin(p, with("POST", {{"Host", "chat.example.com:443"}, {"Origin", "https://chat.example.com"}})).ok());
  EXPECT_TRUE(check_origin(p, with("PATCH", {{"Host", "x"}, {"Origin", "https://app.example.com"}})).ok());
  EXPECT_TRUE(check_origin(p, with("POST", {{"Host", "x"}})).ok()) << "programs send no Origin";
  EXPECT_TRUE(check_origin(p, with("GET", {{"Host", "x"}, {"Origin", "http://evil.example"}})).ok());
  for (const HttpHeaders& h : std::vector<HttpHeaders>{
           {{"Host", "127.0.0.1:8080"}, {"Origin", "http://evil.example"}},
           {{"Host", "127.0.0.1:8080"}, {"Origin", "http://127.0.0.1:8081"}},
           {{"Host", "127.0.0.1:8080"}, {"Origin", "null"}},
           {{"Host", "127.0.0.1:8080"}, {"Origin", "http://127.0.0.1:8080/path"}},
           {{"Host", "127.0.0.1:8080"}, {"Sec-Fetch-Site", "cross-site"}},
       }) {
    EXPECT_EQ(check_origin(p, with("POST", h)).detail("code"), "cross_origin") << h.back().second;
    EXPECT_EQ(check_origin(p, with("DELETE", h)).detail("code"), "cross_origin");
  }
}

TEST(RequestGuard, ConfiguredEntriesAreChecked) {
  EXPECT_TRUE(validate_allowed_host("chat.example.com").ok());
  EXPECT_TRUE(validate_allowed_host(".example.com").ok());
  EXPECT_TRUE(validate_allowed_host("*").ok());
  EXPECT_FALSE(validate_allowed_host("").ok());
  EXPECT_FALSE(validate_allowed_host("a b").ok());
  EXPECT_FALSE(validate_allowed_host("http://x").ok());
  EXPECT_TRUE(validate_allowed_origin("https://app.example.com").ok());
  EXPECT_TRUE(validate_allowed_origin("http://localhost:5173").ok());
  EXPECT_FALSE(validate_allowed_origin("app.example.com").ok());
  EXPECT_FALSE(validate_allowed_origin("https://app.example.com/").ok());
  EXPECT_FALSE(validate_allowed_origin("ftp://x").ok());
}

}  // namespace
}  // namespace parley
