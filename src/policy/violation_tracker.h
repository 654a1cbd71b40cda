// ViolationTracker: violation scores per subject (a user, a client address) with exponential
// decay, and the suspensions they lead to. Pure bookkeeping in memory with an injected clock;
// the gateway records events (blocked or flagged requests, 429s, failed log-ins, malformed
// requests), asks suspended() before serving a request, and persists suspensions and the audit
// log through the store (store/store.h: ModerationEvent, StoredSuspension).
//
//   score(t) = sum of weight(kind) * 2^(-(t - t_event) / half_life)
//
// When a recorded event brings a subject's score to the threshold, the subject is suspended for
// suspend_s and its score starts again from zero (the suspension is the penalty; the next one
// needs a new run of violations). The reason of a suspension is the kind of violation that
// contributed most to the score, so that the gateway can answer 429 for rate abuse and 403
// otherwise. An admin can lift() a suspension.
//
// Subjects are opaque strings; subject_of_user() and subject_of_address() keep the two kinds
// apart. Memory is bounded: at most max_subjects are tracked; beyond, the least recently seen
// subject without an active suspension is forgotten (its score was decaying anyway).
//
// Thread safety: every method may be called from any thread; subjects are spread over shards,
// each with its own mutex.
#pragma once

#include <array>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "policy/policy_config.h"
#include "store/store.h"

namespace parley::policy {

std::string subject_of_user(std::string_view user_id);     // "user:<id>"
std::string subject_of_address(std::string_view address);  // "addr:<address>"

struct Suspension {
  std::string subject;
  store::Time until{};
  ViolationKind reason = ViolationKind::kBlocked;
  double score = 0;     // the score that reached the threshold
  store::Time since{};  // when it began
};

struct ViolationOutcome {
  double score = 0;                      // after this event (0 right after a suspension)
  std::optional<Suspension> suspension;  // active, whether new or not
  bool newly_suspended = false;          // this event caused it (log it, persist it)
};

class ViolationTracker {
 public:
  explicit ViolationTracker(AbuseConfig config, store::Clock clock = store::system_now);
  ~ViolationTracker();

  // Records `count` events of `kind` for the subject. Does nothing when disabled.
  ViolationOutcome record(std::string_view subject, ViolationKind kind, double count = 1);

  // The subject's active suspension, if any.
  std::optional<Suspension> suspended(std::string_view subject) const;
  double score(std::string_view subject) const;

  // Ends the subject's suspension and clears its score; false if it was not suspended.
  bool lift(std::string_view subject);

  // Puts back a suspension read from the store (at start-up, or made by another process).
  void restore(const Suspension& suspension);

  std::vector<Suspension> active_suspensions() const;
  std::size_t tracked_subjects() const;
  const AbuseConfig& config() const { return config_; }

 private:
  struct Shard;
  Shard& shard_of(std::string_view subject) const;

  AbuseConfig config_;
  store::Clock clock_;
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace parley::policy
