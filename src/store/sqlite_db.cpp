// The SQLite driver: one writer connection behind a mutex, a small pool of read-only connections,
// WAL with synchronous=FULL (docs/store.md explains why FULL), prepared statements cached per
// connection.
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <unordered_map>

#include "base/log.h"
#include "store/sql_db.h"

namespace parley::store::sql {
namespace {

// Status detail naming a file-system fault (full, readonly, io) behind an error.
constexpr std::string_view kStorageFault = "storage_fault";

Status sqlite_error(sqlite3* db, int rc, std::string_view what) {
  const int ext = db != nullptr ? sqlite3_extended_errcode(db) : rc;
  const std::string msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (ext) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return already_exists_error("{}: {}", what, msg);
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return not_found_error("{}: referenced row not found ({})", what, msg);
    default:
      break;
  }
  switch (ext & 0xff) {
    case SQLITE_CONSTRAINT:
    case SQLITE_TOOBIG:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
      return invalid_argument_error("{}: {}", what, msg);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return unavailable_error("{}: database is busy ({})", what, msg);
    // The file system refuses the write (full, read-only, failing): the server's fault, not the
    // client's, and it may pass once an operator frees space or remounts, so kUnavailable (503 +
    // Retry-After; PostgreSQL's disk_full, class 53, maps the same), marked so that the driver
    // checks writes in its ping until one succeeds again.
    case SQLITE_FULL:
      return unavailable_error("{}: {} (no space left for the store)", what, msg).with_detail(kStorageFault, "full");
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return unavailable_error("{}: {} (the store cannot be written)", what, msg)
          .with_detail(kStorageFault, "readonly");
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
      return unavailable_error("{}: {}", what, msg).with_detail(kStorageFault, "io");
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return data_loss_error("{}: {}", what, msg);
    default:
      return internal_error("{}: {} (sqlite code {})", what, msg, ext);
  }
}

class SqliteConn final : public Conn {
 public:
  explicit SqliteConn(sqlite3* db) : db_(db) {}
  ~SqliteConn() override {
    for (auto& [sql, stmt] : stmts_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }
  SqliteConn(const SqliteConn&) = delete;
  SqliteConn& operator=(const SqliteConn&) = delete;

  using Conn::run;
  Result<Rows> run(std::string_view sql, std::span<const Param> params) override {
    ASSIGN_OR_RETURN(sqlite3_stmt * stmt, prepare(sql));
    // Reset on every exit path: a statement left mid-step would keep a read snapshot open.
    struct Reset {
      sqlite3_stmt* s;
      ~Reset() {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
      }
    } reset{stmt};
    if (static_cast<int>(params.size()) != sqlite3_bind_parameter_count(stmt)) {
      return internal_error("statement expects {} parameters, got {}", sqlite3_bind_parameter_count(stmt),
                            params.size());
    }
    for (std::size_t i = 0; i < params.size(); ++i) {
      const int idx = static_cast<int>(i) + 1;
      int rc = SQLITE_OK;
      if (const auto* v = std::get_if<std::int64_t>(&params[i])) {
        rc = sqlite3_bind_int64(stmt, idx, *v);
      } else if (const auto* d = std::get_if<double>(&params[i])) {
        rc = sqlite3_bind_double(stmt, idx, *d);
      } else if (const auto* s = std::get_if<std::string_view>(&params[i])) {
        // A null data pointer would bind NULL; an empty string must stay an empty string.
        rc = sqlite3_bind_text64(stmt, idx, s->empty() ? "" : s->data(), s->size(), SQLITE_STATIC, SQLITE_UTF8);
      } else {
        rc = sqlite3_bind_null(stmt, idx);
      }
      if (rc != SQLITE_OK) return sqlite_error(db_, rc, "bind");
    }
    Rows rows;
    const int n_cols = sqlite3_column_count(stmt);
    while (true) {
      const int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return sqlite_error(db_, rc, "sqlite");
      std::vector<std::optional<std::string>> row(n_cols);
      for (int c = 0; c < n_cols; ++c) {
        if (sqlite3_column_type(stmt, c) == SQLITE_NULL) continue;
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
        row[c] = std::string(p != nullptr ? p : "", static_cast<std::size_t>(sqlite3_column_bytes(stmt, c)));
      }
      rows.add_row(std::move(row));
    }
    rows.set_affected(sqlite3_changes64(db_));
    return rows;
  }

  Status run_script(std::string_view sql) override {
    const std::string text(sql);
    char* err = nullptr;
    const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
    if (err != nullptr) sqlite3_free(err);
    if (rc != SQLITE_OK) return sqlite_error(db_, rc, "sqlite script");
    return ok_status();
  }

  sqlite3* handle() const { return db_; }

 private:
  Result<sqlite3_stmt*> prepare(std::string_view sql) {
    auto it = stmts_.find(std::string(sql));
    if (it != stmts_.end()) return it->second;
    sqlite3_stmt* stmt = nullptr;
    const int rc =
        sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return sqlite_error(db_, rc, "prepare");
    if (stmt == nullptr) return internal_error("prepare: empty statement");
    stmts_.emplace(std::string(sql), stmt);
    return stmt;
  }

  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> stmts_;
};

Result<std::unique_ptr<SqliteConn>> open_conn(const std::string& path, bool writer, const SqliteOptions& options) {
  sqlite3* db = nullptr;
  // NOMUTEX: each connection is used by one thread at a time (the writer mutex, the reader pool).
  const int flags = SQLITE_OPEN_READWRITE | (writer ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    Status s = sqlite_error(db, rc, "open " + path);
    sqlite3_close_v2(db);
    return s;
  }
  auto conn = std::make_unique<SqliteConn>(db);
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, static_cast<int>(options.busy_timeout.count()));
  if (writer) {
    ASSIGN_OR_RETURN(Rows mode, conn->run("PRAGMA journal_mode=WAL"));
    if (mode.empty() || mode.text(0, 0) != "wal") {
      return failed_precondition_error("{}: cannot switch to WAL mode (got '{}')", path,
                                       mode.empty() ? std::string() : mode.text(0, 0));
    }
    // FULL: the WAL is fsynced at every commit, so an acknowledged write survives power loss and
    // OS crashes, not only a killed process (NORMAL syncs only at checkpoints).
    RETURN_IF_ERROR(
        conn->run_script("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA journal_size_limit=67108864;"));
  } else {
    RETURN_IF_ERROR(conn->run_script("PRAGMA query_only=ON; PRAGMA foreign_keys=ON;"));
  }
  return conn;
}

class SqliteDb final : public Db {
 public:
  SqliteDb(std::string path, SqliteOptions options, std::unique_ptr<SqliteConn> writer)
      : path_(std::move(path)), options_(options), writer_(std::move(writer)) {}

