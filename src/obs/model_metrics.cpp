#include "obs/model_metrics.h"

namespace parley {

ModelMetrics::ModelMetrics(MetricsRegistry& registry, std::function<double()> loaded_now)
    : load_seconds_(registry.histogram("parley_model_load_seconds", "Time to load a model on demand, seconds",
                                       {"model"}, latency_buckets_seconds())),
      unloads_(registry.counter("parley_model_unloads_total",
                                "Models unloaded, by reason (idle, memory, admin, removed)", {"model", "reason"})) {
  Family<Gauge>& loaded = registry.gauge("parley_models_loaded", "Models whose weights are loaded now");
  registry.on_collect([&loaded, fn = std::move(loaded_now)] { loaded.with({}).set(fn()); });
}

}  // namespace parley
