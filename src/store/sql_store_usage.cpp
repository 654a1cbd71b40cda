// SqlStore: usage records and their aggregates (per model, per user, totals for quotas).
#include <algorithm>

#include "store/sql_store.h"
#include "store/validation.h"

namespace parley::store {

using sql::Param;
using I = std::int64_t;

namespace {

// Columns 1..4 of an aggregate row: COUNT(*), SUM(prompt), SUM(completion), SUM(cost).
UsageTotals decode_totals(const sql::Rows& rows, std::size_t r, std::size_t first) {
  UsageTotals t;
  t.requests = rows.int64(r, first);
  t.prompt_tokens = rows.int64(r, first + 1);
  t.completion_tokens = rows.int64(r, first + 2);
  t.cost_micros = rows.int64(r, first + 3);
  return t;
}

Status not_a_conversation_of_the_user() {
  return invalid_argument_error("conversation_id is not a conversation of this user")
      .with_detail("param", "conversation_id");
}

#define PARLEY_USAGE_SUMS \
  "COUNT(*), COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0), COALESCE(SUM(cost_micros), 0)"

}  // namespace

Status SqlStore::record_usage(const UsageRecord& in) {
  RETURN_IF_ERROR(check_text("model", in.model, kMaxModelBytes));
  RETURN_IF_ERROR(check_tokens("prompt_tokens", in.prompt_tokens));
  RETURN_IF_ERROR(check_tokens("completion_tokens", in.completion_tokens));
  RETURN_IF_ERROR(check_tokens("cost_micros", in.cost_micros));
  if (!plausible_id(in.user_id)) return not_found_error("user not found");
  if (!in.api_key_id.empty() && !plausible_id(in.api_key_id)) {
    return invalid_argument_error("api_key_id is not a key of this user").with_detail("param", "api_key_id");
  }
  if (!in.conversation_id.empty() && !plausible_id(in.conversation_id)) {
    return not_a_conversation_of_the_user();
  }
  const std::string id = new_id("use");
  const I at = micros(in.at == Time{} ? now() : in.at);
  Status s = db_->transact(sql::TxKind::kWrite, [&](sql::Conn& conn) -> Status {
    if (!in.api_key_id.empty()) {
      ASSIGN_OR_RETURN(auto key,
                       conn.run("SELECT 1 FROM api_keys WHERE id = ? AND user_id = ?", {in.api_key_id, in.user_id}));
      if (key.empty()) {
        return invalid_argument_error("api_key_id is not a key of this user").with_detail("param", "api_key_id");
      }
    }
    if (!in.conversation_id.empty()) {
      // Deleted conversations too: a reply that ends after its conversation was deleted is charged.
      ASSIGN_OR_RETURN(auto conv, conn.run("SELECT 1 FROM conversations WHERE id = ? AND owner_id = ?",
                                           {in.conversation_id, in.user_id}));
      if (conv.empty()) return not_a_conversation_of_the_user();
    }
    return conn
        .run(
            "INSERT INTO usage_records (id, user_id, api_key_id, conversation_id, model, prompt_tokens, "
            "completion_tokens, cost_micros, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            {id, in.user_id, sql::null_or(in.api_key_id), sql::null_or(in.conversation_id), in.model,
             I{in.prompt_tokens}, I{in.completion_tokens}, I{in.cost_micros}, at})
        .status();
  });
  if (s.code() == ErrorCode::kNotFound) return not_found_error("user not found");
  return s;
}

Result<std::vector<ModelUsage>> SqlStore::usage_summary(std::string_view user_id, Time from, Time to) {
  std::vector<ModelUsage> out;
  if (!plausible_id(user_id)) return out;
  ASSIGN_OR_RETURN(auto rows, read("SELECT model, " PARLEY_USAGE_SUMS " FROM usage_records "
                                   "WHERE user_id = ? AND at >= ? AND at < ? GROUP BY model",
                                   {user_id, I{micros(from)}, I{micros(to)}}));
  for (std::size_t r = 0; r < rows.size(); ++r) out.push_back({rows.text(r, 0), decode_totals(rows, r, 1)});
  // Byte order, the same on both backends whatever the database's collation.
  std::sort(out.begin(), out.end(), [](const ModelUsage& a, const ModelUsage& b) { return a.model < b.model; });
  return out;
}