  Dialect dialect() const override { return Dialect::kSqlite; }

  Status transact(TxKind kind, const std::function<Status(Conn&)>& fn) override {
    if (kind == TxKind::kWrite) {
      std::lock_guard lock(writer_mu_);
      Status s = run_tx(*writer_, "BEGIN IMMEDIATE", fn);
      if (s.ok()) {
        write_fault_ = false;
      } else if (!s.detail(kStorageFault).empty()) {
        write_fault_ = true;
      }
      return s;
    }
    ASSIGN_OR_RETURN(auto reader, acquire());
    Status s = run_tx(*reader, "BEGIN", fn);
    release(std::move(reader));
    return s;
  }

  Result<Rows> query(std::string_view sql, std::span<const Param> params) override {
    ASSIGN_OR_RETURN(auto reader, acquire());
    Result<Rows> rows = reader->run(sql, params);
    release(std::move(reader));
    return rows;
  }

  // `SELECT 1` never touches the file, so after a write failed for the file system (full,
  // read-only) the ping is a write until one succeeds: the header's application id rewritten with
  // its own value, one page into the WAL and nothing changed.
  Status ping() override {
    if (!write_fault_) return Db::query("SELECT 1").status();
    return transact(TxKind::kWrite, [](Conn& c) -> Status {
      ASSIGN_OR_RETURN(Rows id, c.run("PRAGMA application_id"));
      return c.run_script(fmt::format("PRAGMA application_id={}", id.empty() ? "0" : id.text(0, 0)));
    });
  }

