#include "auth/redis_client.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include "base/log.h"

namespace parley::auth {

namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

Result<int> parse_int(std::string_view s, int lo, int hi, std::string_view what) {
  int v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < lo || v > hi) {
    return invalid_argument_error("redis URL: bad {} '{}'", what, s);
  }
  return v;
}

// "%40" -> "@" (user names and passwords in URLs are percent-encoded). The error never echoes the text.
Result<std::string> percent_decode(std::string_view s, std::string_view what) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    unsigned v = 0;
    const char* first = s.data() + i + 1;
    const char* last = s.data() + std::min(i + 3, s.size());
    const auto [end, ec] = std::from_chars(first, last, v, 16);
    if (ec != std::errc() || end != first + 2) return invalid_argument_error("redis URL: bad %-escape in the {}", what);
    out.push_back(static_cast<char>(v));
    i += 2;
  }
  return out;
}

}  // namespace

Result<RedisEndpoint> parse_redis_url(std::string_view url, std::string_view password_env) {
  constexpr std::string_view kScheme = "redis://";
  if (!url.starts_with(kScheme)) {
    return invalid_argument_error(
        "redis URL must look like redis://[:password@]host[:port][/db] (rediss:// is not "
        "supported)");
  }
  std::string_view rest = url.substr(kScheme.size());
  RedisEndpoint e;
  if (const std::size_t at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = rest.substr(0, at);
    rest.remove_prefix(at + 1);
    const std::size_t colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
      // "redis://secret@host": the password alone, as redis-cli takes it.
      ASSIGN_OR_RETURN(e.password, percent_decode(userinfo, "password"));
    } else {
      ASSIGN_OR_RETURN(e.user, percent_decode(userinfo.substr(0, colon), "user name"));
      ASSIGN_OR_RETURN(e.password, percent_decode(userinfo.substr(colon + 1), "password"));
    }
  }
  std::string_view hostport = rest;
  if (const std::size_t slash = rest.find('/'); slash != std::string_view::npos) {
    hostport = rest.substr(0, slash);
    const std::string_view db = rest.substr(slash + 1);
    if (!db.empty()) {
      ASSIGN_OR_RETURN(e.db, parse_int(db, 0, 1 << 20, "database number"));
    }
  }
  if (hostport.starts_with('[')) {  // [::1]:6379
    const std::size_t close = hostport.find(']');
    if (close == std::string_view::npos) return invalid_argument_error("redis URL: unterminated [address]");
    e.host = std::string(hostport.substr(1, close - 1));
    hostport.remove_prefix(close + 1);
    if (hostport.starts_with(':')) {
      ASSIGN_OR_RETURN(e.port, parse_int(hostport.substr(1), 1, 65535, "port"));
    } else if (!hostport.empty()) {
      return invalid_argument_error("redis URL: unexpected text after the address");
    }
  } else {
    const std::size_t colon = hostport.rfind(':');
    e.host = std::string(hostport.substr(0, colon));
    if (colon != std::string_view::npos) {
      ASSIGN_OR_RETURN(e.port, parse_int(hostport.substr(colon + 1), 1, 65535, "port"));
    }
  }
  if (e.host.empty()) return invalid_argument_error("redis URL: no host");
  if (e.password.empty() && !password_env.empty()) {
    if (const char* p = std::getenv(std::string(password_env).c_str()); p != nullptr) e.password = p;
  }
  return e;
}

std::string redis_display_name(const RedisEndpoint& e) {
  const bool v6 = e.host.find(':') != std::string::npos;
  return fmt::format("{}{}{}:{}/{}", v6 ? "[" : "", e.host, v6 ? "]" : "", e.port, e.db);
}

struct RedisClient::Context {
  explicit Context(redisContext* c) : ctx(c) {}
  ~Context() { redisFree(ctx); }
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  // One command; kUnavailable when the connection failed (the context is then unusable).
  Result<Reply> command(std::span<const std::string_view> argv) {
    std::vector<const char*> ptrs;
    std::vector<std::size_t> lens;
    for (std::string_view a : argv) {
      ptrs.push_back(a.data());
      lens.push_back(a.size());
    }
    Reply r(static_cast<redisReply*>(redisCommandArgv(ctx, static_cast<int>(argv.size()), ptrs.data(), lens.data())));
    if (r == nullptr || ctx->err != 0) {
      broken = true;
      return unavailable_error("Redis: {}", ctx->err != 0 ? ctx->errstr : "no reply");
    }
    return r;
  }

  redisContext* ctx;
  bool broken = false;
};

RedisClient::RedisClient(RedisClientOptions options) : options_(std::move(options)) {}

RedisClient::~RedisClient() = default;

