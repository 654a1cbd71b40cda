// Moderation's store-side upkeep (gateway/moderation.h): suspensions read back from the store at
// start-up and then periodically (lifts from the command line or another gateway), and the
// retention purge of the audit log.
#include <chrono>
#include <unordered_map>

#include "base/log.h"
#include "gateway/moderation.h"

namespace parley {
namespace {

policy::Suspension from_store(const store::StoredSuspension& s) {
  policy::Suspension r;
  r.subject = s.subject;
  r.until = s.until;
  r.score = s.score;
  r.since = s.created_at;
  r.reason = policy::ViolationKind::kBlocked;
  for (std::size_t k = 0; k < policy::kViolationKindCount; ++k) {
    const auto kind = static_cast<policy::ViolationKind>(k);
    if (policy::violation_kind_name(kind) == s.reason) r.reason = kind;
  }
  return r;
}

// Every active suspension in the store, by subject (the one that lasts longest).
Result<std::unordered_map<std::string, store::StoredSuspension>> active_in_store(store::Store& db, store::Time now) {
  std::unordered_map<std::string, store::StoredSuspension> out;
  store::SuspensionQuery q;
  q.active_at = now;
  q.page.limit = store::kMaxPageLimit;
  for (;;) {
    ASSIGN_OR_RETURN(store::Page<store::StoredSuspension> page, db.list_suspensions(q));
    for (store::StoredSuspension& s : page.items) {
      auto it = out.find(s.subject);
      if (it == out.end() || it->second.until < s.until) out[s.subject] = std::move(s);
    }
    if (!page.has_more || page.items.empty()) break;
    q.page.offset += static_cast<int>(page.items.size());
  }
  return out;
}

}  // namespace

Status Moderation::restore() {
  if (store_ == nullptr || !policy_) return ok_status();
  ASSIGN_OR_RETURN(const auto stored, active_in_store(*store_, clock_()));
  for (const auto& [subject, s] : stored) tracker_->restore(from_store(s));
  update_gauge();
  return ok_status();
}

Status Moderation::sync_suspensions(store::Time cutoff) {
  if (store_ == nullptr || !policy_) return ok_status();
  // In memory first: a suspension that begins while the store is read is not in this list, and
  // so is never taken for one lifted elsewhere.
  const std::vector<policy::Suspension> in_memory = tracker_->active_suspensions();
  ASSIGN_OR_RETURN(const auto stored, active_in_store(*store_, clock_()));
  for (const policy::Suspension& m : in_memory) {
    if (stored.contains(m.subject)) continue;
    // One that began after the cutoff may not be written yet (its write can queue behind this).
    if (m.since > cutoff) continue;
    if (tracker_->lift(m.subject)) {
      log_event(LogLevel::kInfo, "suspension_lifted", {{"subject", m.subject}, {"by", "store"}});
    }
  }
  for (const auto& [subject, s] : stored) {
    const std::optional<policy::Suspension> now = tracker_->suspended(subject);
    if (now && now->until >= s.until) continue;
    tracker_->restore(from_store(s));
    log_event(LogLevel::kInfo, "suspension_restored", {{"subject", subject}});
  }
  update_gauge();
  return ok_status();
}

Status Moderation::purge() {
  if (store_ == nullptr || !policy_) return ok_status();
  const store::Time before = clock_() - std::chrono::hours(24 * policy_->config().audit.retention_days);
  RETURN_IF_ERROR(store_->purge_moderation_events(before).status());
  return store_->purge_suspensions(before).status();
}

void Moderation::start_maintenance() {
  if (store_ == nullptr || !policy_ || maintenance_.joinable()) return;
  if (policy_->config().abuse.sync_s == 0 && policy_->config().audit.purge_interval_s == 0) return;
  maintenance_ = std::thread([this] { maintenance_loop(); });
}

void Moderation::maintenance_loop() {
  using Steady = std::chrono::steady_clock;
  const std::int64_t sync_s = policy_->config().abuse.sync_s;
  const std::int64_t purge_s = policy_->config().audit.purge_interval_s;
  const Steady::time_point never = Steady::time_point::max();
  Steady::time_point next_sync = sync_s > 0 ? Steady::now() + std::chrono::seconds(sync_s) : never;
  Steady::time_point next_purge = purge_s > 0 ? Steady::now() + std::chrono::seconds(purge_s) : never;
  std::unique_lock<std::mutex> lock(maintenance_mu_);
  while (!maintenance_stop_) {
    maintenance_cv_.wait_until(lock, std::min(next_sync, next_purge), [this] { return maintenance_stop_; });
    if (maintenance_stop_) break;
    const Steady::time_point now = Steady::now();
    if (now >= next_sync) {
      next_sync = now + std::chrono::seconds(sync_s);
      // Behind the writes queued so far (a new suspension's is among them, or it began after the
      // cutoff: a second of slack for a write queued just after its suspension began).
      const store::Time cutoff = clock_() - std::chrono::seconds(1);
      writes_->try_submit([this, cutoff] {
        if (Status st = sync_suspensions(cutoff); !st.ok()) {
          log_event(LogLevel::kWarn, "suspensions_not_synced", {{"error", st.message()}});
        }
      });
    }
    if (now >= next_purge) {
      next_purge = now + std::chrono::seconds(purge_s);
      writes_->try_submit([this] {
        if (Status st = purge(); !st.ok()) {
          log_event(LogLevel::kError, "moderation_purge_failed", {{"error", st.message()}});
        }
      });
    }
  }
}

}  // namespace parley
