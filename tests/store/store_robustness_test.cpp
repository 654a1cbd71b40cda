// Migrations, concurrency, crash durability and failure modes, on every backend; plus the
// backend-independent helpers.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <thread>

#include "store/store_fixture.h"
#include "store/validation.h"

namespace parley::store::testing {
namespace {

using std::chrono::hours;

TEST_P(StoreTest, MigrationsAreIdempotentOnReopen) {
  EXPECT_EQ(store().schema_version(), latest_schema_version());
  EXPECT_EQ(store().backend(), postgres() ? "postgres" : "sqlite");
  User u = make_user("keep@example.com");
  store_.reset();
  for (int i = 0; i < 2; ++i) {
    ASSERT_OK_AND_ASSIGN(store_, open());
    EXPECT_EQ(store().schema_version(), latest_schema_version());
    ASSERT_OK_AND_ASSIGN(User got, store().get_user(u.id));
    EXPECT_EQ(got.email, "keep@example.com");
    store_.reset();
  }
  // Exactly one row per version: reopening applied nothing twice.
  EXPECT_EQ(query_raw_int("SELECT COUNT(*) FROM schema_migrations"), latest_schema_version());
  EXPECT_EQ(query_raw_int("SELECT COUNT(DISTINCT version) FROM schema_migrations"), latest_schema_version());
  EXPECT_EQ(query_raw_int("SELECT MAX(version) FROM schema_migrations"), latest_schema_version());
}

TEST_P(StoreTest, DurabilitySettings) {
  if (postgres()) {
    // The server defaults the durability argument relies on.
    EXPECT_EQ(query_raw_int("SELECT CASE WHEN current_setting('synchronous_commit') = 'on' THEN 1 ELSE 0 END"), 1);
    EXPECT_EQ(query_raw_int("SELECT CASE WHEN current_setting('fsync') = 'on' THEN 1 ELSE 0 END"), 1);
  } else {
    // WAL is persistent in the file; synchronous=FULL is per connection (set by the store on its
    // writer, see sqlite_db.cpp), so here only the mode can be checked from outside.
    EXPECT_EQ(query_raw_int("SELECT COUNT(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'"), 1);
  }
}

TEST_P(StoreTest, RefusesANewerSchema) {
  store_.reset();
  exec_raw("INSERT INTO schema_migrations (version, name, applied_at) VALUES (" +
           std::to_string(latest_schema_version() + 1) + ", 'from the future', 0)");
  auto r = open();
  EXPECT_CODE(r, kFailedPrecondition);
  EXPECT_NE(r.status().message().find("newer"), std::string_view::npos) << r.status().to_string();
}

TEST_P(StoreTest, ConcurrentWritersFromManyThreads) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20;
  User u = make_user("busy@example.com");
  Conversation shared = make_conversation(u, "shared");
  ASSERT_OK_AND_ASSIGN(Message root, store().append_message(u.id, {shared.id, "", MessageRole::kUser, "root"}));
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto own = store().create_user({"t" + std::to_string(t) + "@example.com", "", UserRole::kUser, ""});
      if (!own.ok()) ++failures;
      for (int i = 0; i < kPerThread; ++i) {
        NewMessage m{shared.id, root.id, MessageRole::kAssistant, "t" + std::to_string(t) + "/" + std::to_string(i)};
        if (!store().append_message(u.id, m).ok()) ++failures;
        if (!store().record_usage({u.id, "", "m", 1, 2, 3, {}}).ok()) ++failures;
        if (own.ok() && !store().create_conversation(own->id, "c").ok()) ++failures;
        if (!store().get_message_tree(u.id, shared.id).ok()) ++failures;  // readers alongside
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  ASSERT_OK_AND_ASSIGN(MessageTree tree, store().get_message_tree(u.id, shared.id));
  EXPECT_EQ(tree.conversation.message_count, 1 + kThreads * kPerThread);
  ASSERT_EQ(tree.messages.size(), static_cast<std::size_t>(1 + kThreads * kPerThread));
  std::set<std::int64_t> seqs;
  for (const Message& m : tree.messages) seqs.insert(m.seq);
  EXPECT_EQ(seqs.size(), tree.messages.size());
  EXPECT_EQ(*seqs.rbegin(), 1 + kThreads * kPerThread);
  ASSERT_OK_AND_ASSIGN(UsageTotals tot, store().usage_totals(u.id, Time{}));
  EXPECT_EQ(tot.requests, kThreads * kPerThread);
  EXPECT_EQ(tot.cost_micros, 3 * kThreads * kPerThread);
  ASSERT_OK_AND_ASSIGN(auto n, store().count_users());
  EXPECT_EQ(n, 1 + kThreads);
}

TEST_P(StoreTest, SmallPoolStillServesManyThreads) {
  store_.reset();
  StoreOptions o = default_options();
  o.sqlite_readers = 1;
  o.pg_pool_size = 1;
  ASSERT_OK_AND_ASSIGN(store_, open(o));
  User u = make_user("pool@example.com");
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        if (!store().create_conversation(u.id, "c").ok()) ++failures;
        if (!store().list_conversations(u.id, {}).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

// An acknowledged write survives the writer being SIGKILLed right after the acknowledgement.
// The child commits in a loop and reports each id on a pipe only after the commit returned; the
// parent kills it mid-stream, then every reported id must be in the database.
TEST_P(StoreTest, AcknowledgedWritesSurviveKill9) {
  User u = make_user("durable@example.com");
  store_.reset();  // no connection crosses the fork
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    auto s = open();
    if (!s.ok()) _exit(3);
    for (int i = 0; i < 1'000'000; ++i) {  // until killed (a dead parent closes the pipe: SIGPIPE)
      auto c = (*s)->create_conversation(u.id, "durable " + std::to_string(i));
      if (!c.ok()) _exit(4);
      const std::string line = c->id + "\n";
      if (write(fds[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(5);
    }
    _exit(6);
  }
  close(fds[1]);
  FILE* in = fdopen(fds[0], "r");
  ASSERT_NE(in, nullptr);
  std::vector<std::string> acked;
  char buf[128];
  while (acked.size() < 25 && std::fgets(buf, sizeof(buf), in) != nullptr) {
    acked.emplace_back(buf, std::strlen(buf) - 1);
  }
  kill(pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child exited early, status " << status;
  // Acknowledgements already in the pipe count too.
  while (std::fgets(buf, sizeof(buf), in) != nullptr) {
    if (std::strlen(buf) > 1 && buf[std::strlen(buf) - 1] == '\n') acked.emplace_back(buf, std::strlen(buf) - 1);
  }
  fclose(in);
  ASSERT_GE(acked.size(), 25u);
  ASSERT_OK_AND_ASSIGN(store_, open());
  for (const std::string& id : acked) EXPECT_OK(store().get_conversation(u.id, id));
}

// The server drops every connection of the pool (a restart, a failover): the next calls reconnect
// instead of failing, because a transaction whose BEGIN fails on a dead connection is retried once
// on a fresh one (and a dead connection takes its idle siblings with it).
TEST_P(StoreTest, ReconnectsAfterTheServerDropsConnections) {
  if (!postgres()) GTEST_SKIP() << "PostgreSQL only: a server dropping client connections";
  // Our own application_name, so that only this store's connections are terminated.
  const std::string app = "parley_drop_" + std::to_string(getpid());
  const std::string url = url_ + "&application_name=" + app;
  StoreOptions o = default_options();
  o.pg_pool_size = 3;
  ASSERT_OK_AND_ASSIGN(auto s, open_store(url, o));
  User u = make_user("reconnect@example.com");
  // Fill the pool with three idle connections.
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) threads.emplace_back([&] { (void)s->list_conversations(u.id, {}); });
  for (auto& th : threads) th.join();
  EXPECT_GE(query_raw_int("SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = '" + app + "'"), 1);
  EXPECT_GE(query_raw_int("SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE application_name = '" +
                          app + "') t"),
            1);
  // A write (retried after BEGIN fails) and a read (retried as a whole) both succeed.
  ASSERT_OK_AND_ASSIGN(Conversation c, s->create_conversation(u.id, "after the drop"));
  ASSERT_OK(s->get_conversation(u.id, c.id));
}

TEST_P(StoreTest, UnreachableDatabaseIsAnError) {
  StoreOptions o = default_options();
  if (postgres()) {
    o.connect_timeout = std::chrono::seconds(2);
    auto r = open_store("postgresql://parley@/postgres?host=/nonexistent-parley-socket-dir", o);
    EXPECT_CODE(r, kUnavailable);
  } else {
    auto r = open_store("sqlite:/nonexistent-parley-dir/sub/parley.db", o);
    EXPECT_FALSE(r.ok());
    EXPECT_CODE(open_store("mysql://localhost/db", o), kInvalidArgument);
    EXPECT_CODE(open_store("sqlite::memory:", o), kInvalidArgument);
  }
}

// ---- backend-independent helpers ------------------------------------------------------------

TEST(StoreHelpers, IdsAreRandomAndRecognised) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = new_id("cnv");
    EXPECT_EQ(id.size(), 30u);
    EXPECT_TRUE(plausible_id(id)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_FALSE(plausible_id(""));
  EXPECT_FALSE(plausible_id("cnv_"));
  EXPECT_FALSE(plausible_id("cnv_0000000000000000000000000"));    // 25
  EXPECT_FALSE(plausible_id("cnv_00000000000000000000000000l"));  // 'l' is not Crockford
  EXPECT_FALSE(plausible_id("CNV_00000000000000000000000000"));
  EXPECT_FALSE(plausible_id("cnv_0000000000000000000000000'"));
  EXPECT_TRUE(plausible_id("cnv_00000000000000000000000000"));
}

TEST(StoreHelpers, LikePatternEscapesWildcards) {
  EXPECT_EQ(like_contains_pattern("Ab"), "%ab%");
  EXPECT_EQ(like_contains_pattern("100%"), "%100\\%%");
  EXPECT_EQ(like_contains_pattern("a_b\\c"), "%a\\_b\\\\c%");
  EXPECT_EQ(like_contains_pattern(""), "%%");
}

TEST(StoreHelpers, DefaultUrlAndScopes) {
  EXPECT_EQ(default_store_url("data"), "sqlite:data/parley.db");
  EXPECT_EQ(default_store_url("/var/lib/parley/"), "sqlite:/var/lib/parley/parley.db");
  EXPECT_EQ(split_scopes(join_scopes({"a", "b:c"})), (std::vector<std::string>{"a", "b:c"}));
  EXPECT_TRUE(split_scopes("").empty());
}

TEST(StoreHelpers, MessagePathDetectsCorruptTrees) {
  MessageTree t;
  t.conversation.id = "cnv_x";
  Message a;
  a.id = "m1";
  Message b;
  b.id = "m2";
  b.parent_id = "m9";  // parent outside the tree
  t.messages = {a, b};
  EXPECT_CODE(message_path(t, "m2"), kDataLoss);
  ASSERT_OK_AND_ASSIGN(auto p, message_path(t, "m1"));
  EXPECT_EQ(p.size(), 1u);
  ASSERT_OK_AND_ASSIGN(auto none, message_path(t));
  EXPECT_TRUE(none.empty());
}

}  // namespace
}  // namespace parley::store::testing
