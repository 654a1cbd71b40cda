// The web UI as a browser gets it from a real `parley serve`-like server (the Gateway behind
// HttpServer, authentication on): the SPA fallback, assets, encodings, 304, HEAD, the security
// headers on every UI answer, and the API's own 404s and 405s left exactly as they were.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../net/net_test_util.h"
#include "accounts_fixture.h"
#include "parley_test_site.h"

namespace parley::testing {
namespace {

namespace fs = std::filesystem;

const EmbeddedFile& embedded(std::string_view path) {
  for (const EmbeddedFile& f : test_site_files()) {
    if (f.path == path) return f;
  }
  ADD_FAILURE() << "not embedded: " << path;
  static const EmbeddedFile kNone{};
  return kNone;
}

class WebUiTest : public AccountsTest {
 protected:
  void SetUp() override {
    AccountsTest::SetUp();
    gateway_options_.site = StaticSite::embedded(test_site_files());
  }

  static void expect_ui_headers(const Reply& r, const std::string& what) {
    for (const auto& [name, value] : web_security_headers()) EXPECT_EQ(r.header(name), value) << what << ": " << name;
    EXPECT_FALSE(r.header("X-Request-Id").empty()) << what;
  }
};

TEST_F(WebUiTest, ClientRoutesAnswerTheIndexWithoutCredentials) {
  start();
  const EmbeddedFile& index = embedded("index.html");
  for (const std::string path : {"/", "/c/xyz", "/settings", "/admin", "/login", "/share/abc", "/index.html"}) {
    const Reply r = call("GET", path);
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.body, index.bytes) << path;
    EXPECT_EQ(r.header("Content-Type"), "text/html; charset=utf-8") << path;
    EXPECT_EQ(r.header("Cache-Control"), "no-cache") << path;
    EXPECT_EQ(r.header("ETag"), index.etag) << path;
    EXPECT_EQ(r.header("Vary"), "Accept-Encoding") << path;
    EXPECT_EQ(r.header("X-Robots-Tag"), path.starts_with("/share/") ? "noindex, nofollow" : "") << path;
    expect_ui_headers(r, path);
  }
}

TEST_F(WebUiTest, AssetsAreImmutableAndCompressedOnlyWhenAccepted) {
  start();
  const EmbeddedFile& js = embedded("assets/app-3f9a1c.js");
  Reply r = call("GET", "/assets/app-3f9a1c.js");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, js.bytes);
  EXPECT_EQ(r.header("Content-Encoding"), "");
  EXPECT_EQ(r.header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(r.header("Cache-Control"), "public, max-age=31536000, immutable");
  expect_ui_headers(r, "asset");
  // What Chromium sends over plain HTTP, and over HTTPS.
  r = call("GET", "/assets/app-3f9a1c.js", {}, {{"Accept-Encoding", "gzip, deflate"}});
  EXPECT_EQ(r.header("Content-Encoding"), "gzip");
  EXPECT_EQ(r.body, js.gzip);
  EXPECT_EQ(r.header("Vary"), "Accept-Encoding");
  r = call("GET", "/assets/app-3f9a1c.js", {}, {{"Accept-Encoding", "gzip, deflate, br, zstd"}});
  EXPECT_EQ(r.header("Content-Encoding"), "br");
  EXPECT_EQ(r.body, js.br);
  EXPECT_EQ(r.header("Content-Length"), std::to_string(js.br.size()));
  r = call("GET", "/assets/app-3f9a1c.js", {}, {{"Accept-Encoding", "br;q=0, gzip;q=0, identity"}});
  EXPECT_EQ(r.header("Content-Encoding"), "");
  EXPECT_EQ(r.body, js.bytes);
  r = call("GET", "/favicon.svg");
  EXPECT_EQ(r.header("Content-Type"), "image/svg+xml");
  EXPECT_EQ(r.header("Cache-Control"), "no-cache");
  // A missing hashed file is a 404 (never the index, which would be run as a script).
  r = call("GET", "/assets/app-000000.js");
  EXPECT_EQ(r.status, 404);
  expect_ui_headers(r, "missing asset");
}

TEST_F(WebUiTest, ApiPathsKeepTheirMeaning) {
  start();
  for (const std::string path : {"/api", "/api/", "/api/nope", "/api/auth/nope", "/v1", "/v1/", "/v1/nope",
                                 "/v1/chat/completions/x", "/health/x", "/metrics/x", "/ready/x"}) {
    const Reply r = call("GET", path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.header("Content-Type"), "application/json") << path;
    EXPECT_EQ(r.error_code(), "not_found") << path;
    EXPECT_EQ(r.header("Content-Security-Policy"), "") << path;
  }
  Reply r = call("GET", "/health");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"status":"ok"})");
  EXPECT_EQ(call("GET", "/metrics").header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  for (const char* name : {"process_resident_memory_bytes", "process_open_fds", "process_threads"})
    EXPECT_NE(call("GET", "/metrics").body.find(std::string("\n") + name + " "), std::string::npos) << name;
  EXPECT_EQ(call("GET", "/api/conversations").status, 401);
  EXPECT_EQ(call("GET", "/v1/models").status, 401);
  EXPECT_EQ(call("GET", "/api/auth/options").status, 200);
  r = call("DELETE", "/health");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("Allow"), "GET, HEAD");
  r = call("POST", "/v1/models", "{}");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.error_code(), "method_not_allowed");
  r = call("POST", "/api/nope", "{}");
  EXPECT_EQ(r.status, 404);
}

