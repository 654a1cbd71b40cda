#include "store/read_replicas.h"

#include <algorithm>
#include <charconv>

#include "base/log.h"

namespace parley::store {

namespace {

constexpr std::size_t kMaxWriters = 100'000;

double seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

bool is_infrastructure_error(ErrorCode code) {
  return code != ErrorCode::kNotFound && code != ErrorCode::kInvalidArgument;
}

}  // namespace

std::optional<std::uint64_t> parse_lsn(std::string_view text) {
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == text.size()) return std::nullopt;
  std::uint32_t hi = 0, lo = 0;
  const char* end = text.data() + slash;
  auto r1 = std::from_chars(text.data(), end, hi, 16);
  if (r1.ec != std::errc() || r1.ptr != end) return std::nullopt;
  auto r2 = std::from_chars(end + 1, text.data() + text.size(), lo, 16);
  if (r2.ec != std::errc() || r2.ptr != text.data() + text.size()) return std::nullopt;
  return (static_cast<std::uint64_t>(hi) << 32) | lo;
}

struct ReadReplicas::Replica {
  std::unique_ptr<sql::Db> db;
  int number = 0;  // 1-based, for logs (URLs may hold passwords)

  std::mutex mu;  // guards everything below
  bool down = false;
  TimePoint retry_at{};
  bool checked = false;  // at least one successful check since it came up
  bool lagging = false;
  TimePoint last_check{};
  std::deque<std::pair<TimePoint, std::uint64_t>> pending;  // primary samples not replayed yet
  TimePoint reached_at{};                                   // time of the newest sample replayed
  double lag_seconds = 0;
  std::atomic<bool> checking{false};
};

ReadReplicas::ReadReplicas(sql::Db& primary, std::vector<std::unique_ptr<sql::Db>> replicas, ReplicaOptions options,
                           SteadyClock clock)
    : primary_(primary), options_(options), clock_(std::move(clock)) {
  if (!clock_) clock_ = [] { return std::chrono::steady_clock::now(); };
  int n = 0;
  for (auto& db : replicas) {
    auto r = std::make_unique<Replica>();
    r->db = std::move(db);
    r->number = ++n;
    replicas_.push_back(std::move(r));
  }
}

ReadReplicas::~ReadReplicas() = default;

void ReadReplicas::mark_down(Replica& r, const Status& why, TimePoint now) {
  // r.mu held by the caller.
  if (!r.down) {
    log_warn("store: read replica {} failed ({}): its reads go to the primary; retrying in {} ms", r.number,
             why.message(), options_.retry_after.count());
  }
  r.down = true;
  r.retry_at = now + options_.retry_after;
  r.checked = false;
  r.pending.clear();
  r.reached_at = TimePoint{};
}

// Samples the primary's WAL position, reads the replica's replay position, and updates what the
// replica has reached. Two short queries; runs at most once per check_interval per replica.
void ReadReplicas::check(Replica& r, TimePoint now) {
  Result<sql::Rows> p = primary_.query("SELECT pg_current_wal_lsn()::text");
  if (!p.ok() || p->empty()) return;  // the primary's own failure shows on the read itself
  const std::optional<std::uint64_t> primary_lsn = parse_lsn(p->text(0, 0));
  Result<sql::Rows> q = r.db->query("SELECT pg_last_wal_replay_lsn()::text");
  std::lock_guard lock(r.mu);
  r.last_check = now;
  if (!q.ok()) return mark_down(r, q.status(), now);
  const std::optional<std::uint64_t> replay = q->empty() ? std::nullopt : parse_lsn(q->text(0, 0));
  if (!replay || !primary_lsn) {
    return mark_down(r, failed_precondition_error("not a streaming standby (pg_last_wal_replay_lsn() is NULL)"), now);
  }
  if (r.down) log_info("store: read replica {} is back", r.number);
  r.down = false;
  r.checked = true;
  if (r.pending.size() >= 1024) r.pending.pop_back();  // stuck replica: bounded; the oldest sample sets the lag
  r.pending.emplace_back(now, *primary_lsn);
  while (!r.pending.empty() && r.pending.front().second <= *replay) {
    r.reached_at = r.pending.front().first;
    r.pending.pop_front();
  }
  r.lag_seconds = r.pending.empty() ? 0.0 : seconds(now - r.pending.front().first);
  const bool lagging = r.lag_seconds > seconds(options_.max_lag);
  if (lagging != r.lagging) {
    if (lagging) {
      log_warn("store: read replica {} lags {:.3f} s behind the primary (bound {} ms): its reads go to the primary",
               r.number, r.lag_seconds, options_.max_lag.count());
    } else {
      log_info("store: read replica {} caught up with the primary", r.number);
    }
  }
  r.lagging = lagging;
}

