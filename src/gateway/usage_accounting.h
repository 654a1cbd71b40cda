// AccountingUsageRecorder: the UsageRecorder of `parley serve` with accounts (usage_recorder.h
// has the contract). Rates are token buckets in a RateLimiter, per user and per API key:
//
//   "user:<id>:rpm"  requests/minute of the user (the role's limit, or the user's override)
//   "user:<id>:tpm"  tokens/minute of the user, reserved at admission and settled at the end
//   "key:<id>:rpm", "key:<id>:tpm"   the same per API key ([limits.keys]), on top of the user's
//
// Quotas (tokens and cost per UTC day and month) are checked against the store's usage sums
// before the request is queued. A limit of 0 refuses everything (suspends) with a 429.
//
// Usage rows are written by one background thread, in order; record() only queues them (it runs
// on the engine thread). At most `max_pending` rows wait: beyond that a row is dropped and logged
// (a database that stays down must not grow memory without bound). A failed write is retried
// once, then logged and dropped. flush() waits until every row queued before it is written (the
// conversation API, tests); rows queued meanwhile do not make it wait longer. The destructor
// writes what is queued.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "auth/limits.h"
#include "auth/rate_limiter.h"
#include "gateway/accounts_config.h"
#include "gateway/usage_recorder.h"
#include "obs/metrics.h"
#include "store/store.h"

namespace parley {

struct UsageAccountingOptions {
  UsageLimitsConfig limits;
  PriceTable prices;
  std::size_t max_pending = 10'000;
  // Wall clock for quota windows (tests move it).
  std::function<std::chrono::system_clock::time_point()> now = [] { return std::chrono::system_clock::now(); };
};

class AccountingUsageRecorder final : public UsageRecorder {
 public:
  AccountingUsageRecorder(store::Store& store, auth::RateLimiter& limiter, UsageAccountingOptions options);
  ~AccountingUsageRecorder() override;

  Result<UsageTicket> admit(const Principal& principal, std::int64_t tokens_upper_bound) override;
  void record(const UsageTicket& ticket, std::string_view model, std::int64_t prompt_tokens,
              std::int64_t completion_tokens) override;

  void flush() override;

  // The limits in force for `principal` (role, then the per-user overrides).
  auth::Limits limits_for(const Principal& principal) const;
  // What the user used in the current UTC day and month.
  Result<auth::QuotaUsage> quota_usage(std::string_view user_id) const;
  std::chrono::system_clock::time_point now() const { return options_.now(); }
  const PriceTable& prices() const { return options_.prices; }
  // Adds each recorded request's cost (micro-units of the price table's currency) to
  // `family`{model} (parley_usage_cost_micros_total); null: not counted. Set before serving.
  void count_cost(Family<Counter>* family) { cost_family_ = family; }

 private:
  void write_loop();

  store::Store& store_;
  auth::RateLimiter& limiter_;
  UsageAccountingOptions options_;

  std::atomic<Family<Counter>*> cost_family_{nullptr};
  std::mutex mu_;
  std::condition_variable cv_;       // new rows or stopping
  std::condition_variable idle_cv_;  // a row was written (or given up)
  std::deque<store::UsageRecord> pending_;
  std::uint64_t queued_ = 0;  // rows ever queued
  std::uint64_t done_ = 0;    // rows ever written or given up (in queue order)
  bool stopping_ = false;
  std::thread writer_;
};

}  // namespace parley