TEST_F(WebUiTest, OtherMethodsOnUiPathsAre405) {
  start();
  for (const std::string path : {"/", "/c/xyz", "/assets/app-3f9a1c.js", "/index.html"}) {
    for (const char* method : {"POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
      const Reply r = call(method, path, std::string(method) == "POST" ? "{}" : "");
      EXPECT_EQ(r.status, 405) << method << " " << path;
      EXPECT_EQ(r.header("Allow"), "GET, HEAD") << method << " " << path;
      EXPECT_EQ(r.error_code(), "method_not_allowed") << method << " " << path;
    }
  }
}

TEST_F(WebUiTest, HeadAnswersLikeGetWithoutTheBody) {
  start();
  for (const auto& [path, accept] : std::initializer_list<std::pair<std::string, std::string>>{
           {"/", ""}, {"/c/xyz", "gzip"}, {"/assets/app-3f9a1c.js", "br"}, {"/assets/app-000000.js", ""}}) {
    const Reply get = call("GET", path, {}, {{"Accept-Encoding", accept}});
    const Reply head = call("HEAD", path, {}, {{"Accept-Encoding", accept}});
    EXPECT_EQ(head.status, get.status) << path;
    EXPECT_EQ(head.body, "") << path;
    EXPECT_EQ(head.header("Content-Length"), std::to_string(get.body.size())) << path;
    for (const char* h : {"Content-Type", "Content-Encoding", "ETag", "Cache-Control", "Content-Security-Policy"}) {
      EXPECT_EQ(head.header(h), get.header(h)) << path << " " << h;
    }
  }
}

TEST_F(WebUiTest, ConditionalRequestsAnswer304) {
  start();
  const Reply first = call("GET", "/assets/app-3f9a1c.js", {}, {{"Accept-Encoding", "gzip"}});
  const std::string etag(first.header("ETag"));
  ASSERT_FALSE(etag.empty());
  Reply r = call("GET", "/assets/app-3f9a1c.js", {}, {{"Accept-Encoding", "gzip"}, {"If-None-Match", etag}});
  EXPECT_EQ(r.status, 304);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.header("ETag"), etag);
  EXPECT_EQ(r.header("Cache-Control"), "public, max-age=31536000, immutable");
  expect_ui_headers(r, "304");
  // Another representation is not validated by this one's tag.
  r = call("GET", "/assets/app-3f9a1c.js", {}, {{"If-None-Match", etag}});
  EXPECT_EQ(r.status, 200);
  const std::string index_etag(embedded("index.html").etag);
  EXPECT_EQ(call("GET", "/settings", {}, {{"If-None-Match", index_etag}}).status, 304);
  r = call("GET", "/share/t", {}, {{"If-None-Match", index_etag}});
  EXPECT_EQ(r.status, 304);
  EXPECT_EQ(r.header("X-Robots-Tag"), "noindex, nofollow");
}

