// Moderation: the gateway's side of src/policy (docs/moderation.md). One per Gateway, shared by
// the OpenAI endpoints, the conversation API and /v1/moderations:
//
//   screen()          input rules on one message: flag records, redact masks the text in place
//                     (before the model, the store and the logs see it), block is a 400
//                     content_policy_violation; nothing is queued or saved after a block
//   output_filter()   a policy::OutputFilter for one streamed reply (null when no output rule
//                     applies); record_output() reports its matches when the reply ends
//   classify()        /v1/moderations: the categories the rules find in a text
//   check_suspended() 403 (429 for rate abuse) with until when, for a suspended user or address
//   record_violation()a rate-limit or quota hit, a failed log-in, a malformed request
//
// Every match and violation is counted (parley_moderation_events_total{rule,action,stage}), fed
// to the ViolationTracker (per user and per client address: scores never mix) and written to the
// audit log (store::ModerationEvent) with no prompt text unless [moderation.audit] excerpt_bytes
// says so, and then only a redacted excerpt. A new suspension is stored, logged (no prompt text)
// and counted in parley_suspensions_active; stored suspensions are restored at start-up.
//
// Periodic work (start_maintenance): every [moderation.abuse] sync_s the stored suspensions are
// read again, so that a lift from `parley admin moderation lift`, or a suspension or lift by
// another gateway sharing the store, takes effect without a restart; every [moderation.audit]
// purge_interval_s the retention purge runs. Both run on the write pool, after the writes queued
// before them.
//
// Store writes go through a small pool of its own: the output hook runs on the engine thread,
// which must never wait for the database.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/status.h"
#include "gateway/guard_model.h"
#include "gateway/principal.h"
#include "gateway/work_pool.h"
#include "net/http_responder.h"
#include "obs/metrics.h"
#include "policy/output_filter.h"
#include "policy/policy.h"
#include "policy/violation_tracker.h"
#include "store/store.h"

namespace parley {

// Who and what a check is about (for the audit log and the violation scores).
struct ModerationContext {
  std::string user_id;  // empty: nobody signed in (local mode keeps its local user out of scores)
  std::string address;  // the client's address
  std::string request_id;
  std::string model;
};

// One text's categories for /v1/moderations.
struct ModerationResult {
  bool flagged = false;
  std::vector<std::pair<std::string, bool>> categories;  // every configured category, in rule order
};

// Forwards everything to `inner` and tells `on_status` the status of a plain response (not of a
// stream): how the gateway sees rate-limit and quota hits and failed log-ins of any endpoint.
class StatusWatchingResponder final : public HttpResponder {
 public:
  StatusWatchingResponder(std::shared_ptr<HttpResponder> inner,
                          std::function<void(int status, std::string_view body)> on_status)
      : inner_(std::move(inner)), on_status_(std::move(on_status)) {}
  void respond(int status, HttpHeaders headers, std::string body) override {
    on_status_(status, body);
    inner_->respond(status, std::move(headers), std::move(body));
  }
  void start_stream(int status, HttpHeaders headers) override { inner_->start_stream(status, std::move(headers)); }
  bool write(std::string chunk) override { return inner_->write(std::move(chunk)); }
  void finish() override { inner_->finish(); }
  bool disconnected() const override { return inner_->disconnected(); }
  void on_disconnect(std::function<void()> callback) override { inner_->on_disconnect(std::move(callback)); }

 private:
  std::shared_ptr<HttpResponder> inner_;
  std::function<void(int, std::string_view)> on_status_;
};

class Moderation {
 public:
  // `store` may be null (no audit log, no persisted suspensions); `policy` may be null or empty:
  // then nothing is checked and nothing recorded.
  Moderation(std::shared_ptr<const policy::Policy> policy, MetricsRegistry& registry, store::Store* store,
             store::Clock clock = store::system_now);
  ~Moderation();

  bool enabled() const { return policy_ && !policy_->empty(); }
  const std::shared_ptr<const policy::Policy>& policy() const { return policy_; }
  policy::ViolationTracker& tracker() { return *tracker_; }

  // The input rules on one message of `role`; see the header comment. The error is
  // content_policy_violation (400), naming the rule's category, never the text.
  Status screen(const ModerationContext& ctx, policy::Role role, std::string* text);

  // The guard model ([moderation.guard]) on one prompt text: an unsafe verdict is a 400
  // content_policy_violation (recorded as rule "guard"); a failed classification is allowed (fail
  // open) or a 503 (fail closed). OK without a guard.
  void set_guard(std::unique_ptr<GuardModel> guard) { guard_ = std::move(guard); }
  Status guard(const ModerationContext& ctx, std::string_view role, std::string_view text);
  Family<Histogram>& guard_latency() { return guard_latency_; }

