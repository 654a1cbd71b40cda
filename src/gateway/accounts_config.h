// AccountsConfig: how `parley serve` handles accounts: where the store lives, whether callers
// must authenticate, sign-up, sessions, rate limits and quotas, and the price table that turns
// tokens into cost. Filled from the config file ([store], [auth], [limits.roles.*],
// [limits.users.*], [limits.keys], [prices.*]; docs/configuration.md) and flags.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/limits.h"
#include "auth/password.h"

namespace parley {

enum class AuthMode {
  kNone,      // every request acts as the built-in local admin user (a laptop, bound to loopback)
  kRequired,  // /v1/* needs an API key, /api/* a session cookie (or a key where allowed)
};
std::string_view auth_mode_name(AuthMode mode);  // "none", "required"

struct AuthConfig {
  std::optional<AuthMode> mode;  // unset: none when bound to loopback, required otherwise
  bool signup = true;            // POST /api/auth/signup open to anyone (the first user becomes admin)
  std::int64_t session_days = 30;
  bool secure_cookies = false;  // Secure + __Host- cookie; always on when serving TLS
  std::string csrf_key_hex;     // >= 32 bytes as hex, shared by replicas; empty: random per start
  auth::PasswordHashParams password;
  int password_workers = 2;                    // Argon2 computations at once (64 MiB each)
  std::int64_t login_per_minute_ip = 20;       // log-in and sign-up attempts per client address
  std::int64_t login_per_minute_account = 10;  // log-in attempts per email and address (or known browser)
  std::int64_t login_per_hour_account = 100;   // log-in attempts per email from browsers it has not seen
};

// Price of a model in the operator's currency per million tokens. Cost is kept in micro-units
// (store/store.h), so one token costs `price per million` micro-units exactly.
struct ModelPrice {
  double prompt_per_million = 0;
  double completion_per_million = 0;
};
using PriceTable = std::map<std::string, ModelPrice, std::less<>>;

// Rounded to the nearest micro-unit; 0 for a model without a price.
std::int64_t cost_micros(const PriceTable& prices, std::string_view model, std::int64_t prompt_tokens,
                         std::int64_t completion_tokens);

struct UsageLimitsConfig {
  auth::RoleLimits roles;                             // [limits.roles.user], [limits.roles.admin]
  std::map<std::string, auth::LimitOverrides> users;  // [limits.users."email"], by normalized email
  auth::LimitValue key_requests_per_minute;           // [limits.keys]: each API key on its own
  auth::LimitValue key_tokens_per_minute;

  // The limits of a user: the role's, with the overrides configured for `email`.
  auth::Limits for_user(auth::Role role, std::string_view email) const;
};

// Shared rate limits (docs/scaling.md): [redis] and --redis.
struct RedisConfig {
  std::string url;  // redis://[[user]:password@]host[:port][/db]; empty: limits in this process only
  std::int64_t connect_timeout_ms = 200;
  std::int64_t command_timeout_ms = 200;
  std::int64_t pool_size = 8;
  std::string key_prefix = "parley:rl:";
};

// PostgreSQL read replicas (docs/store.md): [store] replicas, --database-replica.
struct ReplicaConfig {
  std::vector<std::string> urls;
  std::int64_t max_lag_ms = 1000;
  std::int64_t check_interval_ms = 200;
  std::int64_t retry_ms = 5000;
};

struct AccountsConfig {
  std::string store_url;  // empty: store::default_store_url(data_dir)
  ReplicaConfig replicas;
  RedisConfig redis;
  AuthConfig auth;
  UsageLimitsConfig limits;
  PriceTable prices;
};

// 127.0.0.0/8, ::1 and "localhost": only this machine can connect.
bool is_loopback_host(std::string_view host);

// The mode in effect: the configured one, else none on loopback and required elsewhere.
AuthMode effective_auth_mode(const AuthConfig& auth, std::string_view host);

}  // namespace parley
