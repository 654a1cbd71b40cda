// Read replicas against a real PostgreSQL primary and streaming standby (tests/store/pg_replica.sh,
// CTest fixture store_replica): a write is visible to its writer at once even while the standby
// is paused; other users' lists come from the standby (counted); a standby that lags beyond the
// bound, or is stopped, leaves reads to the primary, and serves again once back. Skipped only
// when the PostgreSQL server binaries are missing.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>

#include "store/open_store.h"
#include "store/read_replicas.h"
#include "store/store.h"

namespace parley::store::testing {
namespace {

using namespace std::chrono_literals;

std::string read_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

void quiet(void*, const char*) {}

// One statement on a fresh connection; "" or the error.
std::string pg_exec(const std::string& url, const std::string& sql) {
  PGconn* conn = PQconnectdb(url.c_str());
  PQsetNoticeProcessor(conn, quiet, nullptr);
  std::string err;
  if (PQstatus(conn) != CONNECTION_OK) {
    err = PQerrorMessage(conn);
  } else {
    PGresult* res = PQexec(conn, sql.c_str());
    const auto st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) err = PQresultErrorMessage(res);
    PQclear(res);
  }
  PQfinish(conn);
  return err;
}

std::string with_search_path(const std::string& base, const std::string& schema) {
  return base + (base.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" + schema;
}

bool contains(const Page<Conversation>& page, const std::string& id) {
  for (const auto& c : page.items) {
    if (c.id == id) return true;
  }
  return false;
}

class ReplicaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state_ = std::getenv("PARLEY_TEST_REPLICA_STATE") != nullptr ? std::getenv("PARLEY_TEST_REPLICA_STATE") : "";
    if (state_.empty()) GTEST_FAIL() << "run through ctest: the fixture store_replica starts the servers";
    const std::string skip = read_line(state_ + "/skip");
    if (!skip.empty()) GTEST_SKIP() << skip;
    primary_base_ = read_line(state_ + "/primary_url");
    replica_base_ = read_line(state_ + "/replica_url");
    ASSERT_FALSE(primary_base_.empty()) << "the fixture did not start the servers";
    std::random_device rd;
    schema_ = "r_" + std::to_string(getpid()) + "_" + std::to_string(rd() % 1000000);
    ASSERT_EQ(pg_exec(primary_base_, "CREATE SCHEMA " + schema_), "");
  }

  void TearDown() override {
    store_.reset();
    if (!replica_base_.empty()) pg_exec(replica_base_, "SELECT pg_wal_replay_resume()");
    if (!schema_.empty()) pg_exec(primary_base_, "DROP SCHEMA " + schema_ + " CASCADE");
  }

  Store& open(std::chrono::milliseconds max_lag, std::chrono::milliseconds retry = 5000ms) {
    StoreOptions o;
    o.replica_urls = {with_search_path(replica_base_, schema_)};
    o.replica_max_lag = max_lag;
    o.replica_check_interval = 0ms;  // check before every replica read: deterministic
    o.replica_retry = retry;
    Result<std::unique_ptr<Store>> s = open_store(with_search_path(primary_base_, schema_), o);
    EXPECT_TRUE(s.ok()) << s.status().to_string();
    store_ = std::move(*s);
    return *store_;
  }

  User user(const std::string& email) {
    NewUser u;
    u.email = email;
    u.display_name = email;
    Result<User> created = store_->create_user(u);
    EXPECT_TRUE(created.ok()) << created.status().to_string();
    return *created;
  }

