// File-system faults under the SQLite driver (issue 18): a full disk is the server's fault and
// transient (kUnavailable, so 503 + Retry-After at the gateway, not a 429 that blames the
// client), and a store that cannot be opened says which file and why. The real full disk and
// read-only file system are exercised end to end by tests/integration/faults.test.mjs.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "store/sql_db.h"
#include "store/store_fixture.h"

namespace parley::store::testing {
namespace {

class SqliteFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("parley-faults-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

std::int64_t page_count(sql::Db& db) {
  const Result<sql::Rows> rows = db.query("PRAGMA page_count");
  return rows.ok() && !rows->empty() ? std::stoll(rows->text(0, 0)) : -1;
}

// SQLite's max_page_count on the writer connection stands in for a full disk (SQLITE_FULL, the
// code a write gets from ENOSPC too).
TEST_F(SqliteFaults, AFullDatabaseIsUnavailableNotTheClientsFault) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<sql::Db> db, sql::open_sqlite((dir_ / "full.db").string(), {}));
  ASSERT_OK(db->transact(sql::TxKind::kWrite,
                         [](sql::Conn& c) { return c.run_script("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"); }));
  const std::int64_t pages = page_count(*db);
  ASSERT_GT(pages, 0);
  const auto set_max = [&](std::int64_t n) {
    return db->transact(sql::TxKind::kWrite,
                        [n](sql::Conn& c) { return c.run_script("PRAGMA max_page_count=" + std::to_string(n)); });
  };
  ASSERT_OK(set_max(pages + 2));
  const std::string big(64 * 1024, 'x');
  const auto insert = [&] {
    return db->transact(sql::TxKind::kWrite,
                        [&](sql::Conn& c) { return c.run("INSERT INTO t (v) VALUES (?)", {big}).status(); });
  };
  Status st;
  for (int i = 0; i < 8 && st.ok(); ++i) st = insert();
  EXPECT_CODE(st, kUnavailable);
  EXPECT_NE(st.message().find("full"), std::string_view::npos) << st.to_string();
  EXPECT_EQ(st.detail("storage_fault"), "full");

  // Room again: the next write succeeds, and what was acknowledged before is all there.
  ASSERT_OK(set_max(1 << 20));
  ASSERT_OK(insert());
  EXPECT_OK(db->ping());
}

TEST_F(SqliteFaults, AStoreThatCannotBeOpenedNamesTheFileAndTheDirectory) {
  const std::string path = (dir_ / "missing" / "parley.db").string();
  const Result<std::unique_ptr<sql::Db>> db = sql::open_sqlite(path, {});
  ASSERT_FALSE(db.ok());
  const std::string msg(db.status().message());
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("is not writable"), std::string::npos) << msg;
  EXPECT_NE(msg.find("No such file or directory"), std::string::npos) << msg;
}

// The options libpq holds for a connection made by postgres_connect: the connection fails (no
// server at that socket), its options are there all the same.
std::map<std::string, std::string> libpq_options(const std::string& url) {
  PGconn* conn = sql::postgres_connect(url, {});
  std::map<std::string, std::string> out;
  if (PQconninfoOption* info = PQconninfo(conn)) {
    for (PQconninfoOption* o = info; o->keyword != nullptr; ++o) {
      if (o->val != nullptr) out[o->keyword] = o->val;
    }
    PQconninfoFree(info);
  }
  PQfinish(conn);
  return out;
}

// A server gone without closing the connection (a black hole) breaks it after 30 s of
// unacknowledged data instead of the kernel's ~15 minutes; idle pooled connections are probed.
TEST(PostgresConnectParams, KeepalivesAndAUserTimeoutUnlessTheUrlSaysOtherwise) {
  const std::string socket = "/nonexistent-parley-" + std::to_string(::getpid());
  std::map<std::string, std::string> o = libpq_options("postgresql://u@/db?host=" + socket);
  EXPECT_EQ(o["tcp_user_timeout"], "30000");
  EXPECT_EQ(o["keepalives"], "1");
  EXPECT_EQ(o["keepalives_idle"], "30");
  EXPECT_EQ(o["keepalives_interval"], "10");
  EXPECT_EQ(o["keepalives_count"], "3");
  EXPECT_EQ(o["application_name"], "parley");
  EXPECT_EQ(o["connect_timeout"], "5");
  EXPECT_EQ(o["dbname"], "db");
  EXPECT_EQ(o["host"], socket);

  o = libpq_options("postgresql://u@/db?host=" + socket +
                    "&tcp_user_timeout=5000&keepalives=0&application_name=mine&client_encoding=LATIN1");
  EXPECT_EQ(o["tcp_user_timeout"], "5000");  // the URL's defaults win
  EXPECT_EQ(o["keepalives"], "0");
  EXPECT_EQ(o["application_name"], "mine");
  EXPECT_EQ(o["client_encoding"], "UTF8");  // forced: the driver's text is UTF-8
}

}  // namespace
}  // namespace parley::store::testing
