#include "store/store_fixture.h"

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

namespace parley::store::testing {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : std::string();
}

// The test cluster's URL, or "" when there is none.
std::string pg_base_url() {
  std::string url = env("PARLEY_TEST_PG_URL");
  if (!url.empty()) return url;
  const std::string state = env("PARLEY_TEST_PG_STATE");
  if (state.empty()) return {};
  std::ifstream in(state + "/url");
  std::getline(in, url);
  return url;
}

void quiet(void* /*arg*/, const char* /*message*/) {}  // NOTICEs such as "drop cascades to ..."

// Runs one SQL text on a libpq connection; "" or the error.
std::string pg_exec(const std::string& url, const std::string& sql) {
  PGconn* conn = PQconnectdb(url.c_str());
  PQsetNoticeProcessor(conn, quiet, nullptr);
  std::string err;
  if (PQstatus(conn) != CONNECTION_OK) {
    err = PQerrorMessage(conn);
  } else {
    PGresult* res = PQexec(conn, sql.c_str());
    const auto st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) err = PQresultErrorMessage(res);
    PQclear(res);
  }
  PQfinish(conn);
  return err;
}

std::string with_search_path(const std::string& base, const std::string& schema) {
  return base + (base.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" + schema;
}

}  // namespace

std::string backend_param_name(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "sqlite" : "postgres";
}

void PrintTo(Backend backend, std::ostream* os) {
  *os << (backend == Backend::kSqlite ? "sqlite" : "postgres");
}

StoreOptions StoreTest::default_options() const {
  StoreOptions o;
  o.clock = clock_.clock();
  return o;
}

void StoreTest::SetUp() {
  if (GetParam() == Backend::kSqlite) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "parley-store-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    temp_dir_ = tmpl;
    url_ = "sqlite:" + temp_dir_ + "/parley.db";
  } else {
    pg_base_url_ = pg_base_url();
    if (pg_base_url_.empty()) {
      if (env("PARLEY_TEST_SKIP_PG") == "1") GTEST_SKIP() << "PARLEY_TEST_SKIP_PG=1: no PostgreSQL";
      GTEST_FAIL() << "no PostgreSQL test server: run through ctest (fixture store_pg starts one), set "
                      "PARLEY_TEST_PG_URL, or set PARLEY_TEST_SKIP_PG=1 to skip";
    }
    std::random_device rd;
    pg_schema_ = "t_" + std::to_string(getpid()) + "_" + std::to_string(rd() % 1000000);
    const std::string err = pg_exec(pg_base_url_, "CREATE SCHEMA " + pg_schema_);
    ASSERT_EQ(err, "") << "cannot create a schema on " << pg_base_url_;
    url_ = with_search_path(pg_base_url_, pg_schema_);
  }
  ASSERT_OK_AND_ASSIGN(store_, open());
}

void StoreTest::TearDown() {
  store_.reset();
  if (!temp_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(temp_dir_, ec);
  }
  if (!pg_schema_.empty()) {
    const std::string err = pg_exec(pg_base_url_, "DROP SCHEMA " + pg_schema_ + " CASCADE");
    EXPECT_EQ(err, "");
  }
}

Result<std::unique_ptr<Store>> StoreTest::open() {
  return open_store(url_, default_options());
}

Result<std::unique_ptr<Store>> StoreTest::open(const StoreOptions& options) {
  return open_store(url_, options);
}

void StoreTest::exec_raw(const std::string& sql) {
  if (postgres()) {
    ASSERT_EQ(pg_exec(url_, sql), "");
    return;
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(url_.substr(7).c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  const std::string msg = err != nullptr ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << msg;
}

std::int64_t StoreTest::query_raw_int(const std::string& sql) {
  std::int64_t out = -1;
  if (postgres()) {
    PGconn* conn = PQconnectdb(url_.c_str());
    PGresult* res = PQexec(conn, sql.c_str());
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0) out = std::atoll(PQgetvalue(res, 0, 0));
    PQclear(res);
    PQfinish(conn);
    return out;
  }
  sqlite3* db = nullptr;
  if (sqlite3_open(url_.substr(7).c_str(), &db) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW) {
      out = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return out;
}

void StoreTest::downgrade_to_schema_4() {
  ASSERT_EQ(latest_schema_version(), 5) << "update this helper for the new migration";
  exec_raw("DROP INDEX messages_streaming");
  exec_raw("ALTER TABLE messages DROP COLUMN status");
  exec_raw("ALTER TABLE messages DROP COLUMN updated_at");
  exec_raw("DELETE FROM schema_migrations WHERE version = 5");
}

void StoreTest::downgrade_to_schema_3() {
  downgrade_to_schema_4();
  exec_raw("DROP TABLE moderation_events");
  exec_raw("DROP TABLE suspensions");
  exec_raw("DELETE FROM schema_migrations WHERE version = 4");
}

void StoreTest::downgrade_to_schema_2() {
  downgrade_to_schema_3();
  exec_raw("DROP TABLE shares");
  exec_raw("DROP INDEX usage_conversation");
  exec_raw("ALTER TABLE usage_records DROP COLUMN conversation_id");
  for (const char* column :
       {"settings_system_prompt", "settings_temperature", "settings_max_tokens", "settings_model"}) {
    exec_raw(std::string("ALTER TABLE conversations DROP COLUMN ") + column);
  }
  exec_raw("DELETE FROM schema_migrations WHERE version = 3");
}

User StoreTest::make_user(std::string_view email, UserRole role) {
  NewUser u;
  u.email = email;
  u.display_name = "Name of " + std::string(email);
  u.role = role;
  u.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA";
  auto r = store_->create_user(u);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? *r : User{};
}

Conversation StoreTest::make_conversation(const User& owner, std::string_view title) {
  auto r = store_->create_conversation(owner.id, title);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? *r : Conversation{};
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         backend_param_name);

}  // namespace parley::store::testing
