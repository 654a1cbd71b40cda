#include "gateway/usage_accounting.h"

#include <algorithm>
#include <string>
#include <vector>

#include "base/log.h"

namespace parley {
namespace {

std::string bucket(std::string_view kind, std::string_view id, std::string_view what) {
  std::string k;
  k.reserve(kind.size() + id.size() + what.size() + 2);
  k.append(kind).append(":").append(id).append(":").append(what);
  return k;
}

// One token bucket that applies to a request.
struct Bucket {
  std::string key;
  std::int64_t limit;
  std::string_view what;  // for the message: "requests per minute", ...
};

// A limit of 0 suspends: the bucket would be empty forever, which a TokenBucketSpec cannot say.
Status suspended(std::string_view what) {
  return resource_exhausted_error("your {} limit is 0: requests are suspended", what)
      .with_detail("retry_after", "60")
      .with_detail("code", "rate_limit_exceeded");
}

store::Time to_store_time(std::chrono::system_clock::time_point t) {
  return std::chrono::time_point_cast<std::chrono::microseconds>(t);
}

}  // namespace

AccountingUsageRecorder::AccountingUsageRecorder(store::Store& store, auth::RateLimiter& limiter,
                                                 UsageAccountingOptions options)
    : store_(store), limiter_(limiter), options_(std::move(options)) {
  writer_ = std::thread([this] { write_loop(); });
}

AccountingUsageRecorder::~AccountingUsageRecorder() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  writer_.join();
}

auth::Limits AccountingUsageRecorder::limits_for(const Principal& p) const {
  return options_.limits.for_user(p.role, p.email);
}

Result<auth::QuotaUsage> AccountingUsageRecorder::quota_usage(std::string_view user_id) const {
  const auto now = options_.now();
  ASSIGN_OR_RETURN(const store::UsageTotals day,
                   store_.usage_totals(user_id, to_store_time(auth::day_window(now).start)));
  ASSIGN_OR_RETURN(const store::UsageTotals month,
                   store_.usage_totals(user_id, to_store_time(auth::month_window(now).start)));
  auth::QuotaUsage q;
  q.tokens_day = day.prompt_tokens + day.completion_tokens;
  q.tokens_month = month.prompt_tokens + month.completion_tokens;
  q.cost_micros_day = day.cost_micros;
  q.cost_micros_month = month.cost_micros;
  return q;
}

Result<UsageTicket> AccountingUsageRecorder::admit(const Principal& p, std::int64_t tokens_upper_bound) {
  const auth::Limits limits = limits_for(p);
  // Quotas first: they read the store but take nothing, so a refusal leaves the buckets alone.
  if (limits.tokens_per_day || limits.tokens_per_month || limits.cost_micros_per_day || limits.cost_micros_per_month) {
    Result<auth::QuotaUsage> used = quota_usage(p.user_id);
    if (!used.ok()) {
      log_error("quota check failed for user {}: {}", p.user_id, used.status().to_string());
      return unavailable_error("usage quotas cannot be checked right now; retry shortly");
    }
    RETURN_IF_ERROR(auth::check_quota(limits, *used, options_.now()));
  }
  std::vector<Bucket> rpm, tpm;
  if (limits.requests_per_minute)
    rpm.push_back({bucket("user", p.user_id, "rpm"), *limits.requests_per_minute, "requests per minute"});
  if (limits.tokens_per_minute)
    tpm.push_back({bucket("user", p.user_id, "tpm"), *limits.tokens_per_minute, "tokens per minute"});
  if (!p.api_key_id.empty()) {
    const UsageLimitsConfig& k = options_.limits;
    if (k.key_requests_per_minute)
      rpm.push_back({bucket("key", p.api_key_id, "rpm"), *k.key_requests_per_minute, "API key requests per minute"});
    if (k.key_tokens_per_minute)
      tpm.push_back({bucket("key", p.api_key_id, "tpm"), *k.key_tokens_per_minute, "API key tokens per minute"});
  }
  for (const Bucket& b : rpm) {
    if (b.limit == 0) return suspended(b.what);
  }
  for (const Bucket& b : tpm) {
    if (b.limit == 0) return suspended(b.what);
  }
  // The reservation: the request's upper bound, but no more than the smallest tokens/minute burst.
  // Without max_tokens the bound is the whole context, which would make every such request
  // "too large"; a request that then runs over its reservation is charged the rest into the
  // bucket's debt when it settles, which later requests wait out.
  std::int64_t reserve = std::max<std::int64_t>(tokens_upper_bound, 0);
  for (const Bucket& b : tpm) reserve = std::min(reserve, b.limit);

  // Take from every bucket; on a refusal, give back what was taken (prepare, then commit).
  std::vector<std::pair<const Bucket*, std::int64_t>> taken;
  const auto undo = [&] {
    for (const auto& [b, cost] : taken) limiter_.adjust(b->key, cost, auth::TokenBucketSpec::per_minute(b->limit));
  };
  for (const auto* list : {&rpm, &tpm}) {
    const std::int64_t cost = list == &rpm ? 1 : reserve;
    for (const Bucket& b : *list) {
      const auth::RateDecision d = limiter_.try_acquire(b.key, cost, auth::TokenBucketSpec::per_minute(b.limit));
      if (!d.allowed) {
        undo();
        return auth::rate_limited_error(d, b.what);
      }
      taken.emplace_back(&b, cost);
    }
  }
  return UsageTicket{p, reserve};
}

