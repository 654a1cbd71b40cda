// Accounts: everything the gateway needs to be multi-user, owned in one place: the store, the
// rate limiter (in-process, or shared through Redis), the Authenticator, the usage recorder, the account API and the
// two work pools (work_pool.h). `parley serve` builds one from its configuration and hands it to the Gateway; tests
// build one over a temporary SQLite store.
//
// In AuthMode::kNone, create() makes sure the built-in local user (kLocalUserEmail, admin, no
// password) exists, so that what a laptop user does (conversations, usage) persists across
// restarts and stays theirs if authentication is turned on later.
//
// Destruction order: the pools stop first (running what they queued), then the API, the usage
// recorder (which writes its pending rows), the authenticator and the store.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "auth/rate_limiter.h"
#include "auth/redis_rate_limiter.h"
#include "base/result.h"
#include "gateway/account_api.h"
#include "gateway/accounts_config.h"
#include "gateway/authenticator.h"
#include "gateway/usage_accounting.h"
#include "gateway/work_pool.h"
#include "store/store.h"

namespace parley {

struct AccountsOptions {
  AccountsConfig config;
  AuthMode mode = AuthMode::kRequired;  // the effective mode (effective_auth_mode)
  bool tls = false;                     // serving HTTPS: cookies get Secure and __Host-
  int request_workers = 4;              // threads that run database work and request preparation
  std::size_t request_queue = 1024;     // requests waiting for them before 503
  // Clocks (tests move them): key expiry and sessions; quota windows.
  store::Clock clock = store::system_now;
  std::function<std::chrono::system_clock::time_point()> wall_clock = [] { return std::chrono::system_clock::now(); };
};

class Accounts {
 public:
  static Result<std::unique_ptr<Accounts>> create(std::unique_ptr<store::Store> store, AccountsOptions options);
  ~Accounts();

  store::Store& store() { return *store_; }
  auth::RateLimiter& limiter() { return *limiter_; }
  // The limiter when it is shared through Redis ([redis] url), else null (for its metrics).
  const auth::RedisRateLimiter* redis_limiter() const { return redis_limiter_; }
  const Authenticator& authenticator() const { return *authenticator_; }
  AccountingUsageRecorder& usage() { return *usage_; }
  AccountApi& api() { return *api_; }
  WorkPool& request_pool() { return *request_pool_; }
  AuthMode mode() const { return authenticator_->mode(); }

  // Stops the work pools after running what they queued. The gateway calls it before it destroys
  // its models, since queued requests use them; request_pool() must not be used afterwards.
  void stop_pools();

 private:
  Accounts() = default;

  std::unique_ptr<store::Store> store_;
  std::unique_ptr<auth::RateLimiter> limiter_;
  const auth::RedisRateLimiter* redis_limiter_ = nullptr;  // limiter_ itself, when it is one
  std::unique_ptr<Authenticator> authenticator_;
  std::unique_ptr<AccountingUsageRecorder> usage_;
  std::unique_ptr<AccountApi> api_;
  std::unique_ptr<WorkPool> password_pool_;
  std::unique_ptr<WorkPool> request_pool_;
};

// The account store of `config` at `url` (its read replicas included): what `parley serve` and
// `parley gateway` open. Errors never name the URL (it may hold a password).
Result<std::unique_ptr<store::Store>> open_account_store(const std::string& url, const AccountsConfig& config);

// The rate limiter of `config`: shared through Redis when [redis] url is set, else in-process.
Result<std::unique_ptr<auth::RateLimiter>> make_rate_limiter(const RedisConfig& config);

// Decodes lowercase or uppercase hex; kInvalidArgument for odd lengths or other characters.
Result<std::string> decode_hex(std::string_view hex);

}  // namespace parley
