// StaticSite without a server: the embedded table against the fixture it was generated from,
// content types, Accept-Encoding negotiation, validators and 304, the SPA fallback, and a --web-dir
// directory that no request can leave.
#include "gateway/static_site.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "auth/crypto.h"
#include "parley_test_site.h"

namespace parley {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const fs::path& p, std::string_view text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

HttpRequest get(std::string path, HttpHeaders headers = {}) {
  HttpRequest r;
  r.method = "GET";
  r.path = std::move(path);
  r.headers = std::move(headers);
  return r;
}

std::string_view header(const SiteResponse& r, std::string_view name) {
  return find_header(r.headers, name);
}

const EmbeddedFile& embedded(std::string_view path) {
  for (const EmbeddedFile& f : test_site_files()) {
    if (f.path == path) return f;
  }
  ADD_FAILURE() << "not embedded: " << path;
  static const EmbeddedFile kNone{};
  return kNone;
}

// The generated table holds every file of the fixture, byte for byte (the C++ literals escape
// every byte value), with variants that are smaller, the hash ETag, and immutability under assets/.
TEST(StaticSite, EmbeddedFilesAreTheFixtureByteForByte) {
  const fs::path root = PARLEY_TEST_SITE_DIR;
  std::map<std::string, std::string> on_disk;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    if (it->path().filename().string().starts_with('.')) {
      it.disable_recursion_pending();  // hidden: never embedded nor served
      continue;
    }
    if (it->is_regular_file()) on_disk[fs::relative(it->path(), root).generic_string()] = read_file(it->path());
  }
  ASSERT_GE(on_disk.size(), 8u);
  ASSERT_EQ(test_site_files().size(), on_disk.size());
  EXPECT_TRUE(on_disk.contains("assets/bytes-0a1b2c.bin"));
  for (const EmbeddedFile& f : test_site_files()) {
    const std::string path(f.path);
    ASSERT_TRUE(on_disk.contains(path)) << path;
    EXPECT_EQ(f.bytes, on_disk[path]) << path;
    EXPECT_EQ(f.etag, "\"" + auth::sha256_hex(f.bytes).substr(0, 32) + "\"") << path;
    EXPECT_EQ(f.immutable, path.starts_with("assets/")) << path;
    if (!f.gzip.empty()) {
      EXPECT_LE(f.gzip.size(), f.bytes.size() * 95 / 100) << path;
    }
    if (!f.br.empty()) {
      EXPECT_LE(f.br.size(), f.bytes.size() * 95 / 100) << path;
    }
  }
  // Text compresses; random bytes (a font) do not, and keep no variant.
  EXPECT_FALSE(embedded("assets/app-3f9a1c.js").gzip.empty());
  EXPECT_FALSE(embedded("assets/app-3f9a1c.js").br.empty());
  EXPECT_TRUE(embedded("assets/font-5d1c0a.woff2").gzip.empty());
  EXPECT_TRUE(embedded("assets/font-5d1c0a.woff2").br.empty());
}

// The generator's table of types (cmake/embed_web.mjs) and the server's (--web-dir) agree.
TEST(StaticSite, EmbeddedContentTypesMatchTheServersTable) {
  for (const EmbeddedFile& f : test_site_files()) EXPECT_EQ(f.content_type, content_type_for(f.path)) << f.path;
  EXPECT_EQ(content_type_for("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(content_type_for("assets/index-4f3c.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(content_type_for("assets/KaTeX_Main.WOFF2"), "font/woff2");
  EXPECT_EQ(content_type_for("favicon.svg"), "image/svg+xml");
  EXPECT_EQ(content_type_for("assets/x.css"), "text/css; charset=utf-8");
  EXPECT_EQ(content_type_for("LICENSE"), "application/octet-stream");
  EXPECT_EQ(content_type_for("a.d/LICENSE"), "application/octet-stream");
}

TEST(StaticSite, NegotiatesTheCodingTheClientAccepts) {
  using enum ContentCoding;
  struct Case {
    std::string_view accept;
    ContentCoding want;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"", kIdentity},  // absent or empty: no coding
           {"gzip, deflate, br", kBrotli},
           {"gzip, deflate", kGzip},
           {"GZIP", kGzip},
           {"x-gzip", kGzip},
           {"br;q=0, gzip", kGzip},
           {"br;q=0.5, gzip;q=0.8", kGzip},
           {"br;q=1.0, gzip;q=1", kBrotli},
           {"gzip; q=0.5 , identity", kIdentity},  // identity is preferred at a higher q
           {"identity", kIdentity},
           {"deflate", kIdentity},
           {"*", kBrotli},
           {"*;q=0.3, br;q=0", kGzip},
           {"*;q=0", kIdentity},             // nothing acceptable: identity all the same
           {"br;q=2", kIdentity},            // malformed q: the element accepts nothing
           {"br;q=0.0001", kIdentity},       // more than three decimals: malformed
           {"br;level=5;q=0.9", kBrotli},
           {"br;q=0.9, identity", kIdentity},
           {"gzip;q=0.001", kGzip},  // any q above zero accepts
           {"gzip;q=0.001, identity;q=0.002", kIdentity},
       }) {
    EXPECT_EQ(negotiate_coding(c.accept, true, true), c.want) << c.accept;
  }
  // Only the variants there are.
  EXPECT_EQ(negotiate_coding("gzip, br", true, false), kGzip);
  EXPECT_EQ(negotiate_coding("gzip, br", false, true), kBrotli);
  EXPECT_EQ(negotiate_coding("gzip, br", false, false), kIdentity);
  EXPECT_EQ(negotiate_coding("br", true, false), kIdentity);
}