 private:
  static Status run_tx(SqliteConn& conn, const char* begin, const std::function<Status(Conn&)>& fn) {
    RETURN_IF_ERROR(conn.run_script(begin));
    Status s = fn(conn);
    if (s.ok()) {
      s = conn.run_script("COMMIT");
      if (s.ok()) return s;
    }
    if (!sqlite3_get_autocommit(conn.handle())) {
      Status r = conn.run_script("ROLLBACK");
      if (!r.ok()) log_warn("sqlite rollback failed: {}", r.to_string());
    }
    return s;
  }

  Result<std::unique_ptr<SqliteConn>> acquire() {
    std::unique_lock lock(pool_mu_);
    const bool ok =
        pool_cv_.wait_for(lock, options_.acquire_timeout, [&] { return !idle_.empty() || open_ < options_.readers; });
    if (!ok)
      return unavailable_error("sqlite: no free reader connection within {} ms", options_.acquire_timeout.count());
    if (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      return conn;
    }
    ++open_;
    lock.unlock();
    auto conn = open_conn(path_, false, options_);
    if (!conn.ok()) {
      std::lock_guard relock(pool_mu_);
      --open_;
      pool_cv_.notify_one();
    }
    return conn;
  }

  void release(std::unique_ptr<SqliteConn> conn) {
    std::lock_guard lock(pool_mu_);
    idle_.push_back(std::move(conn));
    pool_cv_.notify_one();
  }

  std::string path_;
  SqliteOptions options_;
  std::mutex writer_mu_;
  std::unique_ptr<SqliteConn> writer_;
  std::atomic<bool> write_fault_{false};  // the last write failed for the file system
  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::vector<std::unique_ptr<SqliteConn>> idle_;
  int open_ = 0;
};

// An error at open names the file, and the likely cause when the file system refuses writes
// (SQLite's own "unable to open database file" does neither; WAL mode creates -wal and -shm files
// beside the database, so its directory must be writable too).
Status explain_open_failure(const std::string& path, const Status& st) {
  const std::filesystem::path file(path);
  const std::filesystem::path dir = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
  std::string why;
  if (::access(file.c_str(), F_OK) == 0 && ::access(file.c_str(), W_OK) != 0) {
    why = fmt::format(" (the file is not writable: {})", std::strerror(errno));
  } else if (::access(dir.c_str(), W_OK) != 0) {
    why = fmt::format(" (the directory {} is not writable: {})", dir.string(), std::strerror(errno));
  }
  const bool named = st.message().find(path) != std::string_view::npos;
  return Status(st.code(), fmt::format("{}{}{}", named ? "" : fmt::format("sqlite {}: ", path), st.message(), why));
}

}  // namespace

std::int64_t sqlite_memory_bytes() {
  return sqlite3_memory_used();
}

Result<std::unique_ptr<Db>> open_sqlite(const std::string& path, const SqliteOptions& options) {
  if (sqlite3_threadsafe() == 0) return failed_precondition_error("the SQLite library was built without threads");
  if (path.empty() || path == ":memory:" || path.starts_with("file:")) {
    return invalid_argument_error("sqlite: '{}' is not a file path (the store needs a file)", path);
  }
  if (options.readers < 1) return invalid_argument_error("sqlite: readers must be at least 1");
  auto writer = open_conn(path, true, options);
  if (!writer.ok()) return explain_open_failure(path, writer.status());
  return std::unique_ptr<Db>(std::make_unique<SqliteDb>(path, options, std::move(writer).value()));
}

}  // namespace parley::store::sql
