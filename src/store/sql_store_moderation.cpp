// SqlStore: the moderation audit log and suspensions (schema version 4). These are admin data:
// no method is scoped by an owner; the gateway allows them to admins only.
#include <string>
#include <vector>

#include "store/sql_store.h"
#include "store/validation.h"

namespace parley::store {

using sql::Param;
using I = std::int64_t;

namespace {

#define PARLEY_EVENT_COLS "id, at, user_id, address, request_id, rule, action, stage, excerpt"
#define PARLEY_SUSPENSION_COLS "id, subject, reason, score, created_at, until_at, created_by, lifted_at, lifted_by"

ModerationEvent decode_event(const sql::Rows& rows, std::size_t r) {
  ModerationEvent e;
  e.id = rows.text(r, 0);
  e.at = from_micros(rows.int64(r, 1));
  e.user_id = rows.text(r, 2);
  e.address = rows.text(r, 3);
  e.request_id = rows.text(r, 4);
  e.rule = rows.text(r, 5);
  e.action = rows.text(r, 6);
  e.stage = rows.text(r, 7);
  e.excerpt = rows.text(r, 8);
  return e;
}

StoredSuspension decode_suspension(const sql::Rows& rows, std::size_t r) {
  StoredSuspension s;
  s.id = rows.text(r, 0);
  s.subject = rows.text(r, 1);
  s.reason = rows.text(r, 2);
  s.score = rows.optional_double(r, 3).value_or(0);
  s.created_at = from_micros(rows.int64(r, 4));
  s.until = from_micros(rows.int64(r, 5));
  s.created_by = rows.text(r, 6);
  if (const auto lifted = rows.optional_int64(r, 7)) s.lifted_at = from_micros(*lifted);
  s.lifted_by = rows.text(r, 8);
  return s;
}

bool is_word(std::string_view s) {
  if (s.empty() || s.size() > 32) return false;
  for (const char c : s) {
    if (!((c >= 'a' && c <= 'z') || c == '_')) return false;
  }
  return true;
}

Status check_event(const ModerationEvent& e) {
  for (const auto& [name, value] : {std::pair<std::string_view, std::string_view>{"user_id", e.user_id},
                                    {"address", e.address},
                                    {"request_id", e.request_id},
                                    {"rule", e.rule},
                                    {"stage", e.stage}}) {
    RETURN_IF_ERROR(check_text(name, value, kMaxAuditShortBytes));
  }
  RETURN_IF_ERROR(check_text("excerpt", e.excerpt, kMaxAuditExcerptBytes));
  if (!is_word(e.action)) {
    return invalid_argument_error("action must be 1..32 of [a-z_]").with_detail("param", "action");
  }
  return ok_status();
}

// "WHERE a = ? AND b = ?" over the filters that are set.
class Where {
 public:
  void equal(std::string_view column, const std::string& value) {
    if (value.empty()) return;
    add(std::string(column) + " = ?", Param(std::string_view(value)));
  }
  void add(std::string condition, Param p) {
    add(std::move(condition));
    params_.push_back(p);
  }
  void add(std::string condition) { sql_ += (sql_.empty() ? " WHERE " : " AND ") + condition; }
  const std::string& sql() const { return sql_; }
  std::vector<Param>& params() { return params_; }

 private:
  std::string sql_;
  std::vector<Param> params_;
};

template <typename T, typename Decode>
Page<T> page_of(const sql::Rows& rows, int limit, Decode decode) {
  Page<T> page;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    if (static_cast<int>(r) == limit) {
      page.has_more = true;
      break;
    }
    page.items.push_back(decode(rows, r));
  }
  return page;
}

}  // namespace

Result<ModerationEvent> SqlStore::record_moderation_event(const ModerationEvent& in) {
  RETURN_IF_ERROR(check_event(in));
  ModerationEvent e = in;
  e.id = new_id("mev");
  if (e.at == Time{}) e.at = now();
  RETURN_IF_ERROR(
      write("INSERT INTO moderation_events (" PARLEY_EVENT_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            {e.id, I{micros(e.at)}, e.user_id, e.address, e.request_id, e.rule, e.action, e.stage, e.excerpt})
          .status());
  return e;
}