bool ReadReplicas::written_since(std::string_view user, TimePoint reached_at) {
  std::lock_guard lock(writers_mu_);
  if (reached_at <= floor_) return true;
  const auto it = last_write_.find(std::string(user));
  return it != last_write_.end() && it->second >= reached_at;
}

ReadReplicas::Replica* ReadReplicas::pick(std::string_view user, TimePoint now) {
  const std::size_t n = replicas_.size();
  const std::size_t start = next_.fetch_add(1, std::memory_order_relaxed);
  for (std::size_t i = 0; i < n; ++i) {
    Replica& r = *replicas_[(start + i) % n];
    bool due = false;
    {
      std::lock_guard lock(r.mu);
      if (r.down && now < r.retry_at) continue;
      due = !r.checked || now - r.last_check >= options_.check_interval;
    }
    if (due && !r.checking.exchange(true)) {
      check(r, now);
      r.checking.store(false);
    }
    TimePoint reached_at;
    {
      std::lock_guard lock(r.mu);
      if (r.down || !r.checked || r.lagging) continue;
      reached_at = r.reached_at;
    }
    if (!written_since(user, reached_at)) return &r;
  }
  return nullptr;
}

Status ReadReplicas::read(std::string_view user, const std::function<Status(sql::Db&)>& fn) {
  const TimePoint now = clock_();
  if (Replica* r = pick(user, now); r != nullptr) {
    const Status st = fn(*r->db);
    if (st.ok()) {
      reads_replica_.fetch_add(1, std::memory_order_relaxed);
      return st;
    }
    fallbacks_.fetch_add(1, std::memory_order_relaxed);
    if (is_infrastructure_error(st.code())) {
      std::lock_guard lock(r->mu);
      mark_down(*r, st, now);
    }
  }
  reads_primary_.fetch_add(1, std::memory_order_relaxed);
  return fn(primary_);
}

void ReadReplicas::note_write(std::string_view user) {
  if (replicas_.empty()) return;
  const TimePoint now = clock_();
  std::lock_guard lock(writers_mu_);
  if (last_write_.size() >= kMaxWriters) prune_writers_locked();
  if (last_write_.size() >= kMaxWriters) {
    last_write_.clear();
    floor_ = now;
  }
  last_write_[std::string(user)] = now;
}

// Drops the writes every replica has already reached (writers_mu_ held). A replica that is down
// needs none of them: it is used again only after a check, whose sample is later than all.
void ReadReplicas::prune_writers_locked() {
  TimePoint oldest_reach = TimePoint::max();
  for (const auto& r : replicas_) {
    std::lock_guard lock(r->mu);
    if (!r->down) oldest_reach = std::min(oldest_reach, r->reached_at);
  }
  std::erase_if(last_write_, [&](const auto& kv) { return kv.second < oldest_reach; });
}

ReplicaStats ReadReplicas::stats() const {
  ReplicaStats s;
  s.configured = static_cast<int>(replicas_.size());
  for (const auto& r : replicas_) {
    std::lock_guard lock(r->mu);
    if (!r->down && r->checked && !r->lagging) ++s.usable;
    if (!r->down) s.lag_seconds_max = std::max(s.lag_seconds_max, r->lag_seconds);
  }
  s.reads_replica = reads_replica_.load(std::memory_order_relaxed);
  s.reads_primary = reads_primary_.load(std::memory_order_relaxed);
  s.fallbacks = fallbacks_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace parley::store
