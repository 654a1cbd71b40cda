#include "auth/redis_rate_limiter.h"

#include <fmt/core.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <limits>

#include "auth/crypto.h"
#include "base/check.h"

namespace parley::auth {

namespace {

// KEYS[1]: the bucket. ARGV: op ("acquire" | "adjust"), amount (cost, or delta for adjust),
// interval (us per token), tau (us a full refill takes). Returns {allowed, retry_after_seconds,
// exceeds_capacity, remaining}. The value is the bucket's TAT in microseconds of Redis time; a
// missing key is a full bucket. E: rounding allowance of the double arithmetic (us).
constexpr std::string_view kScript = R"lua(
if redis.replicate_commands then redis.replicate_commands() end
local key = KEYS[1]
local op = ARGV[1]
local amount = tonumber(ARGV[2])
local interval = tonumber(ARGV[3])
local tau = tonumber(ARGV[4])
local E = 0.5
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local stored = redis.call('GET', key)
local tat = now
if stored then tat = math.max(tonumber(stored), now) end
local function remaining(at)
  local used = math.max(at - now, 0)
  if used >= tau then return 0 end
  return math.floor((tau - used + E) / interval)
end
local function store(at)
  local ms = math.ceil((at - now) / 1000) + 1000
  redis.call('SET', key, string.format('%.3f', at), 'PX', string.format('%d', ms))
end
if op == 'acquire' then
  local increment = amount * interval
  if increment > tau + E then return {0, 0, 1, remaining(tat)} end
  local new_tat = tat + increment
  local over = new_tat - now - tau
  if over > E then
    return {0, math.max(math.ceil(over / 1000000), 1), 0, remaining(tat)}
  end
  if new_tat > now then store(new_tat) end
  return {1, 0, 0, remaining(new_tat)}
end
if amount > 0 then
  if not stored then return {1, 0, 0, 0} end
  local new_tat = tat - amount * interval
  if new_tat <= now + E then redis.call('DEL', key) else store(new_tat) end
else
  local charge = -amount * interval
  store(math.max(tat, math.min(tat + charge, now + 2 * tau)))
end
return {1, 0, 0, 0}
)lua";

std::string sha1_hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int n = 0;
  CHECK(EVP_Digest(data.data(), data.size(), md.data(), &n, EVP_sha1(), nullptr) == 1, "SHA-1 failed");
  return to_hex(std::string_view(reinterpret_cast<const char*>(md.data()), n));
}

// The bucket's constants as LocalRateLimiter computes them (ns, interval rounded up, tau
// saturated), in microseconds with three decimals: exact, since both are whole nanoseconds.
struct ScriptRates {
  std::string interval_us;
  std::string tau_us;
};

ScriptRates script_rates(const TokenBucketSpec& spec) {
  const Status st = spec.validate();
  CHECK(st.ok(), "{}", st.to_string());
  using i128 = __int128;
  constexpr i128 kSpanMaxNs = std::numeric_limits<std::int64_t>::max() / 4;
  const i128 period = spec.refill_period.count();
  const i128 interval = (period + spec.refill_tokens - 1) / spec.refill_tokens;
  const i128 tau = std::min<i128>(interval * spec.capacity, kSpanMaxNs);
  auto us = [](i128 ns) {
    const auto v = static_cast<std::int64_t>(ns);
    return fmt::format("{}.{:03}", v / 1000, v % 1000);
  };
  return {us(interval), us(tau)};
}

}  // namespace

RedisRateLimiter::RedisRateLimiter(RedisRateLimiterOptions options, std::unique_ptr<RateLimiter> fallback)
    : options_(std::move(options)),
      client_(options_.client),
      fallback_(fallback ? std::move(fallback) : std::make_unique<LocalRateLimiter>()),
      sha1_(sha1_hex(kScript)) {}

RedisRateLimiter::~RedisRateLimiter() = default;

std::string_view RedisRateLimiter::script() {
  return kScript;
}

std::string RedisRateLimiter::redis_key(std::string_view key) const {
  return options_.key_prefix + sha256_hex(key).substr(0, 32);
}

Result<std::vector<std::int64_t>> RedisRateLimiter::run(std::string_view op, std::string_view key, std::int64_t amount,
                                                        const TokenBucketSpec& spec) {
  const ScriptRates r = script_rates(spec);
  const std::string keys[] = {redis_key(key)};
  const std::string args[] = {std::string(op), std::to_string(amount), r.interval_us, r.tau_us};
  return client_.eval(kScript, sha1_, keys, args);
}

RateDecision RedisRateLimiter::try_acquire(std::string_view key, std::int64_t cost, const TokenBucketSpec& spec) {
  CHECK(cost >= 0, "negative rate-limit cost {}", cost);
  Result<std::vector<std::int64_t>> out = run("acquire", key, cost, spec);
  if (!out.ok() || out->size() != 4) {
    fallback_decisions_.fetch_add(1, std::memory_order_relaxed);
    return fallback_->try_acquire(key, cost, spec);
  }
  const std::vector<std::int64_t>& v = *out;
  RateDecision d;
  d.allowed = v[0] == 1;
  d.retry_after_seconds = v[1];
  d.exceeds_capacity = v[2] == 1;
  d.remaining = v[3];
  return d;
}

void RedisRateLimiter::adjust(std::string_view key, std::int64_t delta, const TokenBucketSpec& spec) {
  if (delta == 0) return;
  Result<std::vector<std::int64_t>> out = run("adjust", key, delta, spec);
  if (!out.ok()) {
    fallback_decisions_.fetch_add(1, std::memory_order_relaxed);
    fallback_->adjust(key, delta, spec);
  }
}

}  // namespace parley::auth
