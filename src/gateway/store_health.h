// StoreHealth: `parley_store_up` on /metrics, 1 while the store answers a trivial query. The
// query never runs on the thread that renders /metrics: a render starts one on the request pool
// when the last is older than `interval` (one at a time), and the gauge shows the last answer; the
// first runs at construction. A database that hangs therefore delays no scrape and no request.
// /ready reads the same answer (up()) and starts a check the same way (refresh()).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>

#include "gateway/work_pool.h"
#include "obs/metrics.h"
#include "store/store.h"

namespace parley {

class StoreHealth {
 public:
  // `store` and `pool` must outlive the registry's renders (the gateway owns all three).
  StoreHealth(MetricsRegistry& registry, store::Store& store, WorkPool& pool,
              std::chrono::milliseconds interval = std::chrono::seconds(5));

  // The last check's answer; thread-safe, never blocks.
  bool up() const { return state_->up->value() > 0.5; }
  // Starts a check on the pool when the last is older than the interval (any thread, never blocks).
  void refresh() const;

 private:
  struct State {
    store::Store* store = nullptr;
    Gauge* up = nullptr;
    std::atomic<bool> in_flight{false};
    std::atomic<std::int64_t> last_ns{0};  // steady clock of the last check's start
  };
  static void check(State& s);
  static void maybe_check(const std::shared_ptr<State>& s, WorkPool& pool, std::int64_t every_ns);
  std::shared_ptr<State> state_;
  WorkPool* pool_;
  std::int64_t every_ns_;
};

}  // namespace parley
