#include "auth/limits.h"

#include <algorithm>
#include <string>
#include <string_view>

namespace parley::auth {

namespace {

using std::chrono::days;
using std::chrono::sys_days;
using std::chrono::sys_seconds;

// "2025-03-01T00:00:00Z".
std::string iso8601(sys_seconds t) {
  const sys_days day = std::chrono::floor<days>(t);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss hms{t - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), hms.hours().count(),
                     hms.minutes().count(), hms.seconds().count());
}

struct Check {
  const LimitValue& limit;
  std::int64_t used;
  std::string_view what;
  const QuotaWindow& window;
};

}  // namespace

Status validate_limits(const Limits& l) {
  const std::pair<const LimitValue*, std::string_view> fields[] = {
      {&l.requests_per_minute, "requests_per_minute"}, {&l.tokens_per_minute, "tokens_per_minute"},
      {&l.tokens_per_day, "tokens_per_day"},           {&l.tokens_per_month, "tokens_per_month"},
      {&l.cost_micros_per_day, "cost_micros_per_day"}, {&l.cost_micros_per_month, "cost_micros_per_month"},
  };
  for (const auto& [value, name] : fields) {
    if (*value && **value < 0) return invalid_argument_error("limit {} must be >= 0, got {}", name, **value);
  }
  return ok_status();
}

Limits resolve_limits(const Limits& role_limits, const LimitOverrides& o) {
  Limits out = role_limits;
  auto apply = [](LimitValue& field, const std::optional<LimitValue>& override_value) {
    if (override_value) field = *override_value;
  };
  apply(out.requests_per_minute, o.requests_per_minute);
  apply(out.tokens_per_minute, o.tokens_per_minute);
  apply(out.tokens_per_day, o.tokens_per_day);
  apply(out.tokens_per_month, o.tokens_per_month);
  apply(out.cost_micros_per_day, o.cost_micros_per_day);
  apply(out.cost_micros_per_month, o.cost_micros_per_month);
  return out;
}

// Unix time has no leap seconds, so a UTC day is exactly 86400 s of system_clock and calendar
// arithmetic on sys_days is exact (C++20 <chrono>, proleptic Gregorian: leap years included).
QuotaWindow day_window(std::chrono::system_clock::time_point now) {
  const sys_days today = std::chrono::floor<days>(now);
  return {sys_seconds(today), sys_seconds(today + days(1))};
}

QuotaWindow month_window(std::chrono::system_clock::time_point now) {
  const std::chrono::year_month_day ymd{std::chrono::floor<days>(now)};
  const std::chrono::year_month_day first = ymd.year() / ymd.month() / std::chrono::day(1);
  const std::chrono::year_month_day next = first + std::chrono::months(1);  // December -> January
  return {sys_seconds(sys_days(first)), sys_seconds(sys_days(next))};
}

Status check_quota(const Limits& limits, const QuotaUsage& used, std::chrono::system_clock::time_point now) {
  const QuotaWindow day = day_window(now);
  const QuotaWindow month = month_window(now);
  const Check checks[] = {
      {limits.tokens_per_day, used.tokens_day, "daily token quota", day},
      {limits.tokens_per_month, used.tokens_month, "monthly token quota", month},
      {limits.cost_micros_per_day, used.cost_micros_day, "daily cost quota", day},
      {limits.cost_micros_per_month, used.cost_micros_month, "monthly cost quota", month},
  };
  const Check* first = nullptr;  // the exhausted quota that resets last
  for (const Check& c : checks) {
    if (!c.limit || c.used < *c.limit) continue;
    if (first == nullptr || c.window.reset > first->window.reset) first = &c;
  }
  if (first == nullptr) return ok_status();
  const auto wait = std::chrono::ceil<std::chrono::seconds>(first->window.reset - now);
  const std::int64_t retry_after = std::max<std::int64_t>(wait.count(), 1);
  return resource_exhausted_error("{} exhausted (used {} of {}); it resets at {}", first->what, first->used,
                                  *first->limit, iso8601(first->window.reset))
      .with_detail("retry_after", std::to_string(retry_after))
      .with_detail("code", "insufficient_quota");
}

}  // namespace parley::auth
