// `parley admin backup` / `restore` (store/backup.h) on SQLite: a backup taken while another
// thread keeps writing holds every row acknowledged before it began, restores into a store that
// opens and reads them, and the guards (no overwrite, no foreign or newer database, PostgreSQL
// refused with the pg_dump hint) hold.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/backup.h"
#include "store/open_store.h"
#include "store/store_fixture.h"

namespace parley::store {
namespace {

namespace fs = std::filesystem;

class BackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("parley-backup-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const char* name) const { return (dir_ / name).string(); }

  static NewUser new_user(int i) {
    NewUser u;
    u.email = "user" + std::to_string(i) + "@example.com";
    u.display_name = "User " + std::to_string(i);
    u.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA";
    return u;
  }

  fs::path dir_;
};

struct Acked {
  std::string user_id;
  std::string conversation_id;
};

TEST_F(BackupTest, BackupUnderConcurrentWritesHoldsEveryAcknowledgedRow) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> live, open_store(path("parley.db")));
  std::mutex mu;
  std::vector<Acked> acked;  // rows whose writes returned OK, in order
  std::atomic<bool> stop{false};
  std::atomic<bool> writer_done{false};
  std::thread writer([&] {
    for (int i = 0; !stop.load(); ++i) {
      Result<User> u = live->create_user(new_user(i));
      Result<Conversation> c =
          u.ok() ? live->create_conversation(u->id, "chat " + std::to_string(i)) : Result<Conversation>(u.status());
      if (!c.ok()) {
        ADD_FAILURE() << "write " << i << ": " << c.status().to_string();
        break;
      }
      std::lock_guard lock(mu);
      acked.push_back({u->id, c->id});
    }
    writer_done = true;
  });
  const auto acked_count = [&] {
    std::lock_guard lock(mu);
    return acked.size();
  };
  // Waits until `n` rows are acknowledged (false if the writer stopped first).
  const auto wait_for = [&](std::size_t n) {
    while (acked_count() < n) {
      if (writer_done) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
  };
  // Let some rows in, then back up while the writer goes on.
  ASSERT_TRUE(wait_for(50));
  const std::size_t before = acked_count();
  Result<BackupInfo> info = backup_sqlite(path("parley.db"), path("backup.db"));
  const std::size_t after = acked_count();
  // The writer is still going after the copy: it was taken mid-load.
  const bool kept_writing = wait_for(after + 20);
  stop = true;
  writer.join();
  ASSERT_TRUE(kept_writing);
  ASSERT_TRUE(info.ok()) << info.status().to_string();
  EXPECT_EQ(info->schema_version, latest_schema_version());
  EXPECT_GT(info->bytes, 0);
  EXPECT_FALSE(fs::exists(path("backup.db.partial")));

  // Restore into the original place (the "server" stopped first), then open it as the server would.
  live.reset();
  ASSERT_OK_AND_ASSIGN(const BackupInfo restored, restore_sqlite(path("backup.db"), path("parley.db")));
  EXPECT_EQ(restored.schema_version, latest_schema_version());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> back, open_store(path("parley.db")));
  for (std::size_t i = 0; i < before; ++i) {
    ASSERT_TRUE(back->get_user(acked[i].user_id).ok()) << "acknowledged user " << i << " of " << before;
    ASSERT_TRUE(back->get_conversation(acked[i].user_id, acked[i].conversation_id).ok())
        << "acknowledged conversation " << i;
  }
  // One instant's copy: a prefix of the writes, nothing after the backup returned.
  ASSERT_OK_AND_ASSIGN(const std::int64_t users, back->count_users());
  EXPECT_GE(users, static_cast<std::int64_t>(before));
  EXPECT_LE(users, static_cast<std::int64_t>(after) + 1);
  for (std::size_t i = 0; i < static_cast<std::size_t>(users) && i < acked.size(); ++i) {
    EXPECT_TRUE(back->get_user(acked[i].user_id).ok()) << "the copy is not a prefix: user " << i << " missing";
  }
  // The restored store takes writes again.
  EXPECT_OK(back->create_user(new_user(1'000'000)));
}

TEST_F(BackupTest, BackupRefusesToOverwriteAndRestoreRefusesForeignFiles) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> s, open_store(path("parley.db")));
  ASSERT_OK(s->create_user(new_user(1)));
  ASSERT_OK(backup_sqlite(path("parley.db"), path("b.db")));
  EXPECT_CODE(backup_sqlite(path("parley.db"), path("b.db")), kAlreadyExists);
  EXPECT_CODE(backup_sqlite(path("missing.db"), path("c.db")), kNotFound);
  EXPECT_CODE(restore_sqlite(path("missing.db"), path("parley.db")), kNotFound);

  // A SQLite database that is not a Parley store, and one from a newer release.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path("other.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE t (x INTEGER)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  EXPECT_CODE(restore_sqlite(path("other.db"), path("parley.db")), kFailedPrecondition);
  ASSERT_EQ(sqlite3_open(path("b.db").c_str(), &db), SQLITE_OK);
  const std::string newer = "INSERT INTO schema_migrations (version, name, applied_at) VALUES (" +
                            std::to_string(latest_schema_version() + 1) + ", 'future', 0)";
  ASSERT_EQ(sqlite3_exec(db, newer.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  EXPECT_CODE(restore_sqlite(path("b.db"), path("parley.db")), kFailedPrecondition);
  // Not a database at all.
  std::ofstream(path("junk.db")) << "not a SQLite database, only some text\n";
  EXPECT_FALSE(restore_sqlite(path("junk.db"), path("parley.db")).ok());
  // The store is untouched by the refused restores.
  EXPECT_TRUE(s->find_user_by_email("user1@example.com").ok());
}

TEST(BackupPath, StoreUrlsMapToTheirFileAndPostgresIsRefused) {
  EXPECT_EQ(*sqlite_path_of("sqlite:/var/lib/parley/parley.db"), "/var/lib/parley/parley.db");
  EXPECT_EQ(*sqlite_path_of("sqlite:///var/lib/parley/parley.db"), "/var/lib/parley/parley.db");
  EXPECT_EQ(*sqlite_path_of("data/parley.db"), "data/parley.db");
  const Result<std::string> pg = sqlite_path_of("postgres://u@db/parley");
  ASSERT_FALSE(pg.ok());
  EXPECT_EQ(pg.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(pg.status().message().find("pg_dump"), std::string::npos);
  EXPECT_FALSE(sqlite_path_of("mysql://x/y").ok());
}

}  // namespace
}  // namespace parley::store
