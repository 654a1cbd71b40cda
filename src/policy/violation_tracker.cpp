#include "policy/violation_tracker.h"

#include <algorithm>
#include <cmath>
#include <functional>

namespace parley::policy {
namespace {

constexpr std::size_t kShards = 16;
constexpr int kEvictionTries = 8;  // suspended subjects skipped before the oldest goes anyway

struct Entry {
  std::array<double, kViolationKindCount> scores{};  // decayed to `at`
  store::Time at{};
  std::optional<store::Time> suspended_until;
  store::Time suspended_since{};
  ViolationKind reason = ViolationKind::kBlocked;
  double suspended_score = 0;
  std::list<std::string>::iterator lru;
};

}  // namespace

struct ViolationTracker::Shard {
  mutable std::mutex mu;
  std::unordered_map<std::string, Entry> entries;
  std::list<std::string> lru;  // most recently seen first
  std::size_t capacity = 0;
};

std::string subject_of_user(std::string_view user_id) {
  return "user:" + std::string(user_id);
}

std::string subject_of_address(std::string_view address) {
  return "addr:" + std::string(address);
}

ViolationTracker::ViolationTracker(AbuseConfig config, store::Clock clock) : config_(config), clock_(std::move(clock)) {
  for (std::size_t i = 0; i < kShards; ++i) {
    shards_.push_back(std::make_unique<Shard>());
    shards_.back()->capacity = std::max<std::size_t>(1, config_.max_subjects / kShards);
  }
}

ViolationTracker::~ViolationTracker() = default;

ViolationTracker::Shard& ViolationTracker::shard_of(std::string_view subject) const {
  return *shards_[std::hash<std::string_view>()(subject) % kShards];
}

namespace {

void decay_to(Entry& e, store::Time now, double half_life_s) {
  if (now <= e.at) return;
  const double dt = std::chrono::duration<double>(now - e.at).count();
  const double factor = std::exp2(-dt / half_life_s);
  for (double& s : e.scores) s *= factor;
  e.at = now;
}

double total(const Entry& e) {
  double t = 0;
  for (const double s : e.scores) t += s;
  return t;
}

bool active(const Entry& e, store::Time now) {
  return e.suspended_until && *e.suspended_until > now;
}

Suspension suspension_of(const std::string& subject, const Entry& e) {
  return Suspension{subject, *e.suspended_until, e.reason, e.suspended_score, e.suspended_since};
}

// The entry of a subject, made (and the shard kept within its capacity) when missing.
Entry& touch(std::unordered_map<std::string, Entry>& entries, std::list<std::string>& lru, std::size_t capacity,
             std::string_view subject, store::Time now) {
  auto it = entries.find(std::string(subject));
  if (it != entries.end()) {
    lru.splice(lru.begin(), lru, it->second.lru);
    return it->second;
  }
  while (entries.size() >= capacity && !lru.empty()) {
    auto victim = std::prev(lru.end());
    for (int i = 0; i < kEvictionTries && active(entries.at(*victim), now) && victim != lru.begin(); ++i) --victim;
    entries.erase(*victim);
    lru.erase(victim);
  }
  lru.emplace_front(subject);
  Entry& e = entries[lru.front()];
  e.at = now;
  e.lru = lru.begin();
  return e;
}

}  // namespace

ViolationOutcome ViolationTracker::record(std::string_view subject, ViolationKind kind, double count) {
  ViolationOutcome out;
  if (!config_.enabled) return out;
  const store::Time now = clock_();
  Shard& sh = shard_of(subject);
  std::lock_guard lock(sh.mu);
  Entry& e = touch(sh.entries, sh.lru, sh.capacity, subject, now);
  decay_to(e, now, config_.half_life_s);
  e.scores[static_cast<std::size_t>(kind)] += config_.weights[static_cast<std::size_t>(kind)] * count;
  out.score = total(e);
  if (!active(e, now) && out.score >= config_.suspend_threshold) {
    const auto top = std::max_element(e.scores.begin(), e.scores.end());
    e.reason = static_cast<ViolationKind>(top - e.scores.begin());
    e.suspended_until = now + std::chrono::seconds(config_.suspend_s);
    e.suspended_since = now;
    e.suspended_score = out.score;
    e.scores.fill(0);
    out.score = 0;
    out.newly_suspended = true;
  }
  if (active(e, now)) out.suspension = suspension_of(std::string(subject), e);
  return out;
}

std::optional<Suspension> ViolationTracker::suspended(std::string_view subject) const {
  const store::Time now = clock_();
  Shard& sh = shard_of(subject);
  std::lock_guard lock(sh.mu);
  auto it = sh.entries.find(std::string(subject));
  if (it == sh.entries.end() || !active(it->second, now)) return std::nullopt;
  return suspension_of(it->first, it->second);
}

double ViolationTracker::score(std::string_view subject) const {
  const store::Time now = clock_();
  Shard& sh = shard_of(subject);
  std::lock_guard lock(sh.mu);
  auto it = sh.entries.find(std::string(subject));
  if (it == sh.entries.end()) return 0;
  Entry copy = it->second;
  decay_to(copy, now, config_.half_life_s);
  return total(copy);
}

bool ViolationTracker::lift(std::string_view subject) {
  const store::Time now = clock_();
  Shard& sh = shard_of(subject);
  std::lock_guard lock(sh.mu);
  auto it = sh.entries.find(std::string(subject));
  if (it == sh.entries.end()) return false;
  const bool was = active(it->second, now);
  it->second.suspended_until.reset();
  it->second.scores.fill(0);
  return was;
}

void ViolationTracker::restore(const Suspension& s) {
  const store::Time now = clock_();
  if (s.until <= now) return;
  Shard& sh = shard_of(s.subject);
  std::lock_guard lock(sh.mu);
  Entry& e = touch(sh.entries, sh.lru, sh.capacity, s.subject, now);
  if (!e.suspended_until || *e.suspended_until < s.until) {
    e.suspended_until = s.until;
    e.suspended_since = s.since;
    e.reason = s.reason;
    e.suspended_score = s.score;
  }
}

std::vector<Suspension> ViolationTracker::active_suspensions() const {
  const store::Time now = clock_();
  std::vector<Suspension> out;
  for (const auto& sh : shards_) {
    std::lock_guard lock(sh->mu);
    for (const auto& [subject, e] : sh->entries) {
      if (active(e, now)) out.push_back(suspension_of(subject, e));
    }
  }
  std::sort(out.begin(), out.end(), [](const Suspension& a, const Suspension& b) { return a.subject < b.subject; });
  return out;
}

std::size_t ViolationTracker::tracked_subjects() const {
  std::size_t n = 0;
  for (const auto& sh : shards_) {
    std::lock_guard lock(sh->mu);
    n += sh->entries.size();
  }
  return n;
}

}  // namespace parley::policy
