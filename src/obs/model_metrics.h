// ModelMetrics: the lifecycle of models loaded on demand (engine/model_pool.h), the same names in
// `parley serve` and `parley worker`:
//
//   parley_model_load_seconds{model}           histogram: how long loads took
//   parley_models_loaded                        gauge: models loaded now (read at every scrape)
//   parley_model_unloads_total{model,reason}    counter: reason idle, memory, admin or removed
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "obs/metrics.h"

namespace parley {

class ModelMetrics {
 public:
  // Registers the families in `registry`; `loaded_now` is read at every scrape (it must stay
  // callable as long as the registry renders).
  ModelMetrics(MetricsRegistry& registry, std::function<double()> loaded_now);

  void loaded(const std::string& model, double seconds) { load_seconds_.with({model}).observe(seconds); }
  void unloaded(const std::string& model, std::string_view reason) {
    unloads_.with({model, std::string(reason)}).inc();
  }

 private:
  Family<Histogram>& load_seconds_;
  Family<Counter>& unloads_;
};

}  // namespace parley
