// The PostgreSQL driver: libpq connections in a bounded pool, statements prepared once per
// connection (PQprepare / PQexecPrepared), text-format parameters, SQLSTATE -> ErrorCode.
#include <libpq-fe.h>

#include <condition_variable>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "base/log.h"
#include "store/sql_db.h"

namespace parley::store::sql {
namespace {

std::string trimmed(const char* s) {
  std::string out = s != nullptr ? s : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// Maps a failed result to a Status by its SQLSTATE class.
Status pg_error(PGconn* conn, const PGresult* res, std::string_view what) {
  if (PQstatus(conn) != CONNECTION_OK) {
    return unavailable_error("{}: connection to PostgreSQL lost: {}", what, trimmed(PQerrorMessage(conn)));
  }
  const char* state_c = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  const std::string state = state_c != nullptr ? state_c : "";
  const std::string msg = trimmed(res != nullptr ? PQresultErrorMessage(res) : PQerrorMessage(conn));
  if (state == "23505") return already_exists_error("{}: {}", what, msg);
  if (state == "23503") return not_found_error("{}: referenced row not found ({})", what, msg);
  if (state.starts_with("23") || state.starts_with("22")) return invalid_argument_error("{}: {}", what, msg);
  if (state == "40001" || state == "40P01") return Status(ErrorCode::kAborted, fmt::format("{}: {}", what, msg));
  if (state.starts_with("08") || state.starts_with("53") || state.starts_with("57")) {
    return unavailable_error("{}: {}", what, msg);
  }
  return internal_error("{}: {} (SQLSTATE {})", what, msg, state.empty() ? "none" : state);
}

void drop_notice(void* /*arg*/, const char* message) {
  log_debug("postgres: {}", trimmed(message));
}

class PgConn final : public Conn {
 public:
  explicit PgConn(PGconn* conn) : conn_(conn) { PQsetNoticeProcessor(conn_, drop_notice, nullptr); }
  ~PgConn() override { PQfinish(conn_); }
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  bool broken() const { return PQstatus(conn_) != CONNECTION_OK; }
  PGconn* handle() const { return conn_; }

  using Conn::run;
  Result<Rows> run(std::string_view sql, std::span<const Param> params) override {
    ASSIGN_OR_RETURN(const std::string* name, prepare(sql, params.size()));
    // Text-format parameters are C strings: copy each (ints formatted) and refuse embedded NULs,
    // which libpq would silently truncate at.
    std::vector<std::string> storage(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    for (std::size_t i = 0; i < params.size(); ++i) {
      if (const auto* v = std::get_if<std::int64_t>(&params[i])) {
        storage[i] = std::to_string(*v);
      } else if (const auto* d = std::get_if<double>(&params[i])) {
        storage[i] = fmt::format("{}", *d);  // the shortest text that reads back as the same double
      } else if (const auto* s = std::get_if<std::string_view>(&params[i])) {
        if (s->find('\0') != std::string_view::npos) return invalid_argument_error("text contains a NUL byte");
        storage[i] = std::string(*s);
      } else {
        continue;  // NULL
      }
      values[i] = storage[i].c_str();
    }
    PGresult* res =
        PQexecPrepared(conn_, name->c_str(), static_cast<int>(params.size()), values.data(), nullptr, nullptr, 0);
    return collect(res, "postgres");
  }

  Status run_script(std::string_view sql) override {
    const std::string text(sql);
    return collect(PQexec(conn_, text.c_str()), "postgres script").status();
  }

 private:
  Result<Rows> collect(PGresult* res, std::string_view what) {
    struct Clear {
      PGresult* r;
      ~Clear() { PQclear(r); }
    } clear{res};
    const ExecStatusType st = res != nullptr ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return pg_error(conn_, res, what);
    Rows rows;
    const int n_rows = PQntuples(res);
    const int n_cols = PQnfields(res);
    for (int r = 0; r < n_rows; ++r) {
      std::vector<std::optional<std::string>> row(n_cols);
      for (int c = 0; c < n_cols; ++c) {
        if (PQgetisnull(res, r, c)) continue;
        row[c] = std::string(PQgetvalue(res, r, c), static_cast<std::size_t>(PQgetlength(res, r, c)));
      }
      rows.add_row(std::move(row));
    }
    const char* tuples = PQcmdTuples(res);
    rows.set_affected(tuples != nullptr && *tuples ? std::atoll(tuples) : 0);
    return rows;
  }

  Result<const std::string*> prepare(std::string_view sql, std::size_t n_params) {
    auto it = prepared_.find(std::string(sql));
    if (it != prepared_.end()) return &it->second;
    std::string name = "parley_" + std::to_string(prepared_.size());
    const std::string text = to_dollar_placeholders(sql);
    PGresult* res = PQprepare(conn_, name.c_str(), text.c_str(), static_cast<int>(n_params), nullptr);
    RETURN_IF_ERROR(collect(res, "prepare"));
    auto [pos, inserted] = prepared_.emplace(std::string(sql), std::move(name));
    return &pos->second;
  }

  PGconn* conn_;
  std::unordered_map<std::string, std::string> prepared_;  // SQL text -> statement name
};

class PostgresDb final : public Db {
 public:
  PostgresDb(std::string url, PostgresOptions options) : url_(std::move(url)), options_(options) {}

  Dialect dialect() const override { return Dialect::kPostgres; }

  Result<std::unique_ptr<PgConn>> connect() {
    PGconn* conn = postgres_connect(url_, options_);
    if (conn == nullptr) return resource_exhausted_error("postgres: out of memory");
    if (PQstatus(conn) != CONNECTION_OK) {
      Status s = unavailable_error("cannot connect to PostgreSQL: {}", trimmed(PQerrorMessage(conn)));
      PQfinish(conn);
      return s;
    }
    return std::make_unique<PgConn>(conn);
  }

  // Connects once (open_postgres fails early on a bad URL) and parks the connection in the pool.
  Status prime() {
    ASSIGN_OR_RETURN(auto conn, connect());
    std::lock_guard lock(mu_);
    ++open_;
    idle_.push_back(std::move(conn));
    return ok_status();
  }

  Status transact(TxKind kind, const std::function<Status(Conn&)>& fn) override {
    const char* begin = kind == TxKind::kWrite ? "BEGIN" : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
    for (int attempt = 0;; ++attempt) {
      ASSIGN_OR_RETURN(auto conn, acquire());
      Status s = conn->run_script(begin);
      if (!s.ok()) {
        // A pooled connection whose server went away fails here, before any work: retry once.
        const bool stale = conn->broken();
        release(std::move(conn));
        if (stale && attempt == 0) {
          drop_idle();
          continue;
        }
        return s;
      }
      s = fn(*conn);
      if (s.ok()) {
        if (PQtransactionStatus(conn->handle()) == PQTRANS_INERROR) {
          s = internal_error("postgres: transaction failed without an error being returned");
        } else {
          s = conn->run_script("COMMIT");
          if (!s.ok() && conn->broken()) {
            s = unavailable_error("postgres: connection lost during COMMIT; the outcome is unknown");
          }
        }
      }
      if (!s.ok() && !conn->broken() && PQtransactionStatus(conn->handle()) != PQTRANS_IDLE) {
        Status r = conn->run_script("ROLLBACK");
        if (!r.ok()) log_warn("postgres rollback failed: {}", r.to_string());
      }
      release(std::move(conn));
      return s;
    }
  }

  Result<Rows> query(std::string_view sql, std::span<const Param> params) override {
    for (int attempt = 0;; ++attempt) {
      ASSIGN_OR_RETURN(auto conn, acquire());
      Result<Rows> rows = conn->run(sql, params);
      const bool stale = !rows.ok() && conn->broken();
      release(std::move(conn));
      if (stale && attempt == 0) {  // reads are safe to repeat
        drop_idle();
        continue;
      }
      return rows;
    }
  }

 private:
  Result<std::unique_ptr<PgConn>> acquire() {
    std::unique_lock lock(mu_);
    const bool ok =
        cv_.wait_for(lock, options_.acquire_timeout, [&] { return !idle_.empty() || open_ < options_.pool_size; });
    if (!ok) {
      return unavailable_error("postgres: no free connection within {} ms (pool of {})",
                               options_.acquire_timeout.count(), options_.pool_size);
    }
    if (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      return conn;
    }
    ++open_;
    lock.unlock();
    auto conn = connect();
    if (!conn.ok()) {
      std::lock_guard relock(mu_);
      --open_;
      cv_.notify_one();
    }
    return conn;
  }

  // After one pooled connection turned out dead (a server restart), the others parked beside it
  // are likely dead too: drop them all so that the retry connects afresh.
  void drop_idle() {
    std::vector<std::unique_ptr<PgConn>> dead;
    {
      std::lock_guard lock(mu_);
      dead.swap(idle_);
      open_ -= static_cast<int>(dead.size());
      cv_.notify_all();
    }
  }

  void release(std::unique_ptr<PgConn> conn) {
    std::lock_guard lock(mu_);
    if (conn->broken()) {
      --open_;  // dropped; the next acquire opens a fresh one
    } else {
      idle_.push_back(std::move(conn));
    }
    cv_.notify_one();
  }

  std::string url_;
  PostgresOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<PgConn>> idle_;
  int open_ = 0;
};

}  // namespace

PGconn* postgres_connect(const std::string& url, const PostgresOptions& options) {
  // With expand_dbname the URL is expanded where "dbname" stands: what precedes it are defaults
  // the URL may override; what follows is forced.
  const std::string connect_timeout = std::to_string(options.connect_timeout.count());
  const std::string keepalive_idle = std::to_string(options.keepalive_idle.count());
  const std::string user_timeout = std::to_string(options.tcp_user_timeout.count());
  const char* keys[] = {"connect_timeout",  "application_name", "keepalives", "keepalives_idle", "keepalives_interval",
                        "keepalives_count", "tcp_user_timeout", "dbname",     "client_encoding", nullptr};
  const char* vals[] = {connect_timeout.c_str(),
                        "parley",
                        "1",
                        keepalive_idle.c_str(),
                        "10",
                        "3",
                        user_timeout.c_str(),
                        url.c_str(),
                        "UTF8",
                        nullptr};
  return PQconnectdbParams(keys, vals, 1);
}

Result<std::unique_ptr<Db>> open_postgres(const std::string& url, const PostgresOptions& options) {
  if (PQisthreadsafe() == 0) return failed_precondition_error("libpq was built without thread safety");
  if (options.pool_size < 1) return invalid_argument_error("postgres: pool size must be at least 1");
  auto db = std::make_unique<PostgresDb>(url, options);
  if (options.connect_at_open) RETURN_IF_ERROR(db->prime());
  return std::unique_ptr<Db>(std::move(db));
}

}  // namespace parley::store::sql
