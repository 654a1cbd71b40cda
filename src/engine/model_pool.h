// ModelPool: models loaded on demand (docs/serving-engine.md, "Model lifecycle"). Each model is
// a slot: an EngineClient that the API holds for good, whose engine (weights and KV pool, made by
// an EngineLoader) is loaded on the first request and unloaded when idle, when another model needs
// its memory, or when an operator says so.
//
//   unloaded --request/load()--> loading --ok--> loaded --unload--> unloading --streams end--> unloaded
//                                        \--error--> failed (the error is kept; load() or a new file retries)
//
// - A request for a model that is not loaded waits while it loads (one load per model at a time,
//   on a loader thread), at most load_timeout and with at most max_waiters requests waiting per
//   model: beyond either, submit() is kUnavailable with a Retry-After (503).
// - A model being unloaded takes no new request: requests for it wait (the same bound) for the
//   unload to finish and load it again. Its running streams finish first.
// - memory_bytes bounds the sum of the loaded models' memory (weights plus KV pool, as given to
//   add()): loading a model that would exceed it first unloads the least recently used models that
//   are neither pinned nor running a stream; when that is not enough the request is kUnavailable.
// - A pinned model is loaded for good: never unloaded for idleness or memory, and unload() refuses
//   it until it is unpinned.
//
// Engines are destroyed off the engine threads (on the caller of unload(), a loader thread or the
// pool's housekeeping thread), never under the pool's lock.
//
// Thread safety: every method may be called from any thread. The pool must outlive the engines it
// returned and their requests (destroying it stops every engine: their requests end kCancelled).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/result.h"
#include "engine/engine_client.h"

namespace parley {

enum class ModelState { kUnloaded, kLoading, kLoaded, kUnloading, kFailed };
std::string_view model_state_name(ModelState s);  // "unloaded", "loading", "loaded", "unloading", "failed"

enum class UnloadReason { kIdle, kMemory, kAdmin, kRemoved };
std::string_view unload_reason_name(UnloadReason r);  // "idle", "memory", "admin", "removed"

// Makes a model's running engine (serve and worker: a LocalModel's). Called on a loader thread; the
// engine it returns is destroyed by the pool, off the engine thread.
using EngineLoader = std::function<Result<std::shared_ptr<EngineClient>>()>;

using PoolClock = std::function<std::chrono::steady_clock::time_point()>;

struct ModelPoolOptions {
  std::int64_t memory_bytes = 0;                    // 0: no bound
  std::chrono::milliseconds idle_unload{0};         // 0: never
  std::chrono::milliseconds load_timeout{300'000};  // how long a request waits for a load
  std::int32_t max_waiters = 64;                    // requests waiting for one model's load
  std::chrono::milliseconds housekeeping{1000};     // how often idle models are looked for
  PoolClock now;                                    // null: steady_clock (tests move their own)
};

// What the pool reports (metrics): called outside its lock, on the thread that did it.
struct ModelPoolHooks {
  std::function<void(const std::string& id, double seconds)> loaded;
  std::function<void(const std::string& id, UnloadReason reason)> unloaded;
};

struct ModelSlotInfo {
  std::string id;
  ModelState state = ModelState::kUnloaded;
  bool pinned = false;
  std::int64_t memory_bytes = 0;
  std::int32_t streams = 0;  // requests running on it
  std::int32_t waiters = 0;  // requests waiting for it to load
  std::string error;         // the last failed load's
  double idle_s = 0;         // since its last request ended (0 while one runs)
};

class ModelPool {
 public:
  explicit ModelPool(ModelPoolOptions options = {}, ModelPoolHooks hooks = {});
  ~ModelPool();  // stops every engine
  ModelPool(const ModelPool&) = delete;
  ModelPool& operator=(const ModelPool&) = delete;

  // Adds an unloaded model whose engine `loader` makes and which holds `memory_bytes` loaded. The
  // EngineClient returned submits to it (loading it first) and is valid while the pool lives,
  // after remove() too (then it refuses: kNotFound). kAlreadyExists for an id in the pool.
  Result<std::shared_ptr<EngineClient>> add(const std::string& id, std::int64_t memory_bytes, EngineLoader loader,
                                            bool pinned = false);
  // Forgets the model: no new request; its engine is unloaded once its streams end.
  void remove(const std::string& id);
  // Loads it now (a failed model is tried again), waiting as a request would.
  Status load(const std::string& id);
  // Begins unloading it: kNotFound, or kFailedPrecondition while it is pinned or loading; OK when
  // it is not loaded. Its running streams finish first.
  Status unload(const std::string& id, UnloadReason reason = UnloadReason::kAdmin);
  // Pins (and begins loading, without waiting) or unpins it.
  Status pin(const std::string& id, bool pinned);

  std::vector<ModelSlotInfo> list() const;
  std::optional<ModelSlotInfo> info(const std::string& id) const;
  std::int64_t memory_used() const;  // loading, loaded and unloading models
  const ModelPoolOptions& options() const { return options_; }

  // Unloads the models idle for idle_unload and frees those whose unload waited for streams; the
  // housekeeping thread does it every `housekeeping` (tests with their own clock call it).
  void tick();

 private:
  struct Slot;
  class SlotEngine;
  class CountingSink;
  using Lock = std::unique_lock<std::mutex>;
  std::chrono::steady_clock::time_point now() const;

  // The engine of `s`, loaded (waiting for it) with a stream counted, or why not.
  Result<std::shared_ptr<EngineClient>> acquire(const std::shared_ptr<Slot>& s, Lock& lock);
  // Starts loading `s` (unloading what memory needs first) or fails; under the lock.
  Status start_load(const std::shared_ptr<Slot>& s, Lock& lock);
  void run_load(const std::shared_ptr<Slot>& s);
  // Moves a loaded slot to unloading, its engine into `out` when no stream runs; under the lock.
  void begin_unload(Slot& s, UnloadReason reason, std::vector<std::pair<std::string, UnloadReason>>* done,
                    std::vector<std::shared_ptr<EngineClient>>* out);
  void stream_ended(Slot& s);
  void report_unloads(const std::vector<std::pair<std::string, UnloadReason>>& done) const;
  void housekeeping_loop();
  std::shared_ptr<Slot> find(const std::string& id) const;  // under the lock

  ModelPoolOptions options_;
  ModelPoolHooks hooks_;
  mutable std::mutex mu_;
  std::condition_variable cv_;        // waiters: a load or an unload finished
  std::condition_variable house_cv_;  // the housekeeping thread: a reap is due, or stop
  std::map<std::string, std::shared_ptr<Slot>> slots_;
  std::vector<std::shared_ptr<Slot>> removed_;  // forgotten, still unloading
  std::int32_t loaders_ = 0;                    // loader threads running
  bool reap_due_ = false;
  bool stop_ = false;
  std::thread housekeeping_;
};

}  // namespace parley
