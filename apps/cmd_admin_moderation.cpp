// `parley admin moderation ...`: the audit log and suspensions (docs/moderation.md) from the
// command line, on the store `parley serve` uses.
//
//   parley admin moderation events [--user-id ID] [--address IP] [--rule NAME] [--action A]
//                                  [--stage input|output] [--limit N] [--json]
//   parley admin moderation suspensions [--subject S] [--active] [--json]
//   parley admin moderation lift --subject user:usr_...|addr:IP
//
// A lift here is written to the store; a running server holds its suspensions in memory and
// applies it at its next sync with the store, within [moderation.abuse] sync_s seconds (the
// admin API, POST /api/admin/moderation/suspensions/lift, lifts at once).
#include <fmt/chrono.h>
#include <fmt/core.h>

#include <CLI/CLI.hpp>

#include "apps/cli.h"
#include "base/log.h"
#include "store/store.h"

namespace parley::cli {
namespace {

struct ModerationArgs {
  std::string user_id, address, rule, action, stage, subject;
  int limit = 50;
  bool active = false;
  bool json = false;
};

std::string when(store::Time t) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}Z", std::chrono::time_point_cast<std::chrono::seconds>(t));
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  append_json_escaped(out, s);
  return out + "\"";
}

Status events(store::Store& db, const ModerationArgs& a) {
  store::ModerationEventQuery q;
  q.user_id = a.user_id;
  q.address = a.address;
  q.rule = a.rule;
  q.action = a.action;
  q.stage = a.stage;
  q.page.limit = a.limit;
  ASSIGN_OR_RETURN(const store::Page<store::ModerationEvent> page, db.list_moderation_events(q));
  for (const store::ModerationEvent& e : page.items) {
    if (a.json) {
      fmt::print(R"({{"id":{},"at":{},"user_id":{},"address":{},"request_id":{},"rule":{},"action":{},"stage":{},)"
                 R"("excerpt":{}}})"
                 "\n",
                 json_string(e.id), json_string(when(e.at)), json_string(e.user_id), json_string(e.address),
                 json_string(e.request_id), json_string(e.rule), json_string(e.action), json_string(e.stage),
                 json_string(e.excerpt));
    } else {
      fmt::print("{}  {}  {:<18}  {:<10}  {:<6}  {:<30}  {}\n", when(e.at), e.id, e.rule.empty() ? "-" : e.rule,
                 e.action, e.stage.empty() ? "-" : e.stage, e.user_id.empty() ? "-" : e.user_id, e.address);
    }
  }
  return ok_status();
}

Status suspensions(store::Store& db, const ModerationArgs& a) {
  store::SuspensionQuery q;
  q.subject = a.subject;
  q.page.limit = a.limit;
  const store::Time now = store::system_now();
  if (a.active) q.active_at = now;
  ASSIGN_OR_RETURN(const store::Page<store::StoredSuspension> page, db.list_suspensions(q));
  for (const store::StoredSuspension& s : page.items) {
    const std::string state = s.lifted_at ? "lifted" : s.active_at(now) ? "active" : "over";
    if (a.json) {
      fmt::print(R"({{"id":{},"subject":{},"reason":{},"score":{},"created_at":{},"until":{},"state":{}}})"
                 "\n",
                 json_string(s.id), json_string(s.subject), json_string(s.reason), s.score,
                 json_string(when(s.created_at)), json_string(when(s.until)), json_string(state));
    } else {
      fmt::print("{}  {:<6}  until {}  {:<16}  {}\n", s.id, state, when(s.until), s.reason, s.subject);
    }
  }
  return ok_status();
}

Status lift(store::Store& db, const ModerationArgs& a) {
  ASSIGN_OR_RETURN(const std::int64_t n, db.lift_subject_suspensions(a.subject, "cli"));
  if (n == 0) return not_found_error("{} has no active suspension", a.subject);
  fmt::print(stderr, "lifted {} suspension(s) of {} (running servers apply it within [moderation.abuse] sync_s seconds)\n", n, a.subject);
  return ok_status();
}

}  // namespace

void add_admin_moderation_command(CLI::App& admin, int* exit_code, AdminStoreOpener open) {
  auto a = std::make_shared<ModerationArgs>();
  CLI::App* m = admin.add_subcommand("moderation", "The moderation audit log and suspensions (docs/moderation.md)");
  m->require_subcommand(1);
  const auto add = [&](const char* name, const char* help, Status (*run)(store::Store&, const ModerationArgs&)) {
    CLI::App* cmd = m->add_subcommand(name, help);
    cmd->callback([a, exit_code, run, name, open] {
      Result<std::unique_ptr<store::Store>> db = open();
      Status st = db.ok() ? run(**db, *a) : db.status();
      if (!st.ok()) *exit_code = fail(std::string("admin moderation ") + name, st);
    });
    return cmd;
  };
  CLI::App* cmd = add("events", "The audit log, newest first: time, id, rule, action, stage, user, address", events);
  cmd->add_option("--user-id", a->user_id, "Only this user's events");
  cmd->add_option("--address", a->address, "Only this client address's events");
  cmd->add_option("--rule", a->rule, "Only this rule's events");
  cmd->add_option("--action", a->action, "flag, redact, block, or a violation (rate_limited, failed_login, ...)");
  cmd->add_option("--stage", a->stage, "input or output")->check(CLI::IsMember({"input", "output"}));
  cmd->add_option("--limit", a->limit, "At most this many (1-200)")->check(CLI::Range(1, store::kMaxPageLimit));
  cmd->add_flag("--json", a->json, "One JSON object per line");
  cmd = add("suspensions", "Suspensions, newest first: id, state, until, reason, subject", suspensions);
  cmd->add_option("--subject", a->subject, "Only this subject (user:usr_... or addr:IP)");
  cmd->add_flag("--active", a->active, "Only the active ones");
  cmd->add_option("--limit", a->limit, "At most this many (1-200)")->check(CLI::Range(1, store::kMaxPageLimit));
  cmd->add_flag("--json", a->json, "One JSON object per line");
  cmd = add("lift", "Lift a subject's active suspensions (in the store)", lift);
  cmd->add_option("--subject", a->subject, "user:usr_... or addr:IP")->required();
}

}  // namespace parley::cli
