// StaticSite over HTTP: content negotiation, validators, caching and security headers, and the
// fallback route that serves the site from the gateway's RouteTable.
#include <utility>

#include "base/log.h"
#include "gateway/route_table.h"
#include "gateway/static_site.h"

namespace parley {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// An RFC 9110 qvalue in thousandths ("0.5" -> 500), or -1 when malformed.
int parse_qvalue(std::string_view v) {
  if (v.empty() || (v[0] != '0' && v[0] != '1')) return -1;
  int q = (v[0] - '0') * 1000;
  if (v.size() == 1) return q;
  if (v[1] != '.' || v.size() > 5) return -1;
  int scale = 100;
  for (const char c : v.substr(2)) {
    if (c < '0' || c > '9') return -1;
    q += (c - '0') * scale;
    scale /= 10;
  }
  return q <= 1000 ? q : -1;
}

struct Acceptance {
  int br = -1, gzip = -1, identity = -1, any = -1;  // q in thousandths; -1: not listed
};

Acceptance parse_accept_encoding(std::string_view header) {
  Acceptance a;
  while (!header.empty()) {
    const std::size_t comma = header.find(',');
    std::string_view element = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    const std::size_t semi = element.find(';');
    const std::string_view coding = trim(element.substr(0, semi));
    int q = 1000;
    for (std::string_view params = semi == std::string_view::npos ? std::string_view() : element.substr(semi + 1);
         !params.empty();) {
      const std::size_t next = params.find(';');
      const std::string_view p = trim(params.substr(0, next));
      params = next == std::string_view::npos ? std::string_view() : params.substr(next + 1);
      if (p.size() >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') q = parse_qvalue(trim(p.substr(2)));
    }
    if (q < 0 || coding.empty()) continue;  // a malformed element accepts nothing
    int* slot = nullptr;
    if (iequals(coding, "br"))
      slot = &a.br;
    else if (iequals(coding, "gzip") || iequals(coding, "x-gzip"))
      slot = &a.gzip;
    else if (iequals(coding, "identity"))
      slot = &a.identity;
    else if (coding == "*")
      slot = &a.any;
    if (slot != nullptr && *slot < 0) *slot = q;  // the first mention counts
  }
  return a;
}

constexpr std::string_view kImmutable = "public, max-age=31536000, immutable";
constexpr std::string_view kNoCache = "no-cache";

// The ETag of one representation: the same bytes compressed differently are different
// representations (RFC 9110 8.8.3), so each coding has its own tag.
std::string coded_etag(std::string_view etag, ContentCoding coding) {
  if (coding == ContentCoding::kIdentity || etag.size() < 2) return std::string(etag);
  std::string out(etag.substr(0, etag.size() - 1));
  out += coding == ContentCoding::kBrotli ? "-br\"" : "-gz\"";
  return out;
}

void add_security_headers(HttpHeaders* h, bool share) {
  for (const auto& kv : web_security_headers()) h->push_back(kv);
  // A shared conversation is readable by anyone with its link; search engines must not index it.
  if (share) h->emplace_back("X-Robots-Tag", "noindex, nofollow");
}

SiteResponse plain_error(int status, std::string body, bool share) {
  SiteResponse r;
  r.status = status;
  r.headers = {{"Content-Type", "text/plain; charset=utf-8"}, {"Cache-Control", std::string(kNoCache)}};
  add_security_headers(&r.headers, share);
  r.body = std::move(body);
  return r;
}

}  // namespace

ContentCoding negotiate_coding(std::string_view accept_encoding, bool gzip_available, bool br_available) {
  const Acceptance a = parse_accept_encoding(accept_encoding);
  const auto q_of = [&a](int listed) { return listed >= 0 ? listed : (a.any >= 0 ? a.any : 0); };
  const int q_br = br_available ? q_of(a.br) : 0;
  const int q_gzip = gzip_available ? q_of(a.gzip) : 0;
  // Identity competes with its own q (or that of "*"); unlisted, it is what is left when nothing
  // else is acceptable, so "gzip;q=0.5" means gzip.
  const int q_identity = a.identity >= 0 ? a.identity : (a.any >= 0 ? a.any : 0);
  ContentCoding best = ContentCoding::kIdentity;
  int best_q = 0;
  for (const auto& [coding, q] : {std::pair{ContentCoding::kBrotli, q_br}, std::pair{ContentCoding::kGzip, q_gzip},
                                  std::pair{ContentCoding::kIdentity, q_identity}}) {
    if (q > best_q) {
      best = coding;
      best_q = q;
    }
  }
  return best;
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  if (trim(if_none_match) == "*") return true;
  if (etag.starts_with("W/")) etag.remove_prefix(2);
  std::string_view s = if_none_match;
  while (true) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == ',')) s.remove_prefix(1);
    if (s.empty()) return false;
    if (s.starts_with("W/")) s.remove_prefix(2);
    if (s.empty() || s.front() != '"') return false;  // malformed: matches nothing
    const std::size_t close = s.find('"', 1);
    if (close == std::string_view::npos) return false;
    if (s.substr(0, close + 1) == etag) return true;
    s.remove_prefix(close + 1);
  }
}

