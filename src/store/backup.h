// Backups of the SQLite store (`parley admin backup` / `restore`): SQLite's online backup API,
// consistent while a server writes to the database. PostgreSQL is backed up with its own tools
// (pg_dump, or point-in-time recovery by its operator: docs/operations.md#backups); these
// functions refuse a postgres:// URL with kInvalidArgument saying so.
//
// backup_sqlite copies the whole database in one read transaction, so the copy is the database as
// it was at one instant: every transaction committed before it began is in the copy, none of the
// ones after (under WAL, writers go on meanwhile; they are not blocked). The copy is written to
// `<to>.partial`, checked (PRAGMA quick_check), switched to rollback-journal mode (one
// self-contained file) and renamed to `to` only then: a file at `to` is always a complete backup.
// An existing `to` is refused (kAlreadyExists): a backup never overwrites.
//
// restore_sqlite checks the backup (a SQLite database, quick_check ok, a Parley schema no newer
// than this binary knows) and replaces the database's content with it, through SQLite (its WAL
// and locks included), creating the database if there is none. The server must be stopped: a
// running one would keep cached state of the database it had. Blocking; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace parley::store {

struct BackupInfo {
  int schema_version = 0;  // the copy's schema_migrations version
  std::int64_t pages = 0;  // database pages copied
  std::int64_t bytes = 0;  // the backup file's size
};

// The file of a store URL ("sqlite:PATH", "sqlite:///PATH" or a plain path), as open_store reads it.
Result<std::string> sqlite_path_of(std::string_view url_or_path);

Result<BackupInfo> backup_sqlite(const std::string& db_path, const std::string& to);
Result<BackupInfo> restore_sqlite(const std::string& from, const std::string& db_path);

}  // namespace parley::store
