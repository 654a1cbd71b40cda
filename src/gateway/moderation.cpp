#include "gateway/moderation.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "base/log.h"

namespace parley {
namespace {

using policy::Action;
using policy::Stage;
using policy::ViolationKind;

std::string format_time(store::Time t) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}Z", std::chrono::time_point_cast<std::chrono::seconds>(t));
}

// A redacted excerpt of `text` around `span`: every match masked, at most `bytes` long, cut on
// character boundaries. Empty when `bytes` is 0 (the default: no prompt text is kept).
std::string excerpt_of(std::string_view text, const policy::Verdict& verdict, const policy::Span& span,
                       std::size_t bytes) {
  if (bytes == 0) return "";
  const std::size_t half = bytes / 2;
  std::size_t begin = span.begin > half ? span.begin - half : 0;
  std::size_t end = std::min(text.size(), static_cast<std::size_t>(span.end) + half);
  while (begin > 0 && (static_cast<unsigned char>(text[begin]) & 0xC0) == 0x80) --begin;
  while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
  policy::Verdict local;
  local.action = verdict.action;
  for (const policy::Match& m : verdict.matches) {
    if (m.span.end <= begin || m.span.begin >= end) continue;
    policy::Match c = m;
    c.span.begin = static_cast<std::uint32_t>(std::max<std::size_t>(m.span.begin, begin) - begin);
    c.span.end = static_cast<std::uint32_t>(std::min<std::size_t>(m.span.end, end) - begin);
    local.matches.push_back(c);
  }
  std::string out = policy::redact(text.substr(begin, end - begin), local, Action::kFlag);
  if (out.size() > std::min(bytes, store::kMaxAuditExcerptBytes)) {
    std::size_t cut = std::min(bytes, store::kMaxAuditExcerptBytes);
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
  }
  return out;
}

ViolationKind kind_of(Action a) {
  return a == Action::kBlock ? ViolationKind::kBlocked : ViolationKind::kFlagged;
}

}  // namespace

Moderation::Moderation(std::shared_ptr<const policy::Policy> policy, MetricsRegistry& registry, store::Store* store,
                       store::Clock clock)
    : policy_(std::move(policy)),
      store_(store),
      clock_(std::move(clock)),
      tracker_(std::make_unique<policy::ViolationTracker>(policy_ ? policy_->config().abuse : policy::AbuseConfig{},
                                                          clock_)),
      events_(registry.counter("parley_moderation_events_total",
                               "Moderation rule matches and violations, by rule, action and stage",
                               {"rule", "action", "stage"})),
      suspensions_active_(registry.gauge("parley_suspensions_active", "Users and addresses suspended now")),
      guard_latency_(registry.histogram("parley_guard_seconds",
                                        "Time the guard model took to classify a prompt or a reply", {"model"},
                                        latency_buckets_seconds())),
      writes_(std::make_unique<WorkPool>("moderation", 1, 4096)),
      checks_(std::make_unique<WorkPool>("guard", 2, 4096)) {
  suspensions_active_.with({}).set(0);
}

Moderation::~Moderation() {
  {
    std::lock_guard<std::mutex> lock(maintenance_mu_);
    maintenance_stop_ = true;
  }
  maintenance_cv_.notify_all();
  if (maintenance_.joinable()) maintenance_.join();
  stop_guard();
  checks_->shutdown();
  writes_->shutdown();
}

void Moderation::write(std::function<void(store::Store&)> task) {
  if (store_ == nullptr) return;
  // Dropped when 4096 writes wait already: the audit log must not grow memory without bound
  // under a flood (the counters still count every event).
  writes_->try_submit([this, task = std::move(task)] { task(*store_); });
}