void AccountingUsageRecorder::record(const UsageTicket& ticket, std::string_view model, std::int64_t prompt_tokens,
                                     std::int64_t completion_tokens) {
  const Principal& p = ticket.principal;
  const std::int64_t actual = std::max<std::int64_t>(prompt_tokens, 0) + std::max<std::int64_t>(completion_tokens, 0);
  const auth::Limits limits = limits_for(p);
  if (limits.tokens_per_minute && *limits.tokens_per_minute > 0) {
    limiter_.settle(bucket("user", p.user_id, "tpm"), ticket.reserved_tokens, actual,
                    auth::TokenBucketSpec::per_minute(*limits.tokens_per_minute));
  }
  if (!p.api_key_id.empty() && options_.limits.key_tokens_per_minute && *options_.limits.key_tokens_per_minute > 0) {
    limiter_.settle(bucket("key", p.api_key_id, "tpm"), ticket.reserved_tokens, actual,
                    auth::TokenBucketSpec::per_minute(*options_.limits.key_tokens_per_minute));
  }
  if (actual == 0) return;
  store::UsageRecord r;
  r.user_id = p.user_id;
  r.api_key_id = p.api_key_id;
  r.model = std::string(model.substr(0, store::kMaxModelBytes));
  r.prompt_tokens = prompt_tokens;
  r.completion_tokens = completion_tokens;
  r.cost_micros = cost_micros(options_.prices, model, prompt_tokens, completion_tokens);
  if (Family<Counter>* f = cost_family_.load()) f->with({r.model}).inc(static_cast<double>(r.cost_micros));
  r.at = to_store_time(options_.now());
  r.conversation_id = ticket.conversation_id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (pending_.size() >= options_.max_pending) {
      log_error("usage of user {} ({} tokens of {}) dropped: {} usage rows are waiting for the database", p.user_id,
                actual, r.model, pending_.size());
      return;
    }
    pending_.push_back(std::move(r));
    ++queued_;
  }
  cv_.notify_one();
}

void AccountingUsageRecorder::flush() {
  std::unique_lock<std::mutex> lock(mu_);
  const std::uint64_t target = queued_;
  idle_cv_.wait(lock, [&] { return done_ >= target; });
}

void AccountingUsageRecorder::write_loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
    if (pending_.empty()) return;  // stopping with nothing left
    store::UsageRecord r = std::move(pending_.front());
    pending_.pop_front();
    lock.unlock();
    Status st = store_.record_usage(r);
    if (!st.ok() && st.code() == ErrorCode::kUnavailable) st = store_.record_usage(r);  // one retry
    if (!st.ok()) {
      log_error("usage row of user {} ({} + {} tokens of {}) could not be written: {}", r.user_id, r.prompt_tokens,
                r.completion_tokens, r.model, st.to_string());
    }
    lock.lock();
    ++done_;
    idle_cv_.notify_all();
  }
}

}  // namespace parley
