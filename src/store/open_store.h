// open_store: the one way to get a Store. It connects, applies the pending schema migrations
// (each in its own transaction, recorded in schema_migrations) and refuses a database whose
// schema is newer than this binary knows (kFailedPrecondition).
//
//   "sqlite:/var/lib/parley/parley.db", or a plain path   SQLite (the file is created; its
//                                                          directory must exist)
//   "postgres://user@host:5432/db?sslmode=require"         PostgreSQL (any libpq URI; also
//   "postgresql://..."                                     "postgresql://u@/db?host=/socket/dir")
//
// Connections (both documented in docs/store.md):
//   SQLite      one writer connection (writes are serialized by a mutex: SQLite allows one writer
//               anyway, and waiting on our mutex is fairer than spinning on SQLITE_BUSY) plus up to
//               `sqlite_readers` read-only connections that read concurrently under WAL;
//               busy_timeout covers other processes using the same file.
//   PostgreSQL  a pool of at most `pg_pool_size` connections, opened on demand; a caller waits up
//               to `acquire_timeout` for a free one (then kUnavailable). A connection that breaks
//               is dropped and replaced; a transaction whose BEGIN fails on a stale connection is
//               retried once on a fresh one.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "store/store.h"

namespace parley::store {

struct StoreOptions {
  Clock clock = system_now;  // timestamps the store sets itself (tests inject a fake clock)
  int sqlite_readers = 4;
  int pg_pool_size = 8;
  std::chrono::milliseconds busy_timeout{5000};      // SQLite: wait for another process's lock
  std::chrono::milliseconds acquire_timeout{10000};  // waiting for a pooled connection
  std::chrono::seconds connect_timeout{5};           // PostgreSQL: unless the URL sets one
  // PostgreSQL streaming replicas for conversation reads (store/read_replicas.h); SQLite ignores
  // them (with a warning). Each gets a pool of pg_pool_size connections, opened on first use.
  std::vector<std::string> replica_urls;
  std::chrono::milliseconds replica_max_lag{1000};
  std::chrono::milliseconds replica_check_interval{200};
  std::chrono::milliseconds replica_retry{5000};
};

Result<std::unique_ptr<Store>> open_store(std::string_view url_or_path, const StoreOptions& options = {});

// "sqlite:<data_dir>/parley.db": where `parley serve --data DIR` keeps its database by default.
std::string default_store_url(std::string_view data_dir);

// The newest schema version this binary knows.
int latest_schema_version();

}  // namespace parley::store