Result<std::unique_ptr<RedisClient::Context>> RedisClient::connect() const {
  const RedisEndpoint& e = options_.endpoint;
  redisContext* raw = redisConnectWithTimeout(e.host.c_str(), e.port, to_timeval(options_.connect_timeout));
  if (raw == nullptr) return unavailable_error("Redis: cannot allocate a connection");
  auto c = std::make_unique<Context>(raw);
  if (raw->err != 0) return unavailable_error("Redis: connecting: {}", raw->errstr);
  if (redisSetTimeout(raw, to_timeval(options_.command_timeout)) != REDIS_OK) {
    return unavailable_error("Redis: cannot set the command timeout");
  }
  auto expect_ok = [&c](std::span<const std::string_view> argv, std::string_view what) -> Status {
    ASSIGN_OR_RETURN(Reply r, c->command(argv));
    if (r->type == REDIS_REPLY_ERROR) return unavailable_error("Redis: {} refused: {}", what, r->str);
    return ok_status();
  };
  if (!e.password.empty()) {
    if (e.user.empty()) {
      const std::string_view argv[] = {"AUTH", e.password};
      RETURN_IF_ERROR(expect_ok(argv, "AUTH"));
    } else {
      const std::string_view argv[] = {"AUTH", e.user, e.password};
      RETURN_IF_ERROR(expect_ok(argv, "AUTH"));
    }
  }
  if (e.db != 0) {
    const std::string db = std::to_string(e.db);
    const std::string_view argv[] = {"SELECT", db};
    RETURN_IF_ERROR(expect_ok(argv, "SELECT"));
  }
  return c;
}

bool RedisClient::may_try() {
  if (up_.load(std::memory_order_relaxed)) return true;
  std::lock_guard lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  if (now < retry_at_) return false;
  retry_at_ = now + backoff_;  // this caller probes; the others keep falling back meanwhile
  return true;
}

Result<std::unique_ptr<RedisClient::Context>> RedisClient::acquire(bool* reused) {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      std::unique_ptr<Context> c = std::move(idle_.back());
      idle_.pop_back();
      *reused = true;
      return c;
    }
  }
  *reused = false;
  return connect();
}

void RedisClient::release(std::unique_ptr<Context> c) {
  if (c->broken) return;
  std::lock_guard lock(mu_);
  if (static_cast<int>(idle_.size()) < options_.pool_size) idle_.push_back(std::move(c));
}

void RedisClient::mark_up() {
  if (up_.load(std::memory_order_relaxed)) return;
  std::lock_guard lock(mu_);
  if (up_.exchange(true)) return;
  backoff_ = std::chrono::milliseconds(0);
  log_info("Redis at {} is reachable again: rate limits are shared again", redis_display_name(options_.endpoint));
}

void RedisClient::mark_down(const Status& why) {
  std::vector<std::unique_ptr<Context>> dropped;  // closed after the lock is released
  std::lock_guard lock(mu_);
  if (up_.exchange(false)) {
    backoff_ = options_.backoff_min;
    log_warn("Redis at {} is unreachable ({}): rate limits fall back to this process's local limiter until it returns",
             redis_display_name(options_.endpoint), why.message());
  } else {
    backoff_ = std::min(backoff_ * 2, options_.backoff_max);
  }
  retry_at_ = std::chrono::steady_clock::now() + backoff_;
  dropped.swap(idle_);  // the other connections to a server that failed are suspect too
}

Result<std::vector<std::int64_t>> RedisClient::eval(std::string_view script, std::string_view sha1,
                                                    std::span<const std::string> keys,
                                                    std::span<const std::string> args) {
  if (!may_try()) return unavailable_error("Redis at {} is down (retrying later)", redis_display_name(endpoint()));
  bool reused = false;
  Result<std::unique_ptr<Context>> c = acquire(&reused);
  if (!c.ok()) {
    mark_down(c.status());
    return c.status();
  }
  const std::string n_keys = std::to_string(keys.size());
  std::vector<std::string_view> argv = {"EVALSHA", sha1, n_keys};
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  Result<Reply> r = (*c)->command(argv);
  if (!r.ok() && reused) {
    // An idle connection may have been closed by a server that restarted since: one fresh try.
    c = connect();
    if (!c.ok()) {
      mark_down(c.status());
      return c.status();
    }
    r = (*c)->command(argv);
  }
  if (r.ok() && (*r)->type == REDIS_REPLY_ERROR && std::string_view((*r)->str).starts_with("NOSCRIPT")) {
    argv[0] = "EVAL";
    argv[1] = script;
    r = (*c)->command(argv);
  }
  if (!r.ok()) {
    mark_down(r.status());
    return r.status();
  }
  const redisReply& reply = **r;
  if (reply.type == REDIS_REPLY_ERROR) {
    // LOADING, READONLY, OOM, BUSY, a script error: this server cannot decide now.
    const Status st = unavailable_error("Redis error: {}", reply.str);
    release(std::move(*c));
    mark_down(st);
    return st;
  }
  std::vector<std::int64_t> out;
  if (reply.type == REDIS_REPLY_ARRAY) {
    for (std::size_t i = 0; i < reply.elements; ++i) {
      if (reply.element[i]->type != REDIS_REPLY_INTEGER) return internal_error("Redis: script reply is not integers");
      out.push_back(reply.element[i]->integer);
    }
  } else {
    return internal_error("Redis: script reply is not an array (type {})", reply.type);
  }
  release(std::move(*c));
  mark_up();
  return out;
}

}  // namespace parley::auth
