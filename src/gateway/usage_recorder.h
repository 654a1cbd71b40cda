// UsageRecorder: admission and accounting for every request that generates tokens, whichever API
// it came through (/v1/* in gateway.cpp, /api/conversations/* in the conversation API).
//
//   // Before the request is queued: requests/minute and tokens/minute (token buckets of the user
//   // and of the API key, if any) and the user's day/month quotas. `tokens_upper_bound` is what
//   // the request may cost at most (prompt tokens + max completion tokens x choices); it is
//   // reserved in the tokens/minute buckets and settled by record().
//   Result<UsageTicket> ticket = recorder.admit(principal, tokens_upper_bound);
//   if (!ticket.ok()) return reply_error(ticket.status());  // 429 + Retry-After, or 400
//   ... queue the generation ...
//   // Exactly once when it ends, whatever the outcome (finished, stop string, error, client
//   // gone): the tokens that were actually computed.
//   recorder.record(*ticket, model_id, prompt_tokens, completion_tokens);
//
// Refusals (admit): kResourceExhausted (429) with details "retry_after" (seconds, for
// Retry-After) and "code" ("rate_limit_exceeded" for rates, "insufficient_quota" for quotas);
// kInvalidArgument (400, code "request_too_large") when the upper bound exceeds a tokens/minute
// bucket's capacity, which no waiting can fix. gateway/http_errors.h maps both.
//
// record() refunds the unused part of the reservation at once, computes the cost from the price
// table (micro-units per token = price per million tokens) and hands the usage row to the store
// on a background thread: it never blocks the caller (it runs on the engine thread for /v1), so
// the row may land a few milliseconds later; flush() waits for it (the conversation API does,
// before it reports a conversation's usage with the reply that just ended). A request that computed nothing (prompt and
// completion both 0: refused by the engine's queue, cancelled before its first step) settles its
// reservation and writes no row.
//
// Thread safety: both methods may be called from any thread, concurrently.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "gateway/principal.h"

namespace parley {

// What admit() granted; pass it back to record(). A plain value: copy or move it into the
// request's state. It carries the principal so that the usage row names the user and the key.
struct UsageTicket {
  Principal principal;
  std::int64_t reserved_tokens = 0;  // taken from the tokens/minute buckets by admit()
  std::string conversation_id;       // the conversation a reply is generated into (set by its API); "" for /v1
};

class UsageRecorder {
 public:
  virtual ~UsageRecorder() = default;

  virtual Result<UsageTicket> admit(const Principal& principal, std::int64_t tokens_upper_bound) = 0;

  virtual void record(const UsageTicket& ticket, std::string_view model, std::int64_t prompt_tokens,
                      std::int64_t completion_tokens) = 0;

  // Returns once every row recorded before the call is written (or given up). Blocks: never on
  // the engine or I/O threads. A recorder that writes nothing has nothing to wait for.
  virtual void flush() {}
};

// Admits everything and records nothing: for tests and tools that run a Gateway without a store.
class NullUsageRecorder final : public UsageRecorder {
 public:
  Result<UsageTicket> admit(const Principal& principal, std::int64_t tokens_upper_bound) override {
    return UsageTicket{principal, tokens_upper_bound};
  }
  void record(const UsageTicket&, std::string_view, std::int64_t, std::int64_t) override {}
};

}  // namespace parley
