#include "auth/rate_limiter.h"

#include <sodium.h>

#include <algorithm>
#include <limits>
#include <mutex>
#include <string>
#include <unordered_map>

#include "auth/crypto.h"
#include "base/check.h"

namespace parley::auth {

namespace {

using i128 = __int128;
constexpr std::int64_t kNsPerSecond = 1'000'000'000;
// Far beyond any real interval (~73 years), far below overflow when added to a time stamp.
constexpr i128 kSpanMaxNs = std::numeric_limits<std::int64_t>::max() / 4;

i128 saturate(i128 v) {
  return std::min(v, kSpanMaxNs);
}

// The bucket's constants in nanoseconds: `interval` per token (rounded up, so the effective
// rate never exceeds the configured one) and `tau` = the time a full bucket takes to refill.
struct Rates {
  i128 interval;
  i128 tau;
};

Rates rates_of(const TokenBucketSpec& spec) {
  const Status st = spec.validate();
  CHECK(st.ok(), "{}", st.to_string());
  const i128 period = spec.refill_period.count();
  const i128 interval = (period + spec.refill_tokens - 1) / spec.refill_tokens;
  return {interval, saturate(interval * spec.capacity)};
}

std::int64_t to_ns(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// Whole tokens a bucket that is full at `tat` holds at `now` (0 in debt).
std::int64_t remaining_tokens(i128 tat, i128 now, const Rates& r) {
  const i128 used = std::max<i128>(tat - now, 0);
  if (used >= r.tau) return 0;
  return static_cast<std::int64_t>((r.tau - used) / r.interval);
}

struct KeyHash {
  using is_transparent = void;
  std::array<unsigned char, 16> key;
  std::size_t operator()(std::string_view s) const {
    std::uint64_t h = 0;
    crypto_shorthash_siphash24(reinterpret_cast<unsigned char*>(&h), reinterpret_cast<const unsigned char*>(s.data()),
                               s.size(), key.data());
    return static_cast<std::size_t>(h);
  }
};

}  // namespace

Status TokenBucketSpec::validate() const {
  if (capacity < 1 || refill_tokens < 1 || refill_period.count() <= 0) {
    return invalid_argument_error(
        "token bucket needs capacity >= 1, refill >= 1 and a positive period "
        "(got capacity {}, refill {} per {} ns)",
        capacity, refill_tokens, refill_period.count());
  }
  return ok_status();
}

Status rate_limited_error(const RateDecision& decision, std::string_view what) {
  if (decision.allowed) return ok_status();
  if (decision.exceeds_capacity) {
    return invalid_argument_error("request is larger than the {} limit allows at once", what)
        .with_detail("code", "request_too_large");
  }
  return resource_exhausted_error("rate limit reached for {}; retry in {} s", what, decision.retry_after_seconds)
      .with_detail("retry_after", std::to_string(decision.retry_after_seconds))
      .with_detail("code", "rate_limit_exceeded");
}

// One mutex and one table. `tat` per key: the instant (steady clock, ns) the bucket is full
// again; a missing key is a full bucket.
struct LocalRateLimiter::Shard {
  explicit Shard(const std::array<unsigned char, 16>& key) : tats(16, KeyHash{key}) {}

  std::mutex mu;
  std::unordered_map<std::string, std::int64_t, KeyHash, std::equal_to<>> tats;
  std::size_t sweep_at = 64;  // size at which the next sweep of full buckets runs

