#include "store/open_store.h"

#include "base/log.h"
#include "store/backup.h"
#include "store/migrations.h"
#include "store/sql_store.h"

namespace parley::store {

int latest_schema_version() {
  return known_schema_version();
}

std::string default_store_url(std::string_view data_dir) {
  std::string url = "sqlite:";
  url += data_dir;
  if (!url.ends_with('/')) url += '/';
  url += "parley.db";
  return url;
}

namespace {

bool is_postgres_url(std::string_view url) {
  return url.starts_with("postgres://") || url.starts_with("postgresql://");
}

// The replicas' drivers, not connected yet: a replica that is down at start is skipped until it
// answers, the primary serves meanwhile.
Result<std::unique_ptr<ReadReplicas>> open_replicas(sql::Db& primary, const StoreOptions& options,
                                                    const sql::PostgresOptions& pg) {
  std::vector<std::unique_ptr<sql::Db>> dbs;
  for (const std::string& url : options.replica_urls) {
    if (!is_postgres_url(url)) {
      return invalid_argument_error("store: replica {} is not a postgres:// URL", dbs.size() + 1);
    }
    sql::PostgresOptions lazy = pg;
    lazy.connect_at_open = false;
    ASSIGN_OR_RETURN(auto db, sql::open_postgres(url, lazy));
    dbs.push_back(std::move(db));
  }
  ReplicaOptions ro;
  ro.max_lag = options.replica_max_lag;
  ro.check_interval = options.replica_check_interval;
  ro.retry_after = options.replica_retry;
  return std::make_unique<ReadReplicas>(primary, std::move(dbs), ro);
}

}  // namespace

Result<std::unique_ptr<Store>> open_store(std::string_view url_or_path, const StoreOptions& options) {
  if (!options.clock) return invalid_argument_error("store: a clock is required");
  std::unique_ptr<sql::Db> db;
  sql::PostgresOptions pg;
  const bool postgres = is_postgres_url(url_or_path);
  if (postgres) {
    pg.pool_size = options.pg_pool_size;
    pg.acquire_timeout = options.acquire_timeout;
    pg.connect_timeout = options.connect_timeout;
    ASSIGN_OR_RETURN(db, sql::open_postgres(std::string(url_or_path), pg));
  } else {
    ASSIGN_OR_RETURN(const std::string path, sqlite_path_of(url_or_path));  // "sqlite:///abs/path" too
    sql::SqliteOptions lite;
    lite.readers = options.sqlite_readers;
    lite.busy_timeout = options.busy_timeout;
    lite.acquire_timeout = options.acquire_timeout;
    ASSIGN_OR_RETURN(db, sql::open_sqlite(path, lite));
  }
  ASSIGN_OR_RETURN(int version, migrate(*db));
  std::unique_ptr<ReadReplicas> replicas;
  if (!options.replica_urls.empty()) {
    if (postgres) {
      ASSIGN_OR_RETURN(replicas, open_replicas(*db, options, pg));
    } else {
      log_warn("store: read replicas are ignored with SQLite (they are for PostgreSQL)");
    }
  }
  auto store = std::make_unique<SqlStore>(std::move(db), options.clock, version);
  if (replicas) store->set_replicas(std::move(replicas));
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace parley::store