  // The guard's verdict on one text for /v1/moderations (null without a guard); a failed
  // classification is counted and logged, and left to the caller (fail open or closed).
  std::optional<GuardVerdict> guard_classify(const ModerationContext& ctx, std::string_view text);
  bool guard_fails_closed() const { return guard_ && guard_->config().fail_closed; }

  // The guard on finished replies ([moderation.guard] stage "output" or "both").
  bool guards_output() const { return guard_ && guard_->config().output; }
  // Classifies finished replies on a pool of its own (never the engine thread: the guard's own
  // request needs it), then calls `done` there, never on the caller's thread, with one verdict
  // per text: true when the guard found it unsafe (recorded as rule "guard:<categories>", stage
  // output, with `action`: block when the caller withholds the reply, flag when it was shown
  // already), or when the classification failed and fail = "closed". Null `done`: record only.
  void guard_output(const ModerationContext& ctx, std::vector<std::string> texts, policy::Action action,
                    std::function<void(std::vector<bool>)> done);
  // Stops classifying replies (the Gateway's destructor, before the models go): later checks
  // count as failed, and the ones in progress are waited for.
  void stop_guard();

  // A filter for one reply of `model` (null: no output rule applies to it).
  std::unique_ptr<policy::OutputFilter> output_filter(const std::string& model) const;
  // The reply's matches (audit log, scores, metrics); called once when it ends.
  void record_output(const ModerationContext& ctx, const policy::OutputFilter& filter);

  ModerationResult classify(std::string_view text) const;
  std::vector<std::string> categories() const;

  // OK, or the active suspension of the caller or its address as 403 / 429 (Retry-After).
  Status check_suspended(const Principal& who, std::string_view address) const;
  void record_violation(const ModerationContext& ctx, policy::ViolationKind kind);
  // The violation an answer of `route` is, if any: a 429 of the caller's rate limits
  // (rate_limit_exceeded: rate_limited) or quota (insufficient_quota: quota_exceeded; not a full
  // queue, not a suspension's 429), a 401 from the log-in endpoint.
  void record_response(const ModerationContext& ctx, std::string_view route_pattern, int status, std::string_view body);

  // Lifts the subject's suspension (memory and store); false when it had none.
  bool lift(std::string_view subject, std::string_view lifted_by);
  // Reads the active suspensions back from the store (start-up).
  Status restore();
  // Brings the suspensions in memory in line with the store: stored active ones are restored,
  // and ones the store no longer has active (lifted or ended elsewhere) are lifted here, unless
  // they began after `cutoff` (their own store write may still be queued).
  Status sync_suspensions(store::Time cutoff);
  // Deletes audit events and ended suspensions older than the retention.
  Status purge();
  // Starts the periodic sync and purge (see the header comment); stopped by the destructor.
  // Nothing runs without a store or with both intervals 0.
  void start_maintenance();
  // Waits until every queued store write is done (tests, shutdown).
  void flush();

 private:
  void record_match(const ModerationContext& ctx, const policy::Match& m, policy::Stage stage, std::string excerpt);
  // A guard verdict: counted, logged when it failed, recorded and scored when unsafe.
  void record_guard(const ModerationContext& ctx, const GuardVerdict& v, policy::Stage stage, policy::Action action);
  // One reply through the guard on a check pool thread: true when it is to be withheld.
  bool guard_one_output(const ModerationContext& ctx, std::string_view text, policy::Action action);
  void count(const ModerationContext& ctx, policy::ViolationKind kind);
  void on_outcome(const policy::ViolationOutcome& outcome);
  void write(std::function<void(store::Store&)> task);
  void update_gauge();
  void maintenance_loop();

  std::shared_ptr<const policy::Policy> policy_;
  store::Store* store_;
  store::Clock clock_;
  std::unique_ptr<policy::ViolationTracker> tracker_;
  Family<Counter>& events_;
  Family<Gauge>& suspensions_active_;
  Family<Histogram>& guard_latency_;
  std::unique_ptr<GuardModel> guard_;
  std::unique_ptr<WorkPool> writes_;
  std::unique_ptr<WorkPool> checks_;  // guard_output's classifications
  std::mutex guard_mu_;
  std::condition_variable guard_cv_;
  bool guard_stopped_ = false;
  int guard_running_ = 0;  // output classifications in progress
  std::mutex maintenance_mu_;
  std::condition_variable maintenance_cv_;
  bool maintenance_stop_ = false;
  std::thread maintenance_;
};

}  // namespace parley
