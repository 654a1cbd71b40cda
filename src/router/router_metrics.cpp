#include "router/router_metrics.h"

#include <map>

namespace parley {

RouterMetrics::RouterMetrics(MetricsRegistry& r, std::shared_ptr<WorkerRegistry> workers)
    : requests(r.counter("parley_router_requests_total", "Requests routed to a worker, by how the attempt ended.",
                         {"worker", "policy", "outcome"})),
      decision_seconds(r.histogram("parley_router_decision_seconds", "Time the route policy took to pick a worker.", {},
                                   {1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 1e-3, 1e-2})),
      retries(r.counter("parley_router_retries_total",
                        "Requests sent again to another worker after one failed or refused before the first token.",
                        {"policy"})),
      no_worker(r.counter("parley_router_no_worker_total", "Requests answered 503: no worker could take them.")),
      worker_up(r.gauge("parley_router_worker_up",
                        "1 when the worker takes requests (ready, not draining, not ejected).", {"worker"})),
      worker_load(r.gauge("parley_router_worker_load", "Requests waiting or running on the worker (its last stats).",
                          {"worker"})),
      worker_kv_usage(
          r.gauge("parley_router_worker_kv_usage_ratio", "The worker's KV cache blocks used / total.", {"worker"})),
      worker_in_flight(
          r.gauge("parley_router_worker_in_flight", "This gateway's requests in flight to the worker.", {"worker"})),
      ejections(r.counter("parley_router_ejections_total", "Times the worker was ejected (its circuit opened).",
                          {"worker"})) {
  // Series present from the start (0), so that dashboards and alerts see them before any event.
  no_worker.with({});
  decision_seconds.with({});
  auto last = std::make_shared<std::map<std::string, std::int64_t>>();
  r.on_collect([this, workers, last] {
    for (const WorkerSnapshot& s : workers->snapshot()) {
      worker_up.with({s.url}).set(s.up ? 1.0 : 0.0);
      worker_load.with({s.url}).set(s.load);
      worker_kv_usage.with({s.url}).set(s.kv_usage);
      worker_in_flight.with({s.url}).set(static_cast<double>(s.in_flight));
      Counter& ejected = ejections.with({s.url});
      std::int64_t& before = (*last)[s.url];
      if (s.ejections_total > before) ejected.inc(static_cast<double>(s.ejections_total - before));
      before = s.ejections_total;
    }
  });
}

}  // namespace parley