const HttpHeaders& web_security_headers() {
  static const HttpHeaders headers = {
      {"Content-Security-Policy",
       "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'"},
      {"X-Content-Type-Options", "nosniff"},
      {"Referrer-Policy", "no-referrer"},
      {"X-Frame-Options", "DENY"},
  };
  return headers;
}

SiteResponse StaticSite::serve(const HttpRequest& request) const {
  const std::string_view path = request.path;
  const bool share = path == "/share" || path.starts_with("/share/");
  if (!path.starts_with('/')) return plain_error(404, "Not found\n", share);
  const std::string_view rel = path.substr(1);
  File f;
  Status st = find(rel.empty() ? "index.html" : rel, &f);
  // Client-side routes answer the UI; a missing hashed asset is a 404 (HTML there would be cached
  // by nobody and run by nothing, and hides the error).
  if (st.code() == ErrorCode::kNotFound && !rel.starts_with("assets/")) st = find("index.html", &f);
  if (st.ok()) return file_response(f, request, share);
  if (st.code() == ErrorCode::kNotFound || st.code() == ErrorCode::kInvalidArgument) {
    return plain_error(404, "Not found\n", share);
  }
  log_warn("web: {}", st.to_string());
  return plain_error(500, "The web UI cannot be read; see the server's log.\n", share);
}

SiteResponse StaticSite::file_response(const File& f, const HttpRequest& request, bool share) const {
  const EmbeddedFile& info = f.info;
  const ContentCoding coding =
      negotiate_coding(request.header("Accept-Encoding"), !info.gzip.empty(), !info.br.empty());
  SiteResponse r;
  const std::string etag = coded_etag(info.etag, coding);
  if (etag_matches(request.header("If-None-Match"), etag)) {
    r.status = 304;
  } else {
    r.headers.emplace_back("Content-Type", std::string(info.content_type));
    if (coding == ContentCoding::kBrotli) {
      r.headers.emplace_back("Content-Encoding", "br");
      r.body = std::string(info.br);
    } else if (coding == ContentCoding::kGzip) {
      r.headers.emplace_back("Content-Encoding", "gzip");
      r.body = std::string(info.gzip);
    } else {
      r.body = std::string(info.bytes);
    }
  }
  r.headers.emplace_back("Cache-Control", std::string(info.immutable ? kImmutable : kNoCache));
  r.headers.emplace_back("ETag", etag);
  r.headers.emplace_back("Vary", "Accept-Encoding");
  add_security_headers(&r.headers, share);
  return r;
}

void add_web_routes(RouteTable& table, std::shared_ptr<const StaticSite> site, std::vector<std::string> api_prefixes) {
  const bool reads_files = site->reads_files();
  table.set_fallback({.method = "GET",
                      .pattern = "/{*path}",
                      .name = "web",
                      .caller = Caller::kAnyone,
                      .on_pool = reads_files,
                      .handler =
                          [site = std::move(site)](RouteCall& c) {
                            SiteResponse r = site->serve(c.request);
                            r.headers.emplace_back("X-Request-Id", c.request_id);
                            c.responder->respond(r.status, std::move(r.headers), std::move(r.body));
                          }},
                     std::move(api_prefixes));
}

}  // namespace parley
