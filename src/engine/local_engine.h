// LocalEngine: the in-process EngineClient. One engine thread owns the Engine (and through it the
// model runner, KV cache and block pool) and loops schedule -> execute -> update while there is
// work, sleeping otherwise; submit() and cancel() hand requests to it through a mutex-guarded
// inbox and return at once.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "engine/engine_client.h"

namespace parley {

class Model;

// The default latency target of a step, in milliseconds, for a backend ("cpu", "cuda", or a
// Backend::name() that starts with one of them): what
// running streams can expect between two tokens while prompts are being read beside them
// (docs/serving-engine.md has the figures behind it).
double default_target_itl_ms(std::string_view backend);

struct LocalEngineOptions {
  EngineConfig engine;
  std::int32_t block_size = 16;
  std::int32_t n_blocks = 0;  // 0: enough for max_running sequences of n_ctx tokens, capped by kv_bytes
  std::int64_t kv_bytes = std::int64_t{4} << 30;  // cap on the KV cache when n_blocks is 0
  TensorType kv_type = TensorType::kF16;
  // The disk tier below the KV pool (kv/disk_kv_tier.h): evicted prefix blocks are written under
  // kv_disk_dir, at most kv_disk_bytes of them (0: no tier), and read back instead of recomputed.
  std::int64_t kv_disk_bytes = 0;
  std::string kv_disk_dir;
};

class LocalEngine final : public EngineClient {
 public:
  // Starts the engine thread over a model (which must outlive the engine).
  static Result<std::unique_ptr<LocalEngine>> start(const Model& model, const LocalEngineOptions& options);
  // Over any step runner (tests), with an optional lower KV tier (whose block size is the
  // runner's).
  static std::unique_ptr<LocalEngine> start(std::unique_ptr<StepRunner> runner, const LocalEngineOptions& options,
                                            std::unique_ptr<KvTier> tier = nullptr);
  ~LocalEngine() override;  // stops the thread; unfinished requests end with kCancelled

  Result<RequestId> submit(GenerateRequest request, std::shared_ptr<RequestSink> sink) override;
  void cancel(RequestId id) override;
  EngineStats stats() const override;

 private:
  LocalEngine(std::unique_ptr<StepRunner> runner, const LocalEngineOptions& options);
  void loop();

  struct Submission {
    RequestId id;
    GenerateRequest request;
    std::shared_ptr<RequestSink> sink;
  };

  std::unique_ptr<StepRunner> runner_;
  std::unique_ptr<KvTier> tier_;  // outlives the engine, which flushes into it on destruction
  BlockPool pool_;
  Engine engine_;
  std::atomic<RequestId> next_id_{1};

  mutable std::mutex mutex_;  // guards the inbox, the validation snapshot and stats_
  std::condition_variable cv_;
  std::deque<Submission> inbox_;
  std::vector<RequestId> cancels_;
  bool stop_ = false;
  EngineStats stats_;
  std::thread thread_;
};

}  // namespace parley
