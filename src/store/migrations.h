// Versioned schema migrations, numbered from 1, one SQL script per backend each, compiled in.
// Internal to src/store.
//
// migrate() creates schema_migrations(version, name, applied_at) if needed and applies every
// missing version in order, each in its own transaction together with its schema_migrations row
// (PostgreSQL: under an advisory lock, so two processes starting together apply each once).
// A database that records a version newer than this binary knows is refused with
// kFailedPrecondition and left untouched. Applied migrations are never edited: a change to the
// schema is a new number appended to the list.
#pragma once

#include "base/result.h"
#include "store/sql_db.h"

namespace parley::store {

// The version the database is at after migrating. `up_to` stops at that version (tests open a
// database as an older release left it: docs/operations.md#upgrades); 0 means every migration.
Result<int> migrate(sql::Db& db, int up_to = 0);

int known_schema_version();

}  // namespace parley::store
