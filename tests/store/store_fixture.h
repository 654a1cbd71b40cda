// The fixture of the store suite: every TEST_P runs once per backend (SQLite in a temp dir,
// PostgreSQL in a fresh schema of the test cluster that tests/store/pg_cluster.sh started).
//
// PostgreSQL: the URL comes from PARLEY_TEST_PG_URL, or from $PARLEY_TEST_PG_STATE/url written by
// the CTest fixture. Without either the PostgreSQL cases FAIL, unless PARLEY_TEST_SKIP_PG=1.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"
#include "store/open_store.h"
#include "store/store.h"

namespace parley::store::testing {

enum class Backend { kSqlite, kPostgres };

std::string backend_param_name(const ::testing::TestParamInfo<Backend>& info);
void PrintTo(Backend backend, std::ostream* os);  // names in test listings

// A clock that advances by 1 ms on every read (so timestamps are distinct and ordered) and can
// be moved forward by a test. Thread-safe.
class FakeClock {
 public:
  static constexpr std::int64_t kStart = 1'750'000'000'000'000;  // mid-2025, in microseconds
  Clock clock() const {
    auto us = us_;
    return [us] { return Time(std::chrono::microseconds(us->fetch_add(1000))); };
  }
  Time peek() const { return Time(std::chrono::microseconds(us_->load())); }
  void advance(std::chrono::microseconds d) { us_->fetch_add(d.count()); }

 private:
  std::shared_ptr<std::atomic<std::int64_t>> us_ = std::make_shared<std::atomic<std::int64_t>>(kStart);
};

class StoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override;
  void TearDown() override;

  bool postgres() const { return GetParam() == Backend::kPostgres; }
  Store& store() { return *store_; }

  // Another Store on the same database: with the fake clock, or with `options` as given.
  Result<std::unique_ptr<Store>> open();
  Result<std::unique_ptr<Store>> open(const StoreOptions& options);
  StoreOptions default_options() const;

  // Runs SQL on the database directly (sqlite3 / libpq), bypassing the Store.
  void exec_raw(const std::string& sql);
  // The first column of the first row of a query run directly, as an integer (-1 on error).
  std::int64_t query_raw_int(const std::string& sql);

  // Puts the database (with the store closed) back to schema version 4: undoes migration 5.
  void downgrade_to_schema_4();
  // Puts the database (with the store closed) back to schema version 3: undoes migrations 5 and 4.
  void downgrade_to_schema_3();
  // Puts the database (with the store closed) back to schema version 2: undoes migrations 4 and
  // 3, so that tests of older migrations can go further back, and its own test can apply it again.
  void downgrade_to_schema_2();

  User make_user(std::string_view email, UserRole role = UserRole::kUser);
  Conversation make_conversation(const User& owner, std::string_view title = "chat");

  std::string url_;
  FakeClock clock_;
  std::unique_ptr<Store> store_;

 private:
  std::string temp_dir_;
  std::string pg_base_url_;
  std::string pg_schema_;
};

}  // namespace parley::store::testing

#define ASSERT_OK(expr)                                             \
  do {                                                              \
    const ::parley::Status st_ = ::parley::detail::as_status(expr); \
    ASSERT_TRUE(st_.ok()) << #expr << ": " << st_.to_string();      \
  } while (0)

#define EXPECT_OK(expr)                                             \
  do {                                                              \
    const ::parley::Status st_ = ::parley::detail::as_status(expr); \
    EXPECT_TRUE(st_.ok()) << #expr << ": " << st_.to_string();      \
  } while (0)

#define STORE_ASSIGN_CONCAT_(a, b) a##b
#define STORE_ASSIGN_CONCAT(a, b) STORE_ASSIGN_CONCAT_(a, b)
#define ASSERT_OK_AND_ASSIGN(lhs, expr) ASSERT_OK_AND_ASSIGN_IMPL(STORE_ASSIGN_CONCAT(result_, __LINE__), lhs, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL(tmp, lhs, expr)                     \
  auto tmp = (expr);                                                  \
  ASSERT_TRUE(tmp.ok()) << #expr << ": " << tmp.status().to_string(); \
  lhs = std::move(tmp).value()

// The error code of a Status or Result, by name (readable in failure messages).
#define EXPECT_CODE(expr, code_)                                                                            \
  do {                                                                                                      \
    const ::parley::Status st_ = ::parley::detail::as_status(expr);                                         \
    EXPECT_EQ(::parley::error_code_name(st_.code()), ::parley::error_code_name(::parley::ErrorCode::code_)) \
        << #expr << ": " << st_.to_string();                                                                \
  } while (0)
