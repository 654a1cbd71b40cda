// Rolling upgrades (docs/operations.md#upgrades): during one, gateways of the previous release and
// of the new one run side by side on one database. The new binary migrates the schema when it
// opens the store; the old binary's statements must keep working on the migrated schema. The rule
// that makes it so: a migration only adds (tables, nullable or defaulted columns, indexes);
// removing or renaming waits for a later release, once no binary of the old one runs.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>

#include "store/migrations.h"
#include "store/sql_db.h"
#include "store/store_fixture.h"
#include "store/validation.h"

namespace parley::store::testing {
namespace {

// Statements as the previous release (schema version 4) writes them: explicit column lists of
// that version, no column it does not know.
constexpr const char* kOldInsertUser =
    "INSERT INTO users (id, email, email_key, email_skeleton, display_name, role, disabled, password_hash, "
    "created_at, updated_at) VALUES ('{user}', 'old@example.com', 'old@example.com', 'old@example.com', 'Old', "
    "'user', 0, '', 1750000000000000, 1750000000000000)";
constexpr const char* kOldInsertConversation =
    "INSERT INTO conversations (id, owner_id, title, created_at, updated_at, archived, message_count, "
    "settings_system_prompt, settings_temperature) VALUES ('{id}', '{user}', 'from the old release', "
    "1750000000000000, 1750000000000000, 0, 0, 'be brief', 0.5)";
constexpr const char* kOldCountConversations =
    "SELECT COUNT(*) FROM (SELECT id, owner_id, title, created_at, updated_at, archived, current_leaf_id, "
    "message_count, settings_system_prompt, settings_temperature, settings_max_tokens, settings_model "
    "FROM conversations WHERE deleted_at IS NULL) AS c";
constexpr const char* kOldCountUsers =
    "SELECT COUNT(*) FROM (SELECT id, email, email_key, email_skeleton, display_name, role, disabled, "
    "password_hash, created_at, updated_at FROM users) AS u";

// The ids are the store's kind: it refuses implausible ones before looking.
const std::string kOldUser = new_id("usr");

std::string fill(std::string sql, const std::string& id = "") {
  if (const auto at = sql.find("{id}"); at != std::string::npos) sql.replace(at, 4, id);
  if (const auto at = sql.find("{user}"); at != std::string::npos) sql.replace(at, 6, kOldUser);
  return sql;
}

TEST_P(StoreTest, RollingUpgradeFromThePreviousSchemaKeepsTheOldReleaseWorking) {
  const User a = make_user("a@example.com");
  const Conversation c = make_conversation(a, "before the upgrade");
  store_.reset();
  downgrade_to_schema_4();  // the database as the previous release left it
  ASSERT_EQ(latest_schema_version() - 1, 4) << "point this test at the new previous version";

  // The old release works on its schema.
  exec_raw(fill(kOldInsertUser));
  const std::string conv1 = new_id("cnv"), conv2 = new_id("cnv");
  exec_raw(fill(kOldInsertConversation, conv1));
  ASSERT_EQ(query_raw_int(kOldCountConversations), 2);

  // A new gateway starts: it migrates the schema while the old one still serves.
  ASSERT_OK_AND_ASSIGN(store_, open());
  EXPECT_EQ(store().schema_version(), latest_schema_version());

  // The old release's reads and writes still work on the migrated schema ...
  exec_raw(fill(kOldInsertConversation, conv2));
  EXPECT_EQ(query_raw_int(kOldCountUsers), 2);
  // ... and see what the new one writes; the new one reads what the old one wrote.
  const Conversation d = make_conversation(a, "after the upgrade");
  EXPECT_EQ(query_raw_int(kOldCountConversations), 4);
  ASSERT_OK_AND_ASSIGN(const User old, store().find_user_by_email("old@example.com"));
  EXPECT_EQ(old.id, kOldUser);
  ASSERT_OK_AND_ASSIGN(const Conversation oc, store().get_conversation(kOldUser, conv2));
  EXPECT_EQ(oc.title, "from the old release");
  EXPECT_EQ(oc.settings.system_prompt, "be brief");
  EXPECT_OK(store().get_conversation(a.id, c.id));
  EXPECT_OK(store().get_conversation(a.id, d.id));

  // A reply the old release saves (no status column in its statement) reads as final.
  const std::string old_msg = new_id("msg");
  exec_raw(
      "INSERT INTO messages (id, conversation_id, parent_id, seq, role, content, model, metadata, "
      "prompt_tokens, completion_tokens, created_at) VALUES ('" +
      old_msg + "', '" + conv2 + "', NULL, 1, 'assistant', 'old answer', '', '', 0, 0, 1750000000000000)");
  ASSERT_OK_AND_ASSIGN(const Message om, store().get_message(kOldUser, conv2, old_msg));
  EXPECT_EQ(om.status, MessageStatus::kComplete);
  EXPECT_EQ(om.updated_at, om.created_at);

  // A second new gateway opening the migrated database changes nothing.
  ASSERT_OK_AND_ASSIGN(auto second, open());
  EXPECT_EQ(second->schema_version(), latest_schema_version());
  EXPECT_EQ(query_raw_int(kOldCountConversations), 4);
}

// Every table and column of version v is still there at v + 1, for every v: migrations only add
// (the expand half of expand/contract; a contraction needs its own, later, release).
std::set<std::string> columns(sql::Db& db) {
  std::set<std::string> out;
  const Result<sql::Rows> rows = db.query(
      "SELECT m.name, p.name FROM sqlite_master AS m JOIN pragma_table_info(m.name) AS p WHERE m.type = 'table'");
  EXPECT_TRUE(rows.ok()) << rows.status().to_string();
  if (!rows.ok()) return out;
  for (std::size_t r = 0; r < rows->size(); ++r) out.insert(rows->text(r, 0) + "." + rows->text(r, 1));
  return out;
}

TEST(StoreMigrations, EveryMigrationOnlyAddsTablesAndColumns) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("parley-migrations-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  for (int v = 1; v < latest_schema_version(); ++v) {
    const std::string path = (dir / ("v" + std::to_string(v) + ".db")).string();
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<sql::Db> db, sql::open_sqlite(path, {}));
    ASSERT_OK_AND_ASSIGN(const int at, migrate(*db, v));
    ASSERT_EQ(at, v);
    const std::set<std::string> before = columns(*db);
    ASSERT_FALSE(before.empty());
    ASSERT_OK_AND_ASSIGN(const int next, migrate(*db, v + 1));
    ASSERT_EQ(next, v + 1);
    const std::set<std::string> after = columns(*db);
    for (const std::string& col : before) {
      EXPECT_TRUE(after.count(col) == 1) << "migration " << v + 1 << " removes or renames " << col;
    }
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace parley::store::testing