TEST(StaticSite, EtagsMatchByWeakComparison) {
  EXPECT_TRUE(etag_matches("\"abc\"", "\"abc\""));
  EXPECT_TRUE(etag_matches("W/\"abc\"", "\"abc\""));
  EXPECT_TRUE(etag_matches("\"x\", W/\"abc\"", "\"abc\""));
  EXPECT_TRUE(etag_matches(" * ", "\"abc\""));
  EXPECT_FALSE(etag_matches("", "\"abc\""));
  EXPECT_FALSE(etag_matches("\"abcd\"", "\"abc\""));
  EXPECT_FALSE(etag_matches("abc", "\"abc\""));
  EXPECT_FALSE(etag_matches("\"abc", "\"abc\""));
  EXPECT_FALSE(etag_matches("\"abc-br\"", "\"abc\""));
}

void expect_security_headers(const SiteResponse& r, std::string_view what) {
  for (const auto& [name, value] : web_security_headers()) EXPECT_EQ(header(r, name), value) << what << " " << name;
  EXPECT_NE(header(r, "Content-Security-Policy").find("script-src 'self';"), std::string_view::npos);
  EXPECT_NE(header(r, "Content-Security-Policy").find("frame-ancestors 'none'"), std::string_view::npos);
}

TEST(StaticSite, ClientRoutesAnswerTheIndexAndFilesAnswerThemselves) {
  const auto site = StaticSite::embedded(test_site_files());
  const EmbeddedFile& index = embedded("index.html");
  for (const char* path : {"/", "/index.html", "/c/cnv_123", "/settings", "/admin", "/login", "/share/tok", "/x.js"}) {
    const SiteResponse r = site->serve(get(path));
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.body, index.bytes) << path;
    EXPECT_EQ(header(r, "Content-Type"), "text/html; charset=utf-8") << path;
    EXPECT_EQ(header(r, "Cache-Control"), "no-cache") << path;
    EXPECT_EQ(header(r, "ETag"), index.etag) << path;
    EXPECT_EQ(header(r, "Vary"), "Accept-Encoding") << path;
    EXPECT_EQ(header(r, "Content-Encoding"), "") << path;
    EXPECT_EQ(header(r, "X-Robots-Tag"), std::string_view(path).starts_with("/share/") ? "noindex, nofollow" : "")
        << path;
    expect_security_headers(r, path);
  }
  SiteResponse r = site->serve(get("/favicon.svg"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(header(r, "Content-Type"), "image/svg+xml");
  EXPECT_EQ(header(r, "Cache-Control"), "no-cache");
  r = site->serve(get("/assets/style-8b2e4d.css"));
  EXPECT_EQ(header(r, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(r.body, embedded("assets/style-8b2e4d.css").bytes);
  r = site->serve(get("/empty.txt"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
  // A missing hashed asset is a 404, not the index; so are paths that can never name a file.
  for (const char* path : {"/assets/app-000000.js", "/assets/", "/.vite/manifest.json", "/../index.html",
                           "/assets/../index.html", "//index.html", "/assets\\app-3f9a1c.js", "/a/./b"}) {
    r = site->serve(get(path));
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(header(r, "Content-Type"), "text/plain; charset=utf-8") << path;
    expect_security_headers(r, path);
  }
}

TEST(StaticSite, SendsACodingOnlyWhenTheClientAcceptsIt) {
  const auto site = StaticSite::embedded(test_site_files());
  const EmbeddedFile& js = embedded("assets/app-3f9a1c.js");
  const std::string etag(js.etag);
  const std::string tag = etag.substr(0, etag.size() - 1);
  SiteResponse r = site->serve(get("/assets/app-3f9a1c.js", {{"Accept-Encoding", "gzip, deflate, br"}}));
  EXPECT_EQ(header(r, "Content-Encoding"), "br");
  EXPECT_EQ(r.body, js.br);
  EXPECT_EQ(header(r, "ETag"), tag + "-br\"");
  EXPECT_EQ(header(r, "Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(header(r, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(header(r, "Vary"), "Accept-Encoding");
  r = site->serve(get("/assets/app-3f9a1c.js", {{"Accept-Encoding", "gzip"}}));
  EXPECT_EQ(header(r, "Content-Encoding"), "gzip");
  EXPECT_EQ(r.body, js.gzip);
  EXPECT_EQ(header(r, "ETag"), tag + "-gz\"");
  for (const char* accept : {"", "identity", "br;q=0, gzip;q=0", "deflate"}) {
    r = site->serve(get("/assets/app-3f9a1c.js", {{"Accept-Encoding", accept}}));
    EXPECT_EQ(header(r, "Content-Encoding"), "") << accept;
    EXPECT_EQ(r.body, js.bytes) << accept;
    EXPECT_EQ(header(r, "ETag"), etag) << accept;
  }
  r = site->serve(get("/assets/app-3f9a1c.js"));  // no Accept-Encoding at all
  EXPECT_EQ(r.body, js.bytes);
  // A file without variants is sent as it is to everyone.
  r = site->serve(get("/assets/font-5d1c0a.woff2", {{"Accept-Encoding", "br, gzip"}}));
  EXPECT_EQ(header(r, "Content-Encoding"), "");
  EXPECT_EQ(r.body, embedded("assets/font-5d1c0a.woff2").bytes);
  EXPECT_EQ(header(r, "Content-Type"), "font/woff2");
  // A file with only a brotli variant, to a gzip-only client.
  r = site->serve(get("/assets/bytes-0a1b2c.bin", {{"Accept-Encoding", "gzip"}}));
  EXPECT_EQ(header(r, "Content-Encoding"), "");
  EXPECT_EQ(r.body, embedded("assets/bytes-0a1b2c.bin").bytes);
}

TEST(StaticSite, IfNoneMatchAnswers304ForTheRepresentationItNames) {
  const auto site = StaticSite::embedded(test_site_files());
  const std::string etag(embedded("assets/app-3f9a1c.js").etag);
  const std::string br_etag = etag.substr(0, etag.size() - 1) + "-br\"";
  SiteResponse r = site->serve(get("/assets/app-3f9a1c.js", {{"If-None-Match", etag}}));
  EXPECT_EQ(r.status, 304);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(header(r, "ETag"), etag);
  EXPECT_EQ(header(r, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(header(r, "Vary"), "Accept-Encoding");
  expect_security_headers(r, "304");
  r = site->serve(get("/assets/app-3f9a1c.js", {{"If-None-Match", "W/" + br_etag}, {"Accept-Encoding", "br"}}));
  EXPECT_EQ(r.status, 304);
  EXPECT_EQ(header(r, "ETag"), br_etag);
  // The brotli tag does not validate the identity representation, nor the reverse.
  r = site->serve(get("/assets/app-3f9a1c.js", {{"If-None-Match", br_etag}}));
  EXPECT_EQ(r.status, 200);
  r = site->serve(get("/assets/app-3f9a1c.js", {{"If-None-Match", etag}, {"Accept-Encoding", "br"}}));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(header(r, "Content-Encoding"), "br");
  r = site->serve(get("/c/anything", {{"If-None-Match", "\"other\", " + std::string(embedded("index.html").etag)}}));
  EXPECT_EQ(r.status, 304);
  r = site->serve(get("/share/tok", {{"If-None-Match", "*"}}));
  EXPECT_EQ(r.status, 304);
  EXPECT_EQ(header(r, "X-Robots-Tag"), "noindex, nofollow");
}

// --web-dir: a temporary directory with a file outside it that symbolic links and ".." point at.
class StaticSiteDirectory : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> n{0};
    base_ = fs::temp_directory_path() / ("parley_site_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
    root_ = base_ / "dist";
    write_file(root_ / "index.html", "<!doctype html><p>index</p>");
    write_file(root_ / "assets" / "app-1.js", "console.log(1);");
    write_file(base_ / "outside" / "secret.txt", kSecret);
    fs::create_symlink(base_ / "outside" / "secret.txt", root_ / "leak.txt");
    fs::create_directory_symlink(base_ / "outside", root_ / "linked");
    fs::create_directory_symlink(base_ / "outside", root_ / "assets" / "linked");
    ASSERT_EQ(::mkfifo((root_ / "fifo").c_str(), 0600), 0);
    auto site = StaticSite::directory(root_.string());
    ASSERT_TRUE(site.ok()) << site.status().to_string();
    site_ = *site;
  }
  void TearDown() override { fs::remove_all(base_); }

  static constexpr std::string_view kSecret = "the secret outside the web directory";
  fs::path base_, root_;
  std::shared_ptr<const StaticSite> site_;
};

TEST_F(StaticSiteDirectory, ServesFilesAsTheyAreOnEveryRequest) {
  EXPECT_TRUE(site_->reads_files());
  SiteResponse r = site_->serve(get("/assets/app-1.js", {{"Accept-Encoding", "gzip, br"}}));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "console.log(1);");
  EXPECT_EQ(header(r, "Content-Encoding"), "");  // no compression from a directory
  EXPECT_EQ(header(r, "Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(header(r, "Cache-Control"), "public, max-age=31536000, immutable");
  const std::string etag(header(r, "ETag"));
  EXPECT_EQ(etag, "\"" + auth::sha256_hex("console.log(1);").substr(0, 32) + "\"");
  expect_security_headers(r, "directory");
  EXPECT_EQ(site_->serve(get("/assets/app-1.js", {{"If-None-Match", etag}})).status, 304);

  write_file(root_ / "assets" / "app-1.js", "console.log(2);");  // a rebuild (npm run build -- --watch)
  r = site_->serve(get("/assets/app-1.js", {{"If-None-Match", etag}}));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "console.log(2);");
  r = site_->serve(get("/c/123"));
  EXPECT_EQ(r.body, "<!doctype html><p>index</p>");
  EXPECT_EQ(header(r, "Cache-Control"), "no-cache");
  fs::remove(root_ / "index.html");  // mid-rebuild
  EXPECT_EQ(site_->serve(get("/")).status, 404);
}

TEST_F(StaticSiteDirectory, NoRequestReadsOutsideTheDirectory) {
  const std::string outside = (base_ / "outside" / "secret.txt").string();
  for (const std::string& path :
       {std::string("/../outside/secret.txt"), std::string("/assets/../../outside/secret.txt"),
        std::string("/assets/..%2f..%2foutside/secret.txt"), "/" + outside, "/" + fs::relative(outside, "/").string(),
        "/" + (base_.lexically_relative(root_) / "outside" / "secret.txt").string(), std::string("/leak.txt"),
        std::string("/linked/secret.txt"), std::string("/assets/linked/secret.txt"),
        std::string("/assets\\..\\..\\outside\\secret.txt"), std::string("/fifo"), std::string("/.")}) {
    const SiteResponse r = site_->serve(get(path));
    EXPECT_EQ(r.body.find(kSecret), std::string::npos) << path;
    EXPECT_TRUE(r.status == 404 || r.body == "<!doctype html><p>index</p>") << path << " " << r.status;
  }
  // The symbolic links and the FIFO exist: they are refused as files, never read.
  EXPECT_TRUE(fs::is_symlink(root_ / "leak.txt"));
  EXPECT_EQ(site_->serve(get("/assets/linked/secret.txt")).status, 404);  // under assets/: no index
  EXPECT_EQ(site_->serve(get("/../outside/secret.txt")).status, 404);
}

TEST_F(StaticSiteDirectory, TheRootMayBeALinkButMustBeADirectory) {
  fs::create_directory_symlink(root_, base_ / "current");
  auto linked = StaticSite::directory((base_ / "current").string());
  ASSERT_TRUE(linked.ok());
  EXPECT_EQ((*linked)->serve(get("/assets/app-1.js")).body, "console.log(1);");
  EXPECT_FALSE(StaticSite::directory((root_ / "index.html").string()).ok());
  EXPECT_FALSE(StaticSite::directory((base_ / "missing").string()).ok());
  EXPECT_FALSE(StaticSite::directory("").ok());
}

}  // namespace
}  // namespace parley
