// Usage policy: what a user may spend. Two kinds of limit, enforced in two places:
//  - rates (requests per minute, tokens per minute) are token buckets (rate_limiter.h): smooth,
//    refilled continuously, cheap, held in memory;
//  - quotas (tokens and cost per day and per month) are sums of recorded usage over calendar
//    windows in UTC, kept by the store; check_quota() compares those sums with the limits.
// Day windows start at 00:00:00 UTC; month windows at 00:00:00 UTC on the 1st. UTC for everyone,
// so a quota means the same thing on every server and to every user, whatever their time zone.
//
// Limits come from the user's role (configured per role) with optional per-user overrides.
// Plain values; thread safety is that of the containing object.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "auth/roles.h"
#include "base/status.h"

namespace parley::auth {

// A limit: a value >= 0, or nullopt for "unlimited". 0 allows nothing (a way to suspend usage
// without deleting the account).
using LimitValue = std::optional<std::int64_t>;

// Cost is counted in micro-units of the operator's currency (1'000'000 = 1 USD if prices are
// configured in USD), integers so sums are exact.
struct Limits {
  LimitValue requests_per_minute;
  LimitValue tokens_per_minute;  // prompt + completion tokens
  LimitValue tokens_per_day;
  LimitValue tokens_per_month;
  LimitValue cost_micros_per_day;
  LimitValue cost_micros_per_month;

  friend bool operator==(const Limits&, const Limits&) = default;
};

// A user's overrides. For each field: nullopt inherits the role's limit; a LimitValue replaces
// it, including an explicit "unlimited" (a LimitValue holding nullopt).
struct LimitOverrides {
  std::optional<LimitValue> requests_per_minute;
  std::optional<LimitValue> tokens_per_minute;
  std::optional<LimitValue> tokens_per_day;
  std::optional<LimitValue> tokens_per_month;
  std::optional<LimitValue> cost_micros_per_day;
  std::optional<LimitValue> cost_micros_per_month;
};

// Configured limits per role. Defaults: unlimited (a self-hosted single-user setup should not
// need configuration to work); operators set them in the config file.
struct RoleLimits {
  Limits user;
  Limits admin;

  const Limits& for_role(Role role) const { return role == Role::kAdmin ? admin : user; }
};

// kInvalidArgument naming the first negative field.
Status validate_limits(const Limits& limits);

// The role's limits with the user's overrides applied.
Limits resolve_limits(const Limits& role_limits, const LimitOverrides& overrides);
inline Limits resolve_limits(const RoleLimits& roles, Role role, const LimitOverrides& overrides) {
  return resolve_limits(roles.for_role(role), overrides);
}

// What the user has recorded in the current day and month windows (the store sums usage since
// day_window(now).start and month_window(now).start).
struct QuotaUsage {
  std::int64_t tokens_day = 0;
  std::int64_t tokens_month = 0;
  std::int64_t cost_micros_day = 0;
  std::int64_t cost_micros_month = 0;
};

struct QuotaWindow {
  std::chrono::sys_seconds start;  // inclusive
  std::chrono::sys_seconds reset;  // exclusive: the next window's start
};

// The UTC day / month that contains `now`.
QuotaWindow day_window(std::chrono::system_clock::time_point now);
QuotaWindow month_window(std::chrono::system_clock::time_point now);

// OK while every quota has room (used < limit), else kResourceExhausted (429) with details
// "retry_after" = whole seconds until the latest reset among the exhausted windows (rounded up,
// >= 1: when both the daily and the monthly quota are spent, the day's reset does not help) and
// "code" = "insufficient_quota", OpenAI's code for this case. The message names the quota, the
// usage and the reset instant. A request that starts with room left may end above the limit;
// the next one is refused (quotas are checked before a request, usage is recorded after).
Status check_quota(const Limits& limits, const QuotaUsage& used, std::chrono::system_clock::time_point now);

}  // namespace parley::auth
