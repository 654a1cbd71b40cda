// Metrics of the state shared between gateways (docs/scaling.md): the Redis rate limiter
// (parley_redis_up, parley_ratelimit_fallback_decisions_total) and the store's read replicas
// (parley_store_replica_*). Families are registered only for what is configured.
#pragma once

#include "gateway/accounts.h"
#include "obs/metrics.h"

namespace parley {

// Registers the families and a collector that copies the current figures before each render.
// `accounts` must outlive `registry`'s renders.
void watch_shared_state(MetricsRegistry& registry, Accounts& accounts);

}  // namespace parley