  // Lists `owner`'s conversations until one list comes from the replica (the standby caught up).
  bool list_until_replica(const User& owner, Page<Conversation>* out) {
    for (int i = 0; i < 1000; ++i) {  // bounded; each try is a few queries
      const std::uint64_t before = store_->replica_stats().reads_replica;
      Result<Page<Conversation>> page = store_->list_conversations(owner.id, {});
      if (!page.ok()) return false;
      if (store_->replica_stats().reads_replica > before) {
        *out = *page;
        return true;
      }
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  std::string script() const { return "tests/store/pg_replica.sh"; }

  std::string state_, primary_base_, replica_base_, schema_;
  std::unique_ptr<Store> store_;
};

TEST(ReplicaLsn, Parses) {
  EXPECT_EQ(parse_lsn("0/3000000"), 0x3000000u);
  EXPECT_EQ(parse_lsn("16/B374D848"), (0x16ull << 32) | 0xB374D848u);
  EXPECT_FALSE(parse_lsn("").has_value());
  EXPECT_FALSE(parse_lsn("16B374D848").has_value());
  EXPECT_FALSE(parse_lsn("/1").has_value());
  EXPECT_FALSE(parse_lsn("1/").has_value());
  EXPECT_FALSE(parse_lsn("1/xyz").has_value());
}

TEST(ReplicaSqlite, IgnoresReplicas) {
  std::string dir = (std::filesystem::temp_directory_path() / "parley-replica-XXXXXX").string();
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  StoreOptions o;
  o.replica_urls = {"postgresql://nobody@/postgres?host=/nonexistent"};
  Result<std::unique_ptr<Store>> s = open_store("sqlite:" + dir + "/parley.db", o);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ((*s)->replica_stats().configured, 0);
  s->reset();
  std::filesystem::remove_all(dir);
}

TEST_F(ReplicaTest, ListsComeFromTheReplicaAndWritersSeeTheirWritesAtOnce) {
  Store& s = open(60'000ms);
  EXPECT_EQ(s.replica_stats().configured, 1);
  const User alice = user("alice@example.com");
  const User bob = user("bob@example.com");
  Result<Conversation> bobs = s.create_conversation(bob.id, "bob's");
  ASSERT_TRUE(bobs.ok());
  Page<Conversation> page;
  ASSERT_TRUE(list_until_replica(alice, &page)) << "alice has written nothing: her list comes from the replica";
  EXPECT_TRUE(page.items.empty());

  // Replay paused: the standby stays behind, so only the primary has what follows.
  ASSERT_EQ(pg_exec(replica_base_, "SELECT pg_wal_replay_pause()"), "");
  for (int i = 0; i < 5; ++i) {
    Result<Conversation> c = s.create_conversation(alice.id, "chat " + std::to_string(i));
    ASSERT_TRUE(c.ok());
    const ReplicaStats before = s.replica_stats();
    Result<Page<Conversation>> mine = s.list_conversations(alice.id, {});
    ASSERT_TRUE(mine.ok());
    EXPECT_TRUE(contains(*mine, c->id)) << "a write is visible to its writer at once";
    EXPECT_EQ(s.replica_stats().reads_primary, before.reads_primary + 1);
    NewMessage m;
    m.conversation_id = c->id;
    m.role = MessageRole::kUser;
    m.content = "hello " + std::to_string(i);
    ASSERT_TRUE(s.append_message(alice.id, m).ok());
    Result<MessageTree> tree = s.get_message_tree(alice.id, c->id);
    ASSERT_TRUE(tree.ok()) << tree.status().to_string();
    ASSERT_EQ(tree->messages.size(), 1u);
    EXPECT_EQ(tree->messages[0].content, m.content);
  }
  // Bob wrote nothing since the standby caught up: his reads use it (stale but within the bound).
  const std::uint64_t replica_reads = s.replica_stats().reads_replica;
  Result<Page<Conversation>> bob_page = s.list_conversations(bob.id, {});
  ASSERT_TRUE(bob_page.ok());
  EXPECT_TRUE(contains(*bob_page, bobs->id));
  EXPECT_EQ(s.replica_stats().reads_replica, replica_reads + 1);

  // Resumed: alice's reads move back to the replica once it has her writes.
  ASSERT_EQ(pg_exec(replica_base_, "SELECT pg_wal_replay_resume()"), "");
  ASSERT_TRUE(list_until_replica(alice, &page));
  EXPECT_EQ(page.items.size(), 5u);
}

TEST_F(ReplicaTest, ReplicaLaggingBeyondTheBoundIsSkipped) {
  Store& s = open(1ms);
  const User alice = user("alice@example.com");
  const User bob = user("bob@example.com");
  Page<Conversation> page;
  ASSERT_TRUE(list_until_replica(bob, &page));
  ASSERT_EQ(pg_exec(replica_base_, "SELECT pg_wal_replay_pause()"), "");
  ASSERT_TRUE(s.create_conversation(alice.id, "x").ok());
  ASSERT_TRUE(s.list_conversations(bob.id, {}).ok());  // samples the new position
  std::this_thread::sleep_for(20ms);                   // older than the 1 ms bound
  const ReplicaStats before = s.replica_stats();
  ASSERT_TRUE(s.list_conversations(bob.id, {}).ok());
  const ReplicaStats after = s.replica_stats();
  EXPECT_EQ(after.reads_primary, before.reads_primary + 1);
  EXPECT_EQ(after.reads_replica, before.reads_replica);
  EXPECT_EQ(after.usable, 0);
  EXPECT_GT(after.lag_seconds_max, 0.001);
  ASSERT_EQ(pg_exec(replica_base_, "SELECT pg_wal_replay_resume()"), "");
  ASSERT_TRUE(list_until_replica(bob, &page)) << "caught up: used again";
}

TEST_F(ReplicaTest, StoppedReplicaFallsBackToThePrimaryAndReturns) {
  Store& s = open(60'000ms, 50ms);
  const User bob = user("bob@example.com");
  Result<Conversation> c = s.create_conversation(bob.id, "kept");
  ASSERT_TRUE(c.ok());
  const User carol = user("carol@example.com");
  Page<Conversation> page;
  ASSERT_TRUE(list_until_replica(carol, &page));

  ASSERT_EQ(std::system((script() + " stop-replica " + state_).c_str()), 0);
  for (int i = 0; i < 3; ++i) {
    Result<Page<Conversation>> p = s.list_conversations(bob.id, {});
    ASSERT_TRUE(p.ok()) << "the primary answers: " << p.status().to_string();
    EXPECT_TRUE(contains(*p, c->id));
    Result<Conversation> one = s.get_conversation(bob.id, c->id);
    ASSERT_TRUE(one.ok()) << one.status().to_string();
  }
  EXPECT_EQ(s.replica_stats().usable, 0);

  ASSERT_EQ(std::system((script() + " start-replica " + state_).c_str()), 0);
  ASSERT_TRUE(list_until_replica(bob, &page)) << "the replica serves again once it answers";
  EXPECT_TRUE(contains(page, c->id));
}

TEST_F(ReplicaTest, ObjectMissingOnTheReplicaIsReadFromThePrimary) {
  // Another process (another gateway) wrote it: this store has no note of the write.
  Store& s = open(60'000ms);
  const User dave = user("dave@example.com");
  Page<Conversation> page;
  ASSERT_TRUE(list_until_replica(dave, &page));
  ASSERT_EQ(pg_exec(replica_base_, "SELECT pg_wal_replay_pause()"), "");
  StoreOptions o;
  Result<std::unique_ptr<Store>> other = open_store(with_search_path(primary_base_, schema_), o);
  ASSERT_TRUE(other.ok());
  Result<Conversation> c = (*other)->create_conversation(dave.id, "from elsewhere");
  ASSERT_TRUE(c.ok());
  const ReplicaStats before = s.replica_stats();
  Result<Conversation> got = s.get_conversation(dave.id, c->id);
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(s.replica_stats().fallbacks, before.fallbacks + 1);
  EXPECT_EQ(s.replica_stats().usable, 1) << "not found is no failure of the replica";
}

}  // namespace
}  // namespace parley::store::testing