Result<std::vector<UserUsage>> SqlStore::usage_by_user(Time from, Time to) {
  ASSIGN_OR_RETURN(auto rows, read("SELECT u.id, u.email, COUNT(*), COALESCE(SUM(r.prompt_tokens), 0), "
                                   "COALESCE(SUM(r.completion_tokens), 0), COALESCE(SUM(r.cost_micros), 0) "
                                   "FROM usage_records r JOIN users u ON u.id = r.user_id "
                                   "WHERE r.at >= ? AND r.at < ? GROUP BY u.id, u.email",
                                   {I{micros(from)}, I{micros(to)}}));
  std::vector<UserUsage> out;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    out.push_back({rows.text(r, 0), rows.text(r, 1), decode_totals(rows, r, 2)});
  }
  std::sort(out.begin(), out.end(), [](const UserUsage& a, const UserUsage& b) {
    if (a.totals.cost_micros != b.totals.cost_micros) return a.totals.cost_micros > b.totals.cost_micros;
    return a.user_id < b.user_id;
  });
  return out;
}

Result<UsageTotals> SqlStore::usage_totals(std::string_view user_id, Time since, std::string_view api_key_id) {
  if (!plausible_id(user_id)) return UsageTotals{};
  if (!api_key_id.empty()) {
    if (!plausible_id(api_key_id)) return UsageTotals{};
    ASSIGN_OR_RETURN(auto rows, read("SELECT " PARLEY_USAGE_SUMS " FROM usage_records "
                                     "WHERE user_id = ? AND api_key_id = ? AND at >= ?",
                                     {user_id, api_key_id, I{micros(since)}}));
    return decode_totals(rows, 0, 0);
  }
  ASSIGN_OR_RETURN(auto rows, read("SELECT " PARLEY_USAGE_SUMS " FROM usage_records WHERE user_id = ? AND at >= ?",
                                   {user_id, I{micros(since)}}));
  return decode_totals(rows, 0, 0);
}

Result<std::vector<DayUsage>> SqlStore::usage_by_day(std::string_view user_id, Time from, Time to) {
  std::vector<DayUsage> out;
  if (!plausible_id(user_id)) return out;
  // Instants are microseconds since the epoch (UTC, no leap seconds): integer division by a day's
  // microseconds is the day, in both dialects (BIGINT / BIGINT truncates; instants are positive).
  ASSIGN_OR_RETURN(auto rows, read("SELECT at / 86400000000, model, " PARLEY_USAGE_SUMS " FROM usage_records "
                                   "WHERE user_id = ? AND at >= ? AND at < ? GROUP BY at / 86400000000, model",
                                   {user_id, I{micros(from)}, I{micros(to)}}));
  constexpr std::int64_t kDayMicros = 86'400'000'000;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    out.push_back({from_micros(rows.int64(r, 0) * kDayMicros), rows.text(r, 1), decode_totals(rows, r, 2)});
  }
  std::sort(out.begin(), out.end(), [](const DayUsage& a, const DayUsage& b) {
    if (a.day != b.day) return a.day < b.day;
    return a.model < b.model;
  });
  return out;
}

Result<UsageTotals> SqlStore::conversation_usage(std::string_view owner_id, std::string_view conversation_id) {
  if (!plausible_id(owner_id) || !plausible_id(conversation_id)) return not_found_error("conversation not found");
  UsageTotals totals;
  RETURN_IF_ERROR(db_->transact(sql::TxKind::kRead, [&](sql::Conn& conn) -> Status {
    ASSIGN_OR_RETURN(auto conv, conn.run("SELECT 1 FROM conversations WHERE id = ? AND owner_id = ? "
                                         "AND deleted_at IS NULL",
                                         {conversation_id, owner_id}));
    if (conv.empty()) return not_found_error("conversation not found");
    ASSIGN_OR_RETURN(auto rows, conn.run("SELECT " PARLEY_USAGE_SUMS " FROM usage_records "
                                         "WHERE conversation_id = ? AND user_id = ?",
                                         {conversation_id, owner_id}));
    totals = decode_totals(rows, 0, 0);
    return ok_status();
  }));
  return totals;
}

}  // namespace parley::store
