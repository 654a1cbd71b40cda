// RedisClient: the few things the rate limiter needs from Redis (hiredis underneath): run a Lua
// script atomically (EVALSHA, falling back to EVAL once when the server does not have it cached)
// and get its integer array back.
//
// Connections: a small pool of blocking hiredis contexts, each used by one thread at a time;
// an idle one is reused, a missing one is connected on demand (connect and command timeouts in
// milliseconds). A context that fails is closed, never reused; a call that fails on an idle
// context (the server may have restarted since) is tried once more on a fresh one.
//
// Availability: after a failure the client is "down" and refuses calls at once (kUnavailable, no
// network) until a backoff has passed (doubling from backoff_min to backoff_max); then one caller
// at a time probes. The first success makes it "up" again. up() is what `parley_redis_up` shows.
//
// Thread-safe: any thread may call anything.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

struct redisContext;

namespace parley::auth {

struct RedisEndpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::string user;      // ACL user (Redis 6+); empty: the default user
  std::string password;  // empty: no AUTH
};

// "redis://[[user]:password@]host[:port][/db]" (user and password percent-encoded, "%40" for "@").
// The password may also come from the environment
// (`password_env`, used when the URL has none). kInvalidArgument for anything else ("rediss://"
// included: TLS is not supported).
Result<RedisEndpoint> parse_redis_url(std::string_view url, std::string_view password_env = "PARLEY_REDIS_PASSWORD");

// "host:port/db": for log lines (never the password).
std::string redis_display_name(const RedisEndpoint& endpoint);

struct RedisClientOptions {
  RedisEndpoint endpoint;
  std::chrono::milliseconds connect_timeout{200};
  std::chrono::milliseconds command_timeout{200};
  int pool_size = 8;  // idle connections kept
  std::chrono::milliseconds backoff_min{100};
  std::chrono::milliseconds backoff_max{5000};
};

class RedisClient {
 public:
  explicit RedisClient(RedisClientOptions options);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Runs `script` (whose SHA-1 hex is `sha1`) with KEYS and ARGV; the reply must be an array of
  // integers. kUnavailable when Redis cannot be reached (or is backing off), kInternal for a
  // reply of another shape or a script error.
  Result<std::vector<std::int64_t>> eval(std::string_view script, std::string_view sha1,
                                         std::span<const std::string> keys, std::span<const std::string> args);

  bool up() const { return up_.load(std::memory_order_relaxed); }
  const RedisEndpoint& endpoint() const { return options_.endpoint; }

 private:
  struct Context;
  Result<std::unique_ptr<Context>> acquire(bool* reused);
  void release(std::unique_ptr<Context> context);
  Result<std::unique_ptr<Context>> connect() const;
  void mark_up();
  void mark_down(const Status& why);
  bool may_try();

  RedisClientOptions options_;
  std::atomic<bool> up_{true};  // optimistic until the first failure: no log line at start
  std::mutex mu_;
  std::vector<std::unique_ptr<Context>> idle_;
  std::chrono::steady_clock::time_point retry_at_{};
  std::chrono::milliseconds backoff_{0};
};

}  // namespace parley::auth
