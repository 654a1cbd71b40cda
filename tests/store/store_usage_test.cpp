// Usage records and their aggregates, on every backend.
#include "store/store_fixture.h"

namespace parley::store::testing {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

UsageRecord rec(const User& u, std::string model, std::int64_t p, std::int64_t c, std::int64_t cost, Time at,
                std::string key = "") {
  UsageRecord r;
  r.user_id = u.id;
  r.api_key_id = std::move(key);
  r.model = std::move(model);
  r.prompt_tokens = p;
  r.completion_tokens = c;
  r.cost_micros = cost;
  r.at = at;
  return r;
}

TEST_P(StoreTest, UsageWindowsAndGroupings) {
  User a = make_user("a@example.com");
  User b = make_user("b@example.com");
  ASSERT_OK_AND_ASSIGN(ApiKey ka, store().create_api_key({a.id, "k", "pk-a", "hash-a", {}, std::nullopt}));
  const Time t0 = clock_.peek() + hours(1);
  ASSERT_OK(store().record_usage(rec(a, "llama", 10, 5, 100, t0)));
  ASSERT_OK(store().record_usage(rec(a, "llama", 20, 10, 200, t0 + seconds(10), ka.id)));
  ASSERT_OK(store().record_usage(rec(a, "qwen", 1, 1, 7, t0 + seconds(20), ka.id)));
  ASSERT_OK(store().record_usage(rec(a, "qwen", 1000, 1000, 9999, t0 + seconds(30))));  // outside the window below
  ASSERT_OK(store().record_usage(rec(b, "llama", 3, 3, 50000, t0 + seconds(5))));

  // [t0, t0+30s): half-open, the 30 s record is out.
  ASSERT_OK_AND_ASSIGN(auto sum, store().usage_summary(a.id, t0, t0 + seconds(30)));
  ASSERT_EQ(sum.size(), 2u);
  EXPECT_EQ(sum[0].model, "llama");
  EXPECT_EQ(sum[0].totals.requests, 2);
  EXPECT_EQ(sum[0].totals.prompt_tokens, 30);
  EXPECT_EQ(sum[0].totals.completion_tokens, 15);
  EXPECT_EQ(sum[0].totals.cost_micros, 300);
  EXPECT_EQ(sum[1].model, "qwen");
  EXPECT_EQ(sum[1].totals.requests, 1);
  EXPECT_EQ(sum[1].totals.cost_micros, 7);
  // The lower bound is inclusive.
  ASSERT_OK_AND_ASSIGN(auto from10, store().usage_summary(a.id, t0 + seconds(10), t0 + hours(1)));
  ASSERT_EQ(from10.size(), 2u);
  EXPECT_EQ(from10[0].totals.requests, 1);
  EXPECT_EQ(from10[1].totals.requests, 2);
  ASSERT_OK_AND_ASSIGN(auto empty, store().usage_summary(a.id, t0 - hours(2), t0 - hours(1)));
  EXPECT_TRUE(empty.empty());

  // Quota totals since T, for the user and for one key.
  ASSERT_OK_AND_ASSIGN(UsageTotals tot, store().usage_totals(a.id, t0 + seconds(10)));
  EXPECT_EQ(tot.requests, 3);
  EXPECT_EQ(tot.prompt_tokens, 1021);
  EXPECT_EQ(tot.completion_tokens, 1011);
  EXPECT_EQ(tot.cost_micros, 10206);
  ASSERT_OK_AND_ASSIGN(UsageTotals by_key, store().usage_totals(a.id, t0, ka.id));
  EXPECT_EQ(by_key.requests, 2);
  EXPECT_EQ(by_key.cost_micros, 207);
  ASSERT_OK_AND_ASSIGN(UsageTotals none, store().usage_totals(a.id, t0 + hours(1)));
  EXPECT_EQ(none.requests, 0);
  EXPECT_EQ(none.cost_micros, 0);

  // Admin view: every user in the window, biggest spender first.
  ASSERT_OK_AND_ASSIGN(auto users, store().usage_by_user(t0, t0 + seconds(30)));
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0].user_id, b.id);
  EXPECT_EQ(users[0].email, "b@example.com");
  EXPECT_EQ(users[0].totals.cost_micros, 50000);
  EXPECT_EQ(users[1].user_id, a.id);
  EXPECT_EQ(users[1].totals.requests, 3);
  EXPECT_EQ(users[1].totals.cost_micros, 307);
}

TEST_P(StoreTest, UsageIsIsolatedBetweenUsers) {
  User a = make_user("a@example.com");
  User b = make_user("b@example.com");
  ASSERT_OK_AND_ASSIGN(ApiKey ka, store().create_api_key({a.id, "k", "pk-a", "hash-a", {}, std::nullopt}));
  const Time t0 = clock_.peek();
  ASSERT_OK(store().record_usage(rec(a, "m", 1, 1, 1, t0, ka.id)));
  // b cannot bill a's key, nor read a's usage through it.
  auto bad = store().record_usage(rec(b, "m", 1, 1, 1, t0, ka.id));
  EXPECT_CODE(bad, kInvalidArgument);
  EXPECT_EQ(bad.detail("param"), "api_key_id");
  ASSERT_OK_AND_ASSIGN(UsageTotals via_key, store().usage_totals(b.id, t0 - hours(1), ka.id));
  EXPECT_EQ(via_key.requests, 0);
  ASSERT_OK_AND_ASSIGN(auto sum_b, store().usage_summary(b.id, t0 - hours(1), t0 + hours(1)));
  EXPECT_TRUE(sum_b.empty());
  ASSERT_OK_AND_ASSIGN(UsageTotals a_tot, store().usage_totals(a.id, t0 - hours(1)));
  EXPECT_EQ(a_tot.requests, 1);
}

TEST_P(StoreTest, UsageInputIsValidated) {
  User a = make_user("a@example.com");
  const Time t0 = clock_.peek();
  EXPECT_CODE(store().record_usage(rec(a, "m", -1, 0, 0, t0)), kInvalidArgument);
  EXPECT_CODE(store().record_usage(rec(a, "m", 0, -1, 0, t0)), kInvalidArgument);
  EXPECT_CODE(store().record_usage(rec(a, "m", 0, 0, -5, t0)), kInvalidArgument);
  EXPECT_CODE(store().record_usage(rec(a, std::string(kMaxModelBytes + 1, 'm'), 0, 0, 0, t0)), kInvalidArgument);
  EXPECT_CODE(store().record_usage(rec(a, "m", 0, 0, 0, t0, "key_00000000000000000000000000")), kInvalidArgument);
  User ghost;
  ghost.id = "usr_00000000000000000000000000";
  EXPECT_CODE(store().record_usage(rec(ghost, "m", 0, 0, 0, t0)), kNotFound);
  // A zero time means "now" by the store's clock.
  ASSERT_OK(store().record_usage(rec(a, "m", 1, 2, 3, Time{})));
  ASSERT_OK_AND_ASSIGN(UsageTotals tot, store().usage_totals(a.id, t0));
  EXPECT_EQ(tot.requests, 1);
  EXPECT_EQ(tot.cost_micros, 3);
}

}  // namespace
}  // namespace parley::store::testing
