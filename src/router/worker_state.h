// The registry's record of one worker (router/worker_registry.h), guarded by the registry's mutex,
// and its probe threads; private to worker_registry.cpp and worker_poller.cpp.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "router/worker_registry.h"

namespace parley {

struct WorkerRegistry::Worker {
  enum class Circuit { kClosed, kOpen, kHalfOpen };
  struct Model {
    std::string digest;
    bool usable = false;
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
  std::uint64_t blocks_seq = 0;  // the last PlacementLog entry taken from its stats
  int polls_since_models = 0;
  std::map<std::string, Model> models;
};

// The threads the health probes run on (worker_poller.cpp): the pool grows to at most `max` threads
// as polls need them and keeps them until the registry goes, so a poll starts no thread once it is
// big enough, and a probe that waits for its timeout holds one thread, not a batch of others.
class WorkerRegistry::ProbePool {
 public:
  explicit ProbePool(std::size_t max) : max_(std::max<std::size_t>(1, max)) {}
  ~ProbePool();
  ProbePool(const ProbePool&) = delete;
  ProbePool& operator=(const ProbePool&) = delete;

  // Runs every job, at most `max` at a time, and returns once all have run. One caller at a time.
  void run_all(std::vector<std::function<void()>> jobs);
  std::size_t threads() const;

 private:
  void loop();

  const std::size_t max_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::deque<std::function<void()>> queue_;
  std::vector<std::thread> threads_;
};

}  // namespace parley