  // Room for one more key at `now`: drops every full bucket once the table has doubled since the
  // last sweep (amortized O(1) per insert), then, at the hard cap, the bucket closest to full.
  void make_room(std::int64_t now, std::size_t n_max) {
    if (tats.size() >= sweep_at || tats.size() >= n_max) {
      std::erase_if(tats, [now](const auto& kv) { return kv.second <= now; });
      sweep_at = std::max<std::size_t>(64, 2 * tats.size());
    }
    if (tats.size() >= n_max && !tats.empty()) {
      auto soonest =
          std::min_element(tats.begin(), tats.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
      tats.erase(soonest);
    }
  }

  void store(std::string_view key, std::int64_t tat, std::int64_t now, std::size_t n_max) {
    if (auto it = tats.find(key); it != tats.end()) {
      it->second = tat;
      return;
    }
    make_room(now, n_max);
    tats.emplace(std::string(key), tat);
  }
};

LocalRateLimiter::LocalRateLimiter(LocalRateLimiterOptions options, Clock clock)
    : options_(options), clock_(std::move(clock)) {
  if (!clock_) clock_ = [] { return std::chrono::steady_clock::now(); };
  options_.n_shards = std::max<std::size_t>(options_.n_shards, 1);
  options_.n_keys_max = std::max(options_.n_keys_max, options_.n_shards);
  n_keys_max_per_shard_ = (options_.n_keys_max + options_.n_shards - 1) / options_.n_shards;
  const std::string key = random_bytes(hash_key_.size());
  std::copy(key.begin(), key.end(), hash_key_.begin());
  shards_.reserve(options_.n_shards);
  for (std::size_t i = 0; i < options_.n_shards; ++i) shards_.push_back(std::make_unique<Shard>(hash_key_));
}

LocalRateLimiter::~LocalRateLimiter() = default;

LocalRateLimiter::Shard& LocalRateLimiter::shard_for(std::string_view key) {
  // The high half picks the shard; the table inside uses the low bits of the same hash.
  const std::uint64_t h = KeyHash{hash_key_}(key);
  return *shards_[(h >> 32) % shards_.size()];
}

RateDecision LocalRateLimiter::try_acquire(std::string_view key, std::int64_t cost, const TokenBucketSpec& spec) {
  return try_acquire_at(key, cost, spec, clock_());
}

void LocalRateLimiter::adjust(std::string_view key, std::int64_t delta, const TokenBucketSpec& spec) {
  adjust_at(key, delta, spec, clock_());
}

RateDecision LocalRateLimiter::try_acquire_at(std::string_view key, std::int64_t cost, const TokenBucketSpec& spec,
                                              std::chrono::steady_clock::time_point now_tp) {
  CHECK(cost >= 0, "negative rate-limit cost {}", cost);
  const Rates r = rates_of(spec);
  const std::int64_t now = to_ns(now_tp);
  const i128 increment = saturate(static_cast<i128>(cost) * r.interval);
  RateDecision d;
  Shard& shard = shard_for(key);
  std::lock_guard lock(shard.mu);
  const auto it = shard.tats.find(key);
  const i128 tat = it == shard.tats.end() ? now : std::max<i128>(it->second, now);
  if (increment > r.tau) {
    d.exceeds_capacity = true;
    d.remaining = remaining_tokens(tat, now, r);
    return d;
  }
  const i128 new_tat = tat + increment;
  const i128 over = new_tat - now - r.tau;  // > 0: that much refill is still missing
  if (over > 0) {
    d.retry_after_seconds = static_cast<std::int64_t>(std::max<i128>((over + kNsPerSecond - 1) / kNsPerSecond, 1));
    d.remaining = remaining_tokens(tat, now, r);
    return d;
  }
  d.allowed = true;
  d.remaining = remaining_tokens(new_tat, now, r);
  if (new_tat > now) shard.store(key, static_cast<std::int64_t>(new_tat), now, n_keys_max_per_shard_);
  return d;
}

void LocalRateLimiter::adjust_at(std::string_view key, std::int64_t delta, const TokenBucketSpec& spec,
                                 std::chrono::steady_clock::time_point now_tp) {
  if (delta == 0) return;
  const Rates r = rates_of(spec);
  const std::int64_t now = to_ns(now_tp);
  Shard& shard = shard_for(key);
  std::lock_guard lock(shard.mu);
  const auto it = shard.tats.find(key);
  const i128 tat = it == shard.tats.end() ? now : std::max<i128>(it->second, now);
  if (delta > 0) {                       // refund
    if (it == shard.tats.end()) return;  // already full
    const i128 new_tat = tat - saturate(static_cast<i128>(delta) * r.interval);
    if (new_tat <= now) {
      shard.tats.erase(it);  // full again: the same as absent
    } else {
      it->second = static_cast<std::int64_t>(new_tat);
    }
    return;
  }
  // Charge; debt is bounded at one capacity so that one huge overrun cannot lock a key out for long.
  const i128 charge = saturate(-static_cast<i128>(delta) * r.interval);
  // (max: a charge never lowers the debt, even when a smaller spec makes the old one look large.)
  const i128 new_tat = std::max<i128>(tat, std::min<i128>(tat + charge, now + 2 * r.tau));
  shard.store(key, static_cast<std::int64_t>(new_tat), now, n_keys_max_per_shard_);
}

std::size_t LocalRateLimiter::size() const {
  std::size_t n = 0;
  for (const auto& s : shards_) {
    std::lock_guard lock(s->mu);
    n += s->tats.size();
  }
  return n;
}

}  // namespace parley::auth