Result<Page<ModerationEvent>> SqlStore::list_moderation_events(const ModerationEventQuery& q) {
  RETURN_IF_ERROR(check_page(q.page));
  Where w;
  w.equal("user_id", q.user_id);
  w.equal("address", q.address);
  w.equal("rule", q.rule);
  w.equal("action", q.action);
  w.equal("stage", q.stage);
  if (q.from) w.add("at >= ?", I{micros(*q.from)});
  if (q.to) w.add("at < ?", I{micros(*q.to)});
  std::vector<Param>& params = w.params();
  params.push_back(I{q.page.limit + 1});
  params.push_back(I{q.page.offset});
  ASSIGN_OR_RETURN(auto rows, db_->query("SELECT " PARLEY_EVENT_COLS " FROM moderation_events" + w.sql() +
                                             " ORDER BY at DESC, id DESC LIMIT ? OFFSET ?",
                                         params));
  return page_of<ModerationEvent>(rows, q.page.limit, decode_event);
}

Result<std::int64_t> SqlStore::purge_moderation_events(Time before) {
  ASSIGN_OR_RETURN(auto rows, write("DELETE FROM moderation_events WHERE at < ?", {I{micros(before)}}));
  return rows.affected();
}

Result<StoredSuspension> SqlStore::create_suspension(const NewSuspension& in) {
  RETURN_IF_ERROR(check_text("subject", in.subject, kMaxAuditShortBytes, false));
  RETURN_IF_ERROR(check_text("created_by", in.created_by, kMaxAuditShortBytes));
  if (!is_word(in.reason)) {
    return invalid_argument_error("reason must be 1..32 of [a-z_]").with_detail("param", "reason");
  }
  StoredSuspension s;
  s.id = new_id("sus");
  s.subject = in.subject;
  s.reason = in.reason;
  s.score = in.score;
  s.created_at = now();
  s.until = in.until;
  s.created_by = in.created_by;
  RETURN_IF_ERROR(write("INSERT INTO suspensions (id, subject, reason, score, created_at, until_at, created_by) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        {s.id, s.subject, s.reason, s.score, I{micros(s.created_at)}, I{micros(s.until)}, s.created_by})
                      .status());
  return s;
}

Result<Page<StoredSuspension>> SqlStore::list_suspensions(const SuspensionQuery& q) {
  RETURN_IF_ERROR(check_page(q.page));
  Where w;
  w.equal("subject", q.subject);
  if (q.active_at) {
    w.add("until_at > ?", I{micros(*q.active_at)});
    w.add("lifted_at IS NULL");
  }
  std::vector<Param>& params = w.params();
  params.push_back(I{q.page.limit + 1});
  params.push_back(I{q.page.offset});
  ASSIGN_OR_RETURN(auto rows, db_->query("SELECT " PARLEY_SUSPENSION_COLS " FROM suspensions" + w.sql() +
                                             " ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
                                         params));
  return page_of<StoredSuspension>(rows, q.page.limit, decode_suspension);
}

Result<StoredSuspension> SqlStore::lift_suspension(std::string_view id, std::string_view lifted_by) {
  RETURN_IF_ERROR(check_text("lifted_by", lifted_by, kMaxAuditShortBytes));
  if (!plausible_id(id)) return not_found_error("suspension not found");
  ASSIGN_OR_RETURN(auto rows, write("UPDATE suspensions SET lifted_at = COALESCE(lifted_at, ?), "
                                    "lifted_by = CASE WHEN lifted_at IS NULL THEN ? ELSE lifted_by END "
                                    "WHERE id = ? RETURNING " PARLEY_SUSPENSION_COLS,
                                    {I{micros(now())}, lifted_by, id}));
  if (rows.empty()) return not_found_error("suspension not found");
  return decode_suspension(rows, 0);
}

Result<std::int64_t> SqlStore::lift_subject_suspensions(std::string_view subject, std::string_view lifted_by) {
  RETURN_IF_ERROR(check_text("subject", subject, kMaxAuditShortBytes, false));
  RETURN_IF_ERROR(check_text("lifted_by", lifted_by, kMaxAuditShortBytes));
  const I at = micros(now());
  ASSIGN_OR_RETURN(auto rows, write("UPDATE suspensions SET lifted_at = ?, lifted_by = ? "
                                    "WHERE subject = ? AND lifted_at IS NULL AND until_at > ?",
                                    {at, lifted_by, subject, at}));
  return rows.affected();
}

Result<std::int64_t> SqlStore::purge_suspensions(Time before) {
  const I t = micros(before);
  ASSIGN_OR_RETURN(auto rows, write("DELETE FROM suspensions WHERE until_at < ? OR lifted_at < ?", {t, t}));
  return rows.affected();
}

}  // namespace parley::store
