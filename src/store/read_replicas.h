// ReadReplicas: PostgreSQL streaming replicas for the store's owner-scoped reads (conversation
// lists, a conversation, its messages), with read-your-writes for this process and fallback to the
// primary. Internal to src/store (SqlStore uses it; docs/store.md and docs/scaling.md describe it).
//
// Freshness is measured in WAL positions, not guessed from clocks. Every `check_interval` (lazily,
// by a reader that finds the last check old) the primary's current WAL position is sampled with
// its time, and each replica's replay position is read. A replica has "reached" a sample when it
// replayed up to that position, so it holds every transaction that had committed when the sample
// was taken. Hence:
//   - lag = age of the oldest sample the replica has not reached (0 when it caught up); a replica
//     whose lag exceeds `max_lag` is skipped until it catches up;
//   - read-your-writes: after a write by user U at time w (note_write, called once the write
//     committed), U's reads go to the primary until the replica has reached a sample taken after
//     w. Other users' reads are not affected.
// Writes through another process (another gateway) are not known here: for those, a replica read
// can be as old as `max_lag`. Single-object reads that find nothing on a replica are retried on
// the primary, so an object created through another gateway is never reported missing.
//
// A replica that fails (connection, or not a standby) is skipped for `retry_after`, and the read
// runs on the primary (counted as a fallback). One log line per transition (down, up, lagging,
// caught up).
//
// Thread-safe: any thread may call anything.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "store/sql_db.h"
#include "store/store.h"

namespace parley::store {

struct ReplicaOptions {
  std::chrono::milliseconds max_lag{1000};
  std::chrono::milliseconds check_interval{200};  // 0: check before every replica read (tests)
  std::chrono::milliseconds retry_after{5000};    // a failed replica is skipped this long
};

// "16/B374D848" -> its 64-bit position; nullopt for anything else.
std::optional<std::uint64_t> parse_lsn(std::string_view text);

class ReadReplicas {
 public:
  using SteadyClock = std::function<std::chrono::steady_clock::time_point()>;

  ReadReplicas(sql::Db& primary, std::vector<std::unique_ptr<sql::Db>> replicas, ReplicaOptions options,
               SteadyClock clock = {});
  ~ReadReplicas();

  // Runs `fn` on a replica fit to serve `user` (fresh, up, past the user's last write), else on
  // the primary. A replica read that fails is run again on the primary: any failure of the
  // replica marks it down, except kNotFound (the replica may just not have the object yet).
  Status read(std::string_view user, const std::function<Status(sql::Db&)>& fn);

  // `user` has just committed a write (on the primary).
  void note_write(std::string_view user);

  ReplicaStats stats() const;

 private:
  struct Replica;
  using TimePoint = std::chrono::steady_clock::time_point;

  Replica* pick(std::string_view user, TimePoint now);
  void check(Replica& r, TimePoint now);
  void mark_down(Replica& r, const Status& why, TimePoint now);
  bool written_since(std::string_view user, TimePoint reached_at);
  void prune_writers_locked();

  sql::Db& primary_;
  std::vector<std::unique_ptr<Replica>> replicas_;
  ReplicaOptions options_;
  SteadyClock clock_;
  std::atomic<std::size_t> next_{0};

  std::mutex writers_mu_;
  std::unordered_map<std::string, TimePoint> last_write_;  // users with writes a replica may lack
  // Bounds memory: when last_write_ grows too large it is cleared and floor_ set to now, which
  // counts as everyone's last write.
  TimePoint floor_{};

  std::atomic<std::uint64_t> reads_replica_{0};
  std::atomic<std::uint64_t> reads_primary_{0};
  std::atomic<std::uint64_t> fallbacks_{0};
};

}  // namespace parley::store
