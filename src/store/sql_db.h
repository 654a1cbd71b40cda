// The small SQL driver under SqlStore: connections, pooling, transactions, prepared statements and
// error mapping for one backend. Internal to src/store.
//
// SQL is written once with `?` placeholders (the PostgreSQL driver rewrites them to $1, $2, ... when
// it prepares a statement). Every value travels as a bound parameter; statement texts are
// compile-time constants (or joined from constant fragments), never built from input. Each distinct
// text is prepared once per connection and cached.
//
// Results are materialized as text cells (SQLite's and libpq's text forms agree for the integer
// and text columns the schema uses; doubles read back as the nearest value of their text, which
// both print with at least 15 significant digits).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/result.h"
#include "base/status.h"

namespace parley::store::sql {

// A bound parameter: NULL, a 64-bit integer, a double, or text (the viewed bytes must outlive the
// call).
using Param = std::variant<std::nullptr_t, std::int64_t, double, std::string_view>;

inline Param null_or(std::string_view s) {
  return s.empty() ? Param(nullptr) : Param(s);
}

class Rows {
 public:
  std::size_t size() const { return cells_.size(); }
  bool empty() const { return cells_.empty(); }
  bool is_null(std::size_t row, std::size_t col) const { return !cells_[row][col].has_value(); }
  // NULL reads as "" / 0.
  const std::string& text(std::size_t row, std::size_t col) const;
  std::int64_t int64(std::size_t row, std::size_t col) const;
  std::optional<std::int64_t> optional_int64(std::size_t row, std::size_t col) const;
  std::optional<double> optional_double(std::size_t row, std::size_t col) const;
  // Rows changed by an INSERT/UPDATE/DELETE without RETURNING.
  std::int64_t affected() const { return affected_; }

  void add_row(std::vector<std::optional<std::string>> row) { cells_.push_back(std::move(row)); }
  void set_affected(std::int64_t n) { affected_ = n; }

 private:
  std::vector<std::vector<std::optional<std::string>>> cells_;
  std::int64_t affected_ = 0;
};

// One connection inside a transaction (or in autocommit mode for Db::query). Not thread-safe:
// it belongs to the calling thread for the duration of the callback.
class Conn {
 public:
  virtual ~Conn() = default;
  virtual Result<Rows> run(std::string_view sql, std::span<const Param> params) = 0;
  Result<Rows> run(std::string_view sql, std::initializer_list<Param> params = {}) {
    return run(sql, std::span<const Param>(params.begin(), params.size()));
  }
  // Several statements without parameters (migrations).
  virtual Status run_script(std::string_view sql) = 0;
};

enum class Dialect { kSqlite, kPostgres };
enum class TxKind { kRead, kWrite };

class Db {
 public:
  virtual ~Db() = default;
  virtual Dialect dialect() const = 0;

  // Runs `fn` in one transaction on a connection of the pool: COMMIT when it returns OK (a COMMIT
  // that fails is the returned error), ROLLBACK otherwise. Read transactions see one snapshot.
  virtual Status transact(TxKind kind, const std::function<Status(Conn&)>& fn) = 0;

  // One read-only statement outside an explicit transaction (saves PostgreSQL two round trips).
  virtual Result<Rows> query(std::string_view sql, std::span<const Param> params) = 0;
  Result<Rows> query(std::string_view sql, std::initializer_list<Param> params = {}) {
    return query(sql, std::span<const Param>(params.begin(), params.size()));
  }

  // OK while the database answers (Store::ping); a driver may check more than a round trip.
  virtual Status ping() { return query("SELECT 1").status(); }
};

struct SqliteOptions {
  int readers = 4;
  std::chrono::milliseconds busy_timeout{5000};
  std::chrono::milliseconds acquire_timeout{10000};
};
Result<std::unique_ptr<Db>> open_sqlite(const std::string& path, const SqliteOptions& options);

// Bytes SQLite's allocator holds now in this process: every SQLite store's page caches (each
// connection's is bounded by SQLite's default cache_size, 2 MiB), schemas and prepared statements.
std::int64_t sqlite_memory_bytes();

struct PostgresOptions {
  int pool_size = 8;
  std::chrono::milliseconds acquire_timeout{10000};
  std::chrono::seconds connect_timeout{5};
  bool connect_at_open = true;  // false: the first use connects (read replicas that may be down)
  // A server that vanishes without closing the connection (a network black hole, a failed-over
  // host): data sent and not acknowledged for `tcp_user_timeout` breaks the connection (the
  // request waiting on it fails with 503 instead of waiting for the kernel's ~15 minutes), and an
  // idle pooled connection is probed after `keepalive_idle` (every 10 s, 3 times) and dropped
  // when dead. TCP only; the URL's own `tcp_user_timeout` / `keepalives*` win.
  std::chrono::milliseconds tcp_user_timeout{30000};
  std::chrono::seconds keepalive_idle{30};
};
Result<std::unique_ptr<Db>> open_postgres(const std::string& url, const PostgresOptions& options);

// A new libpq connection (PQconnectdbParams) to `url` with the options above; the URL's own
// parameters override the defaults, not the client encoding (UTF8). Null only when out of memory;
// the caller checks PQstatus and PQfinish-es it.
struct pg_conn* postgres_connect(const std::string& url, const PostgresOptions& options);

// `?` -> `$1`, `$2`, ... outside quoted literals and identifiers.
std::string to_dollar_placeholders(std::string_view sql);

}  // namespace parley::store::sql
