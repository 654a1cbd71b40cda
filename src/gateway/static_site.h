// StaticSite: the web UI's files (web/, built by Vite into index.html + content-hashed assets/),
// as `parley serve` answers them. Two sources:
//
//   embedded    a table generated at build time by cmake/embed_web.mjs (bytes, gzip and brotli
//               variants, ETags) and linked into the binary, so that one file deploys;
//   directory   `--web-dir DIR`: files read from DIR on every request (development: a
//               `npm run build -- --watch` shows up on reload), sent without compression.
//
// Paths: the request path names a file relative to the site's root. A path with an empty, "."
// or ".." segment, a hidden segment (".env"), a backslash or a NUL never names a file (404), so
// no request reaches outside the root; in a directory, no symbolic link below the root is
// followed (the root itself may be one), and only regular files are read.
//
// Answers (serve()): a file by its path; an unknown path answers index.html (the UI routes
// client-side: /c/{id}, /settings, /share/{token}), except under assets/ (a missing hashed file is
// a 404, never HTML). Content-Type by extension; Cache-Control "public, max-age=31536000,
// immutable" under assets/, "no-cache" elsewhere; ETag and If-None-Match -> 304; Content-Encoding
// br or gzip only when the request's Accept-Encoding accepts it (q-values honoured; none: identity)
// with Vary: Accept-Encoding; the Content-Security-Policy and other headers of
// web_security_headers() on every answer; X-Robots-Tag "noindex, nofollow" under /share/.
//
// Thread safety: immutable after creation; serve() may be called from any thread. A directory
// site's serve() blocks on the file system (reads_files()).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "net/http_request.h"

namespace parley {

class RouteTable;

// One file of an embedded site, as cmake/embed_web.mjs generates it. Every view points into the
// binary's read-only data.
struct EmbeddedFile {
  std::string_view path;          // relative to the root, '/'-separated: "index.html", "assets/index-4f3c.js"
  std::string_view content_type;  // "text/javascript; charset=utf-8"
  std::string_view bytes;
  std::string_view gzip;   // the gzip variant; empty when it would not save 5% of the bytes
  std::string_view br;     // the brotli variant; likewise
  std::string_view etag;   // quoted: "\"<first 128 bits of SHA-256 of bytes, hex>\""
  bool immutable = false;  // under assets/: content-hashed names, cached for a year
};

enum class ContentCoding : std::uint8_t { kIdentity, kGzip, kBrotli };

// The coding to answer with, given the request's Accept-Encoding and the variants there are
// (RFC 9110 12.5.3): the acceptable one (q > 0) with the highest q, brotli before gzip before
// identity at equal q (identity has the q it is listed with, or that of "*"); identity when the
// header is absent or empty, or when no variant is acceptable.
ContentCoding negotiate_coding(std::string_view accept_encoding, bool gzip_available, bool br_available);

// True when an If-None-Match value lists `etag` (weak comparison: W/ is ignored) or is "*".
bool etag_matches(std::string_view if_none_match, std::string_view etag);

// The content type of a file by its extension (application/octet-stream when unknown).
std::string_view content_type_for(std::string_view path);

// The headers of every web UI answer: Content-Security-Policy (no inline script, no eval, no other
// origin, no framing), X-Content-Type-Options, Referrer-Policy, X-Frame-Options.
const HttpHeaders& web_security_headers();

struct SiteResponse {
  int status = 200;
  HttpHeaders headers;
  std::string body;
};

class StaticSite {
 public:
  // A site of the embedded `files` (they must outlive it: the generated tables are static).
  static std::shared_ptr<const StaticSite> embedded(std::span<const EmbeddedFile> files);
  // A site read from the directory `root` on every request; an error when it is not a directory.
  static Result<std::shared_ptr<const StaticSite>> directory(const std::string& root);

  // The answer to a GET or HEAD of `request.path` (see the top of this file). The server drops the
  // body of a HEAD answer and keeps its length.
  SiteResponse serve(const HttpRequest& request) const;

  bool reads_files() const { return !root_.empty(); }
  const std::string& root() const { return root_; }
  std::span<const EmbeddedFile> files() const { return files_; }

  StaticSite(std::span<const EmbeddedFile> files, std::string root);

 private:
  // A file found by find(): the table's entry, or a file read from the directory (`info` then
  // views the storage strings, so a File is neither copied nor moved).
  struct File {
    EmbeddedFile info;
    std::string storage;
    std::string etag_storage;
    File() = default;
    File(const File&) = delete;
    File& operator=(const File&) = delete;
  };
  // Fills `out` with the file at `rel`: kNotFound when there is none, kInvalidArgument when `rel`
  // can never name a file.
  Status find(std::string_view rel, File* out) const;
  SiteResponse file_response(const File& f, const HttpRequest& request, bool share) const;

  std::span<const EmbeddedFile> files_;
  std::unordered_map<std::string_view, const EmbeddedFile*> by_path_;
  std::string root_;  // a directory site's root; empty for an embedded one
};

// Serves `site` from `table`: one fallback route (GET "/{*path}", anyone) for every path that no
// route matches outside `api_prefixes` ("/api" covers "/api" and "/api/..."), so unknown API
// paths stay JSON 404s and other methods on UI paths are 405 (Allow: GET, HEAD). It runs on the
// I/O thread for an embedded site, on the request pool for a directory.
void add_web_routes(RouteTable& table, std::shared_ptr<const StaticSite> site, std::vector<std::string> api_prefixes);

}  // namespace parley
