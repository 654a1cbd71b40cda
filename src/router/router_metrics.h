// RouterMetrics: what the routers of a gateway do, as Prometheus series (docs/scaling.md):
//
//   parley_router_requests_total{worker,policy,outcome}  attempts by how they ended: ok, error (the
//       model failed it), cancelled, refused (429/400 at submit), unavailable (the worker could not
//       take it: retried elsewhere when it had produced nothing), interrupted (died mid-stream)
//   parley_router_decision_seconds                        the policy's decision (histogram)
//   parley_router_retries_total{policy}                   attempts on another worker
//   parley_router_no_worker_total                         requests refused with 503: no worker
//   parley_router_worker_up{worker}                       1: ready, not draining, not ejected
//   parley_router_worker_load{worker}                     waiting + running (its last stats)
//   parley_router_worker_kv_usage_ratio{worker}           KV blocks used / total
//   parley_router_worker_in_flight{worker}                this gateway's requests there
//   parley_router_ejections_total{worker}                 outlier ejections (circuit opened)
//
// Thread safety: the families are thread-safe; the collector runs at each scrape.
#pragma once

#include <memory>

#include "obs/metrics.h"
#include "router/worker_registry.h"

namespace parley {

struct RouterMetrics {
  RouterMetrics(MetricsRegistry& r, std::shared_ptr<WorkerRegistry> workers);

  Family<Counter>& requests;
  Family<Histogram>& decision_seconds;
  Family<Counter>& retries;
  Family<Counter>& no_worker;
  Family<Gauge>& worker_up;
  Family<Gauge>& worker_load;
  Family<Gauge>& worker_kv_usage;
  Family<Gauge>& worker_in_flight;
  Family<Counter>& ejections;
};

}  // namespace parley
