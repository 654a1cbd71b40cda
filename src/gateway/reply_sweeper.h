// ReplySweeper: marks `interrupted` the replies that a dead process left `streaming`
// (store::Store::interrupt_stale_replies; docs/reliability.md). At start-up, SQLite (one serving
// process per database) sweeps every such row: they are this process's own, from before a crash;
// PostgreSQL, shared by several gateways, only those whose last checkpoint is older than
// `stale_after`, so that another gateway's live stream is left alone. Then, on both, a thread
// sweeps the rows older than `stale_after` every half of it: a gateway that crashed and never
// came back has its replies marked by the others.
//
// Thread safety: constructed and destroyed on one thread; the sweeps run on its own thread.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>

#include "base/periodic.h"
#include "store/store.h"

namespace parley {

class ReplySweeper {
 public:
  // Sweeps once before returning (a failure is logged: the next sweep tries again).
  ReplySweeper(store::Store& store, std::chrono::seconds stale_after, store::Clock clock = store::system_now);
  ~ReplySweeper();
  ReplySweeper(const ReplySweeper&) = delete;
  ReplySweeper& operator=(const ReplySweeper&) = delete;

  // Rows marked so far (tests, logs).
  std::int64_t swept() const;

 private:
  void sweep(store::Time written_before);

  store::Store& store_;
  std::chrono::seconds stale_after_;
  store::Clock clock_;
  mutable std::mutex mutex_;  // swept_
  std::int64_t swept_ = 0;
  std::unique_ptr<Periodic> periodic_;  // after the first sweep; stopped before the rest goes
};

}  // namespace parley
