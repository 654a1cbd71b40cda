// The registry's record of one worker (router/worker_registry.h); private to worker_registry.cpp
// and worker_poller.cpp. Guarded by the registry's mutex.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "router/worker_registry.h"

namespace parley {

struct WorkerRegistry::Worker {
  enum class Circuit { kClosed, kOpen, kHalfOpen };
  struct Model {
    std::string digest;
    bool usable = false;
    bool loaded = true;      // its weights are in memory (a worker loading models on demand says)
    bool on_demand = false;  // the worker loads it on demand: its stats tell whether it is loaded
    EngineStats stats;
    std::shared_ptr<RemoteEngineClient> client;
  };
  WorkerId id = 0;
  std::string url;
  std::string source;  // "" for a static worker, else its dns: spec
  bool ready = false;
  bool draining = false;
  Circuit circuit = Circuit::kClosed;
  int failures = 0;   // in a row
  int ejections = 0;  // in a row, for the backoff
  std::int64_t ejections_total = 0;
  std::chrono::steady_clock::time_point open_until{};
  bool trial_in_flight = false;
  std::int64_t in_flight = 0;
  bool models_known = false;
  int polls_since_models = 0;
  std::map<std::string, Model> models;
};

}  // namespace parley
