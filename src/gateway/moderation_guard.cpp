// Moderation's guard model (gateway/moderation.h, [moderation.guard]): prompts before generation,
// finished replies on a pool of their own, and single texts for /v1/moderations.
#include <memory>

#include "base/log.h"
#include "gateway/moderation.h"

namespace parley {
namespace {

std::string joined(const std::vector<std::string>& categories) {
  std::string out;
  for (const std::string& c : categories) out += (out.empty() ? "" : ",") + c;
  return out;
}

}  // namespace

void Moderation::record_guard(const ModerationContext& ctx, const GuardVerdict& v, policy::Stage stage,
                              policy::Action action) {
  const std::string stage_name(policy::stage_name(stage));
  if (!v.ok) {
    events_.with({"guard", "error", stage_name}).inc();
    log_event(LogLevel::kWarn, "guard_failed",
              {{"request_id", ctx.request_id}, {"stage", stage_name}, {"error", v.error}});
    return;
  }
  if (!v.unsafe) return;
  const std::string action_name(policy::action_name(action));
  events_.with({"guard", action_name, stage_name}).inc();
  store::ModerationEvent e;
  e.user_id = ctx.user_id.substr(0, store::kMaxAuditShortBytes);
  e.address = ctx.address.substr(0, store::kMaxAuditShortBytes);
  e.request_id = ctx.request_id.substr(0, store::kMaxAuditShortBytes);
  e.rule = ("guard:" + joined(v.categories)).substr(0, store::kMaxAuditShortBytes);
  e.action = action_name;
  e.stage = stage_name;
  write([e = std::move(e)](store::Store& db) { (void)db.record_moderation_event(e); });
  count(ctx, action == policy::Action::kBlock ? policy::ViolationKind::kBlocked : policy::ViolationKind::kFlagged);
}

Status Moderation::guard(const ModerationContext& ctx, std::string_view role, std::string_view text) {
  if (!guard_ || !guard_->config().input || text.empty()) return ok_status();
  const GuardVerdict v = guard_->classify(role, text);
  record_guard(ctx, v, policy::Stage::kInput, policy::Action::kBlock);
  if (!v.ok) {
    if (!guard_->config().fail_closed) return ok_status();
    return unavailable_error("The content check is unavailable; retry shortly.").with_detail("retry_after", "1");
  }
  if (!v.unsafe) return ok_status();
  const std::string categories = joined(v.categories);
  return invalid_argument_error("The request was refused by this server's content policy (guard model: {}).",
                                categories.empty() ? "unsafe" : categories)
      .with_detail("code", "content_policy_violation");
}

std::optional<GuardVerdict> Moderation::guard_classify(const ModerationContext& ctx, std::string_view text) {
  if (!guard_) return std::nullopt;
  GuardVerdict v = guard_->classify("user", text);
  if (!v.ok) record_guard(ctx, v, policy::Stage::kInput, policy::Action::kFlag);
  return v;
}

bool Moderation::guard_one_output(const ModerationContext& ctx, std::string_view text, policy::Action action) {
  if (text.empty()) return false;
  {
    std::lock_guard<std::mutex> lock(guard_mu_);
    if (guard_stopped_) return guard_->config().fail_closed;
    ++guard_running_;
  }
  const GuardVerdict v = guard_->classify("assistant", text);
  {
    std::lock_guard<std::mutex> lock(guard_mu_);
    --guard_running_;
  }
  guard_cv_.notify_all();
  record_guard(ctx, v, policy::Stage::kOutput, action);
  return v.ok ? v.unsafe : guard_->config().fail_closed;
}

void Moderation::guard_output(const ModerationContext& ctx, std::vector<std::string> texts, policy::Action action,
                              std::function<void(std::vector<bool>)> done) {
  // post(): a reply waiting for its verdict must get one (the pool outlives every job: the
  // Gateway destroys its models, whose jobs post here, before its Moderation).
  checks_->post([this, ctx, texts = std::move(texts), action, done = std::move(done)] {
    std::vector<bool> unsafe;
    for (const std::string& t : texts) unsafe.push_back(guard_one_output(ctx, t, action));
    if (done) done(std::move(unsafe));
  });
}

void Moderation::stop_guard() {
  std::unique_lock<std::mutex> lock(guard_mu_);
  guard_stopped_ = true;
  guard_cv_.wait(lock, [this] { return guard_running_ == 0; });
}

}  // namespace parley
