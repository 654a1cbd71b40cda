#include "store/open_store.h"

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

Result<std::unique_ptr<Store>> open_store(std::string_view url_or_path, const StoreOptions& options) {
  if (!options.clock) return invalid_argument_error("store: a clock is required");
  std::unique_ptr<sql::Db> db;
  if (url_or_path.starts_with("postgres://") || url_or_path.starts_with("postgresql://")) {
    sql::PostgresOptions pg;
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
  return std::unique_ptr<Store>(std::make_unique<SqlStore>(std::move(db), options.clock, version));
}

}  // namespace parley::store