TEST_F(WebUiTest, LocalModeServesTheUiOnlyToLocalHostNames) {
  mode_ = AuthMode::kNone;
  start();
  const Reply rebound = call("GET", "/", {}, {{"Host", "attacker.example.com"}});
  EXPECT_EQ(rebound.status, 403);
  EXPECT_EQ(rebound.error_code(), "host_not_allowed");
  EXPECT_EQ(call("GET", "/", {}, {{"Host", "localhost:8080"}}).status, 200);
  EXPECT_EQ(call("GET", "/c/1", {}, {{"Host", "127.0.0.1"}}).status, 200);
}

TEST_F(WebUiTest, WithoutASiteEveryUnknownPathIsTheApiNotFound) {
  gateway_options_.site = nullptr;
  start();
  EXPECT_EQ(gateway_->routes().fallback(), nullptr);
  for (const std::string path : {"/", "/c/xyz", "/assets/app-3f9a1c.js"}) {
    const Reply r = call("GET", path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.error_code(), "not_found") << path;
  }
  EXPECT_EQ(call("POST", "/", "{}").status, 404);
}

// --web-dir over HTTP: files read per request; what a client sends (percent-encoded dots,
// absolute paths) never reaches outside the directory.
TEST_F(WebUiTest, AWebDirectoryIsReadPerRequestAndNeverLeft) {
  const fs::path base = dir_ / "web";
  fs::create_directories(base / "dist" / "assets");
  fs::create_directories(base / "outside");
  std::ofstream(base / "dist" / "index.html") << "<!doctype html><p>dev index</p>";
  std::ofstream(base / "dist" / "assets" / "app.js") << "one();";
  std::ofstream(base / "outside" / "secret.txt") << "SECRET-OUTSIDE";
  fs::create_symlink(base / "outside" / "secret.txt", base / "dist" / "secret.txt");
  auto site = StaticSite::directory((base / "dist").string());
  ASSERT_TRUE(site.ok());
  gateway_options_.site = *site;
  start();
  EXPECT_EQ(call("GET", "/assets/app.js").body, "one();");
  std::ofstream(base / "dist" / "assets" / "app.js") << "two();";
  EXPECT_EQ(call("GET", "/assets/app.js").body, "two();");
  EXPECT_EQ(call("GET", "/c/1").body, "<!doctype html><p>dev index</p>");

  const std::string abs = (base / "outside" / "secret.txt").string();
  for (const std::string& target : std::vector<std::string>{
           std::string("/../outside/secret.txt"), std::string("/%2e%2e/outside/secret.txt"),
           std::string("/assets/%2E%2E/%2e%2e/outside/secret.txt"), std::string("/..%2foutside%2fsecret.txt"),
           std::string("/secret.txt"), "/" + abs, "/%2f" + abs.substr(1), "/..%5c..%5coutside%5csecret.txt"}) {
    RawSocket s(server_->port());
    ASSERT_TRUE(s.connected());
    ASSERT_TRUE(s.send("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    const auto r = s.read_response();
    ASSERT_TRUE(r.has_value()) << target;
    EXPECT_EQ(r->body.find("SECRET-OUTSIDE"), std::string::npos) << target;
    EXPECT_TRUE(r->status == 404 || r->status == 400 || r->body == "<!doctype html><p>dev index</p>")
        << target << " " << r->status;
  }
}

}  // namespace
}  // namespace parley::testing
