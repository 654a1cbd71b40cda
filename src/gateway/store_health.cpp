#include "gateway/store_health.h"

#include "base/log.h"
#include "store/sql_db.h"

namespace parley {
namespace {

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

StoreHealth::StoreHealth(MetricsRegistry& registry, store::Store& store, WorkPool& pool,
                         std::chrono::milliseconds interval)
    : state_(std::make_shared<State>()),
      pool_(&pool),
      every_ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(interval).count()) {
  state_->store = &store;
  state_->up =
      &registry.gauge("parley_store_up", "1 while the store (SQLite or PostgreSQL) answers; 0 while it fails").with({});
  state_->last_ns = steady_ns();
  state_->up->set(1.0);  // so that a store down at start-up is logged
  check(*state_);
  Gauge& sqlite = registry
                      .gauge("parley_sqlite_memory_bytes",
                             "Bytes SQLite's allocator holds (page caches, schemas, statements); 0 with PostgreSQL")
                      .with({});
  registry.on_collect([s = state_, &pool, every = every_ns_, &sqlite] {
    sqlite.set(static_cast<double>(store::sql::sqlite_memory_bytes()));
    maybe_check(s, pool, every);
  });
}

void StoreHealth::refresh() const {
  maybe_check(state_, *pool_, every_ns_);
}

void StoreHealth::maybe_check(const std::shared_ptr<State>& s, WorkPool& pool, std::int64_t every_ns) {
  if (steady_ns() - s->last_ns.load() < every_ns) return;
  bool expected = false;
  if (!s->in_flight.compare_exchange_strong(expected, true)) return;
  s->last_ns = steady_ns();
  if (!pool.try_submit([s] {
        check(*s);
        s->in_flight = false;
      })) {
    s->in_flight = false;  // the pool is full: the next scrape tries again
  }
}

void StoreHealth::check(State& s) {
  const Status st = s.store->ping();
  const bool was_up = s.up->value() > 0.5;
  s.up->set(st.ok() ? 1.0 : 0.0);
  if (!st.ok() && was_up) log_warn("the store does not answer: {}", st.to_string());
  if (st.ok() && !was_up) log_info("the store answers again");
}

}  // namespace parley
