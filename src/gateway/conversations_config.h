// [conversations] in the `parley serve` / `parley gateway` config: how a streamed reply is saved
// while it streams (docs/configuration.md, docs/reliability.md).
#pragma once

#include <chrono>

namespace parley {

// The reply's row is created `streaming` when the engine accepts the request, rewritten with the
// text so far at most once per `checkpoint_interval` (on the conversation task pool, one write in
// flight per reply, coalesced), and finished once. A crash loses at most the last interval of
// text; the row is then found `streaming` and marked `interrupted` (gateway/reply_sweeper.h).
struct ReplyCheckpointOptions {
  std::chrono::milliseconds checkpoint_interval{1000};  // 0: saved once, at the end (no row before)
  // A row still `streaming` whose last write is older than this belongs to a process that died
  // (PostgreSQL with several gateways: another one's live stream writes more often). SQLite has one
  // serving process: at start-up every such row is its own, from before a crash.
  std::chrono::seconds stale_after{60};
};

}  // namespace parley
