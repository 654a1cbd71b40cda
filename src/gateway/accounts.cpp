#include "gateway/accounts.h"

#include "base/log.h"
#include "store/open_store.h"

namespace parley {
namespace {

// The built-in user of local mode: found by its email, created on first start.
Result<store::User> ensure_local_user(store::Store& store) {
  Result<store::User> found = store.find_user_by_email(kLocalUserEmail);
  if (found.ok()) {
    if (found->role == store::UserRole::kAdmin && !found->disabled) return found;
    // Local mode means "this machine's user may do everything": restore that if it was changed
    // while authentication was on.
    return store.update_user(found->id, {.role = store::UserRole::kAdmin, .disabled = false});
  }
  if (found.status().code() != ErrorCode::kNotFound) return found.status();
  store::NewUser nu;
  nu.email = std::string(kLocalUserEmail);
  nu.display_name = "Local user";
  nu.role = store::UserRole::kAdmin;
  Result<store::User> created = store.create_user(nu);
  if (created.ok()) log_info("created the built-in local user {} in the store", kLocalUserEmail);
  return created;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Result<std::string> decode_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return invalid_argument_error("hex text must have an even length");
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = hex_value(hex[i]);
    const int lo = hex_value(hex[i + 1]);
    if (hi < 0 || lo < 0) return invalid_argument_error("hex text may contain only 0-9 and a-f");
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

Result<std::unique_ptr<store::Store>> open_account_store(const std::string& url, const AccountsConfig& config) {
  store::StoreOptions o;
  o.replica_urls = config.replicas.urls;
  o.replica_max_lag = std::chrono::milliseconds(config.replicas.max_lag_ms);
  o.replica_check_interval = std::chrono::milliseconds(config.replicas.check_interval_ms);
  o.replica_retry = std::chrono::milliseconds(config.replicas.retry_ms);
  Result<std::unique_ptr<store::Store>> db = store::open_store(url, o);
  if (!db.ok()) return db.status().with_context("opening the account store");
  const store::ReplicaStats rs = (*db)->replica_stats();
  if (rs.configured > 0) {
    log_info("account store: {} read replica(s) for conversation reads (lag bound {} ms)", rs.configured,
             config.replicas.max_lag_ms);
  }
  return db;
}

Result<std::unique_ptr<auth::RateLimiter>> make_rate_limiter(const RedisConfig& config) {
  if (config.url.empty()) return std::unique_ptr<auth::RateLimiter>(std::make_unique<auth::LocalRateLimiter>());
  auth::RedisRateLimiterOptions o;
  Result<auth::RedisEndpoint> endpoint = auth::parse_redis_url(config.url);
  // The URL may hold a password: the error names the problem, never the URL.
  if (!endpoint.ok()) return endpoint.status().with_context("[redis] url / --redis");
  o.client.endpoint = std::move(*endpoint);
  o.client.connect_timeout = std::chrono::milliseconds(config.connect_timeout_ms);
  o.client.command_timeout = std::chrono::milliseconds(config.command_timeout_ms);
  o.client.pool_size = static_cast<int>(config.pool_size);
  o.key_prefix = config.key_prefix;
  log_info("rate limits: shared through Redis at {} (keys {}*)", auth::redis_display_name(o.client.endpoint),
           o.key_prefix);
  return std::unique_ptr<auth::RateLimiter>(std::make_unique<auth::RedisRateLimiter>(std::move(o)));
}

Result<std::unique_ptr<Accounts>> Accounts::create(std::unique_ptr<store::Store> store, AccountsOptions o) {
  std::unique_ptr<Accounts> a(new Accounts());
  a->store_ = std::move(store);
  const AccountsConfig& c = o.config;
  RETURN_IF_ERROR(auth::validate_limits(c.limits.roles.user).with_context("[limits.roles.user]"));
  RETURN_IF_ERROR(auth::validate_limits(c.limits.roles.admin).with_context("[limits.roles.admin]"));

  AuthenticatorOptions ao;
  ao.mode = o.mode;
  ao.secure_cookies = o.tls || c.auth.secure_cookies;
  ao.clock = o.clock;
  if (o.mode == AuthMode::kNone) {
    ASSIGN_OR_RETURN(ao.local_user, ensure_local_user(*a->store_));
  }
  auth::CsrfSigner csrf = auth::CsrfSigner::generate();
  if (!c.auth.csrf_key_hex.empty()) {
    ASSIGN_OR_RETURN(std::string key, decode_hex(c.auth.csrf_key_hex));
    ASSIGN_OR_RETURN(csrf, auth::CsrfSigner::from_key(std::move(key)));
  }
  ASSIGN_OR_RETURN(a->limiter_, make_rate_limiter(c.redis));
  a->redis_limiter_ = dynamic_cast<const auth::RedisRateLimiter*>(a->limiter_.get());
  a->authenticator_ = std::make_unique<Authenticator>(*a->store_, std::move(csrf), std::move(ao));

  UsageAccountingOptions uo;
  uo.limits = c.limits;
  uo.prices = c.prices;
  uo.now = o.wall_clock;
  a->usage_ = std::make_unique<AccountingUsageRecorder>(*a->store_, *a->limiter_, std::move(uo));

  a->password_pool_ = std::make_unique<WorkPool>("parley-passwd", c.auth.password_workers, 64);
  a->request_pool_ = std::make_unique<WorkPool>("parley-request", o.request_workers, o.request_queue);
  AccountApiOptions api;
  api.signup = c.auth.signup;
  api.session_ttl = std::chrono::hours(24 * c.auth.session_days);
  api.password = c.auth.password;
  api.login_per_minute_ip = c.auth.login_per_minute_ip;
  api.login_per_minute_account = c.auth.login_per_minute_account;
  api.login_per_hour_account = c.auth.login_per_hour_account;
  a->api_ =
      std::make_unique<AccountApi>(*a->store_, *a->authenticator_, *a->usage_, *a->limiter_, *a->password_pool_, api);
  return a;
}

void Accounts::stop_pools() {
  request_pool_.reset();  // first: its tasks may still hand work to the password pool
  password_pool_.reset();
}

Accounts::~Accounts() {
  // Queued work still refers to everything below: let it finish first.
  request_pool_.reset();
  password_pool_.reset();
  api_.reset();
  usage_.reset();
  authenticator_.reset();
  limiter_.reset();
  store_.reset();
}

}  // namespace parley