void Moderation::flush() {
  while (writes_->pending() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void Moderation::update_gauge() {
  suspensions_active_.with({}).set(static_cast<double>(tracker_->active_suspensions().size()));
}

void Moderation::on_outcome(const policy::ViolationOutcome& outcome) {
  if (!outcome.newly_suspended || !outcome.suspension) return;
  const policy::Suspension& s = *outcome.suspension;
  log_event(LogLevel::kWarn, "suspension",
            {{"subject", s.subject},
             {"reason", std::string(policy::violation_kind_name(s.reason))},
             {"score", s.score},
             {"until", format_time(s.until)}});
  update_gauge();
  store::NewSuspension ns;
  ns.subject = s.subject;
  ns.reason = std::string(policy::violation_kind_name(s.reason));
  ns.score = s.score;
  ns.until = s.until;
  write([ns](store::Store& db) {
    if (auto r = db.create_suspension(ns); !r.ok()) {
      log_event(LogLevel::kError, "suspension_not_saved", {{"subject", ns.subject}, {"error", r.status().message()}});
    }
  });
}

// A signed-in caller's violations count against the account only: people behind one address (an
// office, a carrier's NAT) must not suspend each other. Requests without an account (local mode,
// refused log-ins) count against the client address.
void Moderation::count(const ModerationContext& ctx, ViolationKind kind) {
  if (!ctx.user_id.empty()) {
    on_outcome(tracker_->record(policy::subject_of_user(ctx.user_id), kind));
  } else if (!ctx.address.empty()) {
    on_outcome(tracker_->record(policy::subject_of_address(ctx.address), kind));
  }
}

void Moderation::record_match(const ModerationContext& ctx, const policy::Match& m, Stage stage, std::string excerpt) {
  const policy::RuleConfig& rule = policy_->config().rules[m.rule];
  events_.with({rule.name, std::string(policy::action_name(m.action)), std::string(policy::stage_name(stage))}).inc();
  store::ModerationEvent e;
  e.user_id = ctx.user_id.substr(0, store::kMaxAuditShortBytes);
  e.address = ctx.address.substr(0, store::kMaxAuditShortBytes);
  e.request_id = ctx.request_id.substr(0, store::kMaxAuditShortBytes);
  e.rule = rule.name.substr(0, store::kMaxAuditShortBytes);
  e.action = std::string(policy::action_name(m.action));
  e.stage = std::string(policy::stage_name(stage));
  e.excerpt = std::move(excerpt);
  write([e = std::move(e)](store::Store& db) { (void)db.record_moderation_event(e); });
}

Status Moderation::screen(const ModerationContext& ctx, policy::Role role, std::string* text) {
  if (!enabled() || text->empty()) return ok_status();
  const policy::Verdict v = policy_->evaluate(Stage::kInput, role, ctx.model, *text);
  if (v.action == Action::kNone) return ok_status();
  const std::size_t excerpt_bytes = policy_->config().audit.excerpt_bytes;
  for (const policy::Match& m : v.matches)
    record_match(ctx, m, Stage::kInput, excerpt_of(*text, v, m.span, excerpt_bytes));
  if (v.action == Action::kFlag || v.action == Action::kBlock) count(ctx, kind_of(v.action));
  if (v.action == Action::kBlock) {
    std::string_view category = "content policy";
    for (const policy::Match& m : v.matches) {
      if (m.action == Action::kBlock) {
        category = policy_->config().rules[m.rule].category;
        break;
      }
    }
    return invalid_argument_error("The request was refused by this server's content policy ({}).", category)
        .with_detail("code", "content_policy_violation")
        .with_detail("param", "messages");
  }
  if (v.action == Action::kRedact) *text = policy::redact(*text, v);
  return ok_status();
}

std::unique_ptr<policy::OutputFilter> Moderation::output_filter(const std::string& model) const {
  if (!enabled() || !policy_->stream_bounds(Stage::kOutput, policy::Role::kAssistant, model).any) return nullptr;
  return std::make_unique<policy::OutputFilter>(policy_, policy::Role::kAssistant, model);
}

void Moderation::record_output(const ModerationContext& ctx, const policy::OutputFilter& filter) {
  if (filter.matches().empty()) return;
  // The reply is not kept in the filter: output events carry no excerpt.
  for (const policy::Match& m : filter.matches()) record_match(ctx, m, Stage::kOutput, "");
  if (filter.action() == Action::kFlag || filter.action() == Action::kBlock) count(ctx, kind_of(filter.action()));
}

std::vector<std::string> Moderation::categories() const {
  std::vector<std::string> out;
  if (!policy_) return out;
  for (const policy::RuleConfig& r : policy_->config().rules) {
    if (std::find(out.begin(), out.end(), r.category) == out.end()) out.push_back(r.category);
  }
  return out;
}

ModerationResult Moderation::classify(std::string_view text) const {
  ModerationResult out;
  for (std::string& c : categories()) out.categories.emplace_back(std::move(c), false);
  if (!enabled()) return out;
  // The input stage, as a user's message: what the rules would do to this text in a request.
  const policy::Verdict v = policy_->evaluate(Stage::kInput, policy::Role::kUser, "", text);
  for (const policy::Match& m : v.matches) {
    const std::string& category = policy_->config().rules[m.rule].category;
    for (auto& [name, hit] : out.categories) hit = hit || name == category;
    out.flagged = true;
  }
  return out;
}

Status Moderation::check_suspended(const Principal& who, std::string_view address) const {
  if (!policy_) return ok_status();
  std::optional<policy::Suspension> s;
  if (!who.user_id.empty() && !who.local_mode) s = tracker_->suspended(policy::subject_of_user(who.user_id));
  if (!s && !address.empty()) s = tracker_->suspended(policy::subject_of_address(address));
  if (!s) return ok_status();
  const std::string until = format_time(s->until);
  const auto left = std::chrono::duration_cast<std::chrono::seconds>(s->until - clock_()).count();
  if (s->reason == ViolationKind::kRateLimited || s->reason == ViolationKind::kQuotaExceeded) {
    return resource_exhausted_error("Too many requests: suspended until {} (UTC).", until)
        .with_detail("code", "suspended")
        .with_detail("retry_after", std::to_string(std::max<std::int64_t>(1, left)));
  }
  return make_error(ErrorCode::kPermissionDenied, "This {} is suspended until {} (UTC) for repeated policy violations.",
                    s->subject.starts_with("user:") ? "account" : "address", until)
      .with_detail("code", "suspended");
}

void Moderation::record_violation(const ModerationContext& ctx, ViolationKind kind) {
  if (!policy_) return;
  const std::string action(policy::violation_kind_name(kind));
  events_.with({"", action, ""}).inc();
  store::ModerationEvent e;
  e.user_id = ctx.user_id.substr(0, store::kMaxAuditShortBytes);
  e.address = ctx.address.substr(0, store::kMaxAuditShortBytes);
  e.request_id = ctx.request_id.substr(0, store::kMaxAuditShortBytes);
  e.action = action;
  write([e = std::move(e)](store::Store& db) { (void)db.record_moderation_event(e); });
  count(ctx, kind);
}

void Moderation::record_response(const ModerationContext& ctx, std::string_view route_pattern, int status,
                                 std::string_view body) {
  if (!policy_) return;
  // Only the caller's own limits count: a full queue (or another server-side 429) is the
  // server's load, not abuse, and a suspension's own 429 is not a new violation.
  if (status == 429 && body.find(R"("code":"rate_limit_exceeded")") != std::string_view::npos) {
    record_violation(ctx, ViolationKind::kRateLimited);
  } else if (status == 429 && body.find(R"("code":"insufficient_quota")") != std::string_view::npos) {
    record_violation(ctx, ViolationKind::kQuotaExceeded);
  } else if (status == 401 && route_pattern == "/api/auth/login") {
    record_violation(ctx, ViolationKind::kFailedLogin);
  }
}

bool Moderation::lift(std::string_view subject, std::string_view lifted_by) {
  const bool lifted = tracker_->lift(subject);
  update_gauge();
  if (store_ != nullptr) {
    // Synchronously: the admin API answers with what the store now says.
    flush();
    Result<std::int64_t> n = store_->lift_subject_suspensions(subject, lifted_by);
    return lifted || (n.ok() && *n > 0);
  }
  return lifted;
}

}  // namespace parley
