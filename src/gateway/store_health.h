// StoreHealth: `parley_store_up` on /metrics, 1 while the store answers a trivial query. The
// query never runs on the thread that renders /metrics: a render starts one on the request pool
// when the last is older than `interval` (one at a time), and the gauge shows the last answer; the
// first runs at construction. A database that hangs therefore delays no scrape and no request.
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

 private:
  struct State {
    store::Store* store = nullptr;
    Gauge* up = nullptr;
    std::atomic<bool> in_flight{false};
    std::atomic<std::int64_t> last_ns{0};  // steady clock of the last check's start
  };
  static void check(State& s);
  std::shared_ptr<State> state_;
};

}  // namespace parley
