#include "store/backup.h"

#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <system_error>
#include <thread>

#include "store/migrations.h"

namespace parley::store {
namespace {

constexpr int kBusyTimeoutMs = 10000;

struct CloseDb {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, CloseDb>;

Status error_of(sqlite3* db, int rc, std::string_view what) {
  const std::string msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return unavailable_error("{}: the database is busy ({})", what, msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return data_loss_error("{}: {}", what, msg);
    default:
      return io_error("{}: {}", what, msg);
  }
}

Result<DbPtr> open_db(const std::string& path, int flags, std::string_view what) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK) return error_of(db.get(), rc, what);
  sqlite3_busy_timeout(db.get(), kBusyTimeoutMs);
  sqlite3_extended_result_codes(db.get(), 1);
  return db;
}

// The first column of the first row of `sql` as text ("" when there is no row).
Result<std::string> query_text(sqlite3* db, const char* sql, std::string_view what) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr);
  if (rc != SQLITE_OK) return error_of(db, rc, what);
  std::string out;
  rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  const bool failed = rc != SQLITE_ROW && rc != SQLITE_DONE;
  sqlite3_finalize(stmt);
  if (failed) return error_of(db, rc, what);
  return out;
}

// quick_check, then the Parley schema version (kFailedPrecondition when not a Parley store or a
// newer schema than this binary knows).
Result<int> check_store(sqlite3* db, std::string_view what) {
  ASSIGN_OR_RETURN(const std::string check, query_text(db, "PRAGMA quick_check", what));
  if (check != "ok") return data_loss_error("{}: the database fails its integrity check: {}", what, check);
  ASSIGN_OR_RETURN(
      const std::string has_table,
      query_text(db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'", what));
  if (has_table.empty()) return failed_precondition_error("{}: not a Parley store (no schema_migrations)", what);
  ASSIGN_OR_RETURN(const std::string version, query_text(db, "SELECT MAX(version) FROM schema_migrations", what));
  const int v = version.empty() ? 0 : std::stoi(version);
  if (v > known_schema_version()) {
    return failed_precondition_error("{}: its schema is at version {}, newer than this binary knows ({})", what, v,
                                     known_schema_version());
  }
  return v;
}

// Copies every page of src's "main" into dst's in one step (one read transaction on src: a
// consistent snapshot). BUSY/LOCKED (a writer holding a lock the copy needs) is retried for as
// long as the busy timeout.
Result<std::int64_t> copy_pages(sqlite3* dst, sqlite3* src, std::string_view what) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kBusyTimeoutMs);
  for (;;) {
    sqlite3_backup* b = sqlite3_backup_init(dst, "main", src, "main");
    if (b == nullptr) return error_of(dst, sqlite3_errcode(dst), what);
    const int step = sqlite3_backup_step(b, -1);
    const std::int64_t pages = sqlite3_backup_pagecount(b);
    const int finish = sqlite3_backup_finish(b);
    if (step == SQLITE_DONE && finish == SQLITE_OK) return pages;
    const int rc = step != SQLITE_DONE ? step : finish;
    const bool busy = (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
    if (!busy || std::chrono::steady_clock::now() > deadline) return error_of(dst, rc, what);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::int64_t file_size(const std::string& path) {
  std::error_code ec;
  const auto n = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<std::int64_t>(n);
}

Status write_backup(const std::string& db_path, const std::string& partial, BackupInfo* info) {
  ASSIGN_OR_RETURN(DbPtr src, open_db(db_path, SQLITE_OPEN_READWRITE, "backup: open the database"));
  ASSIGN_OR_RETURN(DbPtr dst, open_db(partial, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "backup: create the copy"));
  ASSIGN_OR_RETURN(info->pages, copy_pages(dst.get(), src.get(), "backup"));
  src.reset();
  // The copy says WAL like its source; one self-contained file is what a backup should be.
  ASSIGN_OR_RETURN(const std::string mode, query_text(dst.get(), "PRAGMA journal_mode = DELETE", "backup"));
  if (mode != "delete") return io_error("backup: cannot switch the copy to journal_mode=delete ({})", mode);
  ASSIGN_OR_RETURN(info->schema_version, check_store(dst.get(), "backup: the copy"));
  return ok_status();
}

}  // namespace

Result<std::string> sqlite_path_of(std::string_view url_or_path) {
  if (url_or_path.starts_with("postgres://") || url_or_path.starts_with("postgresql://")) {
    return invalid_argument_error(
        "the store is PostgreSQL: back it up with pg_dump or the operator's point-in-time recovery "
        "(docs/operations.md#backups)");
  }
  std::string_view path = url_or_path;
  if (path.starts_with("sqlite:")) path.remove_prefix(7);
  if (path.starts_with("//")) path.remove_prefix(2);  // "sqlite:///abs/path"
  if (path.find("://") != std::string_view::npos) {
    return invalid_argument_error("store: unsupported database URL '{}' (sqlite:PATH or postgres://...)", url_or_path);
  }
  if (path.empty()) return invalid_argument_error("store: no database path in '{}'", url_or_path);
  return std::string(path);
}

Result<BackupInfo> backup_sqlite(const std::string& db_path, const std::string& to) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(db_path, ec)) return not_found_error("backup: no database at {}", db_path);
  if (std::filesystem::exists(to, ec)) {
    return already_exists_error("backup: {} exists; a backup never overwrites a file", to);
  }
  const std::string partial = to + ".partial";
  std::filesystem::remove(partial, ec);  // a crashed earlier attempt's
  BackupInfo info;
  if (Status st = write_backup(db_path, partial, &info); !st.ok()) {
    std::filesystem::remove(partial, ec);
    return st;
  }
  std::filesystem::rename(partial, to, ec);
  if (ec) return io_error("backup: cannot rename {} to {}: {}", partial, to, ec.message());
  info.bytes = file_size(to);
  return info;
}

Result<BackupInfo> restore_sqlite(const std::string& from, const std::string& db_path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(from, ec)) return not_found_error("restore: no backup at {}", from);
  ASSIGN_OR_RETURN(DbPtr src, open_db(from, SQLITE_OPEN_READONLY, "restore: open the backup"));
  BackupInfo info;
  ASSIGN_OR_RETURN(info.schema_version, check_store(src.get(), "restore: the backup"));
  ASSIGN_OR_RETURN(DbPtr dst,
                   open_db(db_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "restore: open the database"));
  ASSIGN_OR_RETURN(info.pages, copy_pages(dst.get(), src.get(), "restore"));
  ASSIGN_OR_RETURN(const std::string mode, query_text(dst.get(), "PRAGMA journal_mode = WAL", "restore"));
  if (mode != "wal") return io_error("restore: cannot switch the database to WAL ({})", mode);
  RETURN_IF_ERROR(check_store(dst.get(), "restore: the restored database").status());
  info.bytes = file_size(db_path);
  return info;
}

}  // namespace parley::store
