// Limits: overrides, validation, and quota windows in UTC around day, month, year and leap-year
// boundaries, with the exact retry_after detail the gateway turns into Retry-After.
#include "auth/limits.h"

#include <gtest/gtest.h>

#include <string>

namespace parley::auth {
namespace {

using namespace std::chrono;
using namespace std::chrono_literals;

// 2024-02-28 12:00:00 UTC style instants.
system_clock::time_point utc(int y, unsigned m, unsigned d, int hh = 0, int mm = 0, int ss = 0) {
  return sys_days(year(y) / month(m) / day(d)) + hours(hh) + minutes(mm) + seconds(ss);
}

std::int64_t retry_after(const Status& st) {
  EXPECT_EQ(st.code(), ErrorCode::kResourceExhausted) << st.to_string();
  return std::stoll(std::string(st.detail("retry_after")));
}

TEST(Limits, ResolveOverrides) {
  Limits role;
  role.requests_per_minute = 60;
  role.tokens_per_minute = 10'000;
  role.tokens_per_day = 100'000;
  LimitOverrides o;
  EXPECT_EQ(resolve_limits(role, o), role);         // nothing overridden
  o.requests_per_minute = LimitValue(600);          // raised
  o.tokens_per_day = LimitValue();                  // explicitly unlimited
  o.cost_micros_per_month = LimitValue(5'000'000);  // set where the role has none
  const Limits r = resolve_limits(role, o);
  EXPECT_EQ(r.requests_per_minute, 600);
  EXPECT_EQ(r.tokens_per_minute, 10'000);  // inherited
  EXPECT_FALSE(r.tokens_per_day.has_value());
  EXPECT_FALSE(r.tokens_per_month.has_value());
  EXPECT_EQ(r.cost_micros_per_month, 5'000'000);
}

TEST(Limits, ResolveByRole) {
  RoleLimits roles;
  roles.user.tokens_per_day = 1000;
  roles.admin.tokens_per_day = std::nullopt;
  EXPECT_EQ(resolve_limits(roles, Role::kUser, {}).tokens_per_day, 1000);
  EXPECT_FALSE(resolve_limits(roles, Role::kAdmin, {}).tokens_per_day.has_value());
  LimitOverrides o;
  o.tokens_per_day = LimitValue(0);  // suspended
  EXPECT_EQ(resolve_limits(roles, Role::kAdmin, o).tokens_per_day, 0);
}

TEST(Limits, Validate) {
  Limits l;
  EXPECT_TRUE(validate_limits(l).ok());
  l.tokens_per_month = 0;
  EXPECT_TRUE(validate_limits(l).ok());
  l.cost_micros_per_day = -1;
  const Status st = validate_limits(l);
  EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(st.message().find("cost_micros_per_day"), std::string_view::npos);
}

TEST(QuotaWindows, Day) {
  const QuotaWindow w = day_window(utc(2024, 3, 10, 13, 45, 7) + 250ms);
  EXPECT_EQ(w.start, utc(2024, 3, 10));
  EXPECT_EQ(w.reset, utc(2024, 3, 11));
  // Midnight itself starts a new window.
  EXPECT_EQ(day_window(utc(2024, 3, 11)).start, utc(2024, 3, 11));
  EXPECT_EQ(day_window(utc(2024, 3, 10, 23, 59, 59)).reset, utc(2024, 3, 11));
  // Across month and year ends and the leap day.
  EXPECT_EQ(day_window(utc(2024, 2, 28, 12)).reset, utc(2024, 2, 29));
  EXPECT_EQ(day_window(utc(2024, 2, 29, 12)).reset, utc(2024, 3, 1));
  EXPECT_EQ(day_window(utc(2023, 2, 28, 12)).reset, utc(2023, 3, 1));
  EXPECT_EQ(day_window(utc(2024, 12, 31, 23, 59, 59)).reset, utc(2025, 1, 1));
  // Before the Unix epoch (floor, not truncation toward zero).
  EXPECT_EQ(day_window(utc(1969, 12, 31, 12)).start, utc(1969, 12, 31));
}

TEST(QuotaWindows, Month) {
  EXPECT_EQ(month_window(utc(2024, 3, 10, 13)).start, utc(2024, 3, 1));
  EXPECT_EQ(month_window(utc(2024, 3, 10, 13)).reset, utc(2024, 4, 1));
  EXPECT_EQ(month_window(utc(2024, 1, 31, 23, 59, 59)).reset, utc(2024, 2, 1));
  EXPECT_EQ(month_window(utc(2024, 2, 29, 23, 59, 59)).reset, utc(2024, 3, 1));  // leap year
  EXPECT_EQ(month_window(utc(2024, 2, 1)).start, utc(2024, 2, 1));               // first instant
  EXPECT_EQ(month_window(utc(2024, 12, 15)).reset, utc(2025, 1, 1));             // year end
  EXPECT_EQ(month_window(utc(2024, 12, 31, 23, 59, 59)).start, utc(2024, 12, 1));
  EXPECT_EQ(month_window(utc(2025, 1, 1)).start, utc(2025, 1, 1));
  // February lengths: 2024 leap, 2023 not, 2100 not (century), 2000 leap (400-year rule).
  EXPECT_EQ(month_window(utc(2024, 2, 10)).reset - month_window(utc(2024, 2, 10)).start, days(29));
  EXPECT_EQ(month_window(utc(2023, 2, 10)).reset - month_window(utc(2023, 2, 10)).start, days(28));
  EXPECT_EQ(month_window(utc(2100, 2, 10)).reset - month_window(utc(2100, 2, 10)).start, days(28));
  EXPECT_EQ(month_window(utc(2000, 2, 10)).reset - month_window(utc(2000, 2, 10)).start, days(29));
}

TEST(CheckQuota, UnderLimitsOrUnlimitedPasses) {
  Limits l;
  QuotaUsage used{.tokens_day = 1'000'000'000, .tokens_month = 1'000'000'000};
  EXPECT_TRUE(check_quota(l, used, utc(2024, 5, 5)).ok());  // no limits
  l.tokens_per_day = 1000;
  l.tokens_per_month = 10'000;
  used = {.tokens_day = 999, .tokens_month = 9999};
  EXPECT_TRUE(check_quota(l, used, utc(2024, 5, 5)).ok());
}

TEST(CheckQuota, DailyExhaustedRetriesAtUtcMidnight) {
  Limits l;
  l.tokens_per_day = 1000;
  const Status st = check_quota(l, {.tokens_day = 1000}, utc(2024, 5, 5, 22, 30));
  EXPECT_EQ(retry_after(st), 5400);
  EXPECT_EQ(st.detail("code"), "insufficient_quota");
  EXPECT_NE(st.message().find("daily token quota"), std::string_view::npos) << st.message();
  EXPECT_NE(st.message().find("used 1000 of 1000"), std::string_view::npos) << st.message();
  EXPECT_NE(st.message().find("2024-05-06T00:00:00Z"), std::string_view::npos) << st.message();
  // Sub-second remainders round up; the last second before midnight still says 1.
  EXPECT_EQ(retry_after(check_quota(l, {.tokens_day = 1000}, utc(2024, 5, 5, 23, 59, 58) + 1ms)), 2);
  EXPECT_EQ(retry_after(check_quota(l, {.tokens_day = 1000}, utc(2024, 5, 5, 23, 59, 59) + 999ms)), 1);
  // Exactly at midnight a new day has begun: a full day to wait if the (new) window is exhausted.
  EXPECT_EQ(retry_after(check_quota(l, {.tokens_day = 5000}, utc(2024, 5, 6))), 86400);
}

TEST(CheckQuota, MonthlyResetsAcrossLeapFebruaryAndYearEnd) {
  Limits l;
  l.tokens_per_month = 10;
  const QuotaUsage spent{.tokens_month = 10};
  // 2024-02-28 12:00 -> 2024-03-01 00:00: 1.5 days in a leap year, 0.5 days in 2023.
  EXPECT_EQ(retry_after(check_quota(l, spent, utc(2024, 2, 28, 12))), 36 * 3600);
  EXPECT_EQ(retry_after(check_quota(l, spent, utc(2023, 2, 28, 12))), 12 * 3600);
  EXPECT_EQ(retry_after(check_quota(l, spent, utc(2024, 12, 31, 23, 59, 59))), 1);
  EXPECT_EQ(retry_after(check_quota(l, spent, utc(2024, 12, 1))), 31 * 86400);
  const Status st = check_quota(l, spent, utc(2024, 12, 31, 23));
  EXPECT_NE(st.message().find("2025-01-01T00:00:00Z"), std::string_view::npos) << st.message();
  EXPECT_NE(st.message().find("monthly token quota"), std::string_view::npos) << st.message();
}

TEST(CheckQuota, LatestResetWinsWhenSeveralAreExhausted) {
  Limits l;
  l.tokens_per_day = 100;
  l.tokens_per_month = 1000;
  l.cost_micros_per_day = 50;
  const auto now = utc(2024, 2, 10, 12);
  // Only the day: retry at midnight.
  EXPECT_EQ(retry_after(check_quota(l, {.tokens_day = 100, .tokens_month = 500}, now)), 12 * 3600);
  // Day and month: tomorrow would still be refused; retry on March 1st.
  const Status both = check_quota(l, {.tokens_day = 100, .tokens_month = 1000}, now);
  EXPECT_EQ(retry_after(both), 12 * 3600 + 19 * 86400);
  EXPECT_NE(both.message().find("monthly"), std::string_view::npos);
  // Cost alone.
  const Status cost = check_quota(l, {.cost_micros_day = 50}, now);
  EXPECT_EQ(retry_after(cost), 12 * 3600);
  EXPECT_NE(cost.message().find("daily cost quota"), std::string_view::npos);
  l.cost_micros_per_month = 60;
  EXPECT_EQ(retry_after(check_quota(l, {.cost_micros_day = 1, .cost_micros_month = 61}, now)), 12 * 3600 + 19 * 86400);
}

TEST(CheckQuota, ZeroLimitRefusesEverything) {
  Limits l;
  l.tokens_per_day = 0;
  EXPECT_EQ(check_quota(l, {}, utc(2024, 1, 1)).code(), ErrorCode::kResourceExhausted);
}

}  // namespace
}  // namespace parley::auth
