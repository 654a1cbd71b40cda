// LocalModel: a model file served in this process: its weights bound on a backend and a running
// LocalEngine over them. What `parley serve` (gateway/served_model.h) and `parley worker`
// (worker/worker_service.h) both load; neither the tokenizer nor the chat template is here.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "engine/local_engine.h"
#include "gguf/gguf_file.h"
#include "kernels/backend.h"
#include "model/model.h"

namespace parley {

struct LocalModelOptions {
  std::string path;
  int threads = 0;                      // CPU threads (0 = all cores)
  std::int32_t n_ctx = 0;               // 0 = the model's training context
  std::int64_t max_batch_tokens = 512;  // engine step budget
  std::int32_t max_running = 16;        // sequences generating at once
  std::int32_t max_waiting = 256;       // queued requests before 429
  // Latency target of an engine step, ms: what running streams wait between two tokens while
  // prompts are read beside them. Negative: the backend's default (default_target_itl_ms); 0: none.
  double target_itl_ms = -1;
  std::int32_t max_prefill_per_tenant = 2;  // prompts one user has in prefill at once (0: no bound)
  std::int64_t kv_cache_bytes = std::int64_t{2} << 30;
  // The KV disk tier (LocalEngineOptions::kv_disk_bytes): 0 bytes is none; an empty directory is
  // filled in by serve and worker (under the data directory).
  std::int64_t kv_disk_bytes = 0;
  std::string kv_disk_dir;
  // How the KV cache stores keys and values: F16, or Q8_0 (8-bit blocks, about half the bytes per
  // token, so about twice the tokens in kv_cache_bytes; needs a head size that is a multiple of 32).
  TensorType kv_type = TensorType::kF16;
  std::string backend = "cpu";
};

// "f16" or "q8_0" (any case): the KV types a served model may use.
Result<TensorType> parse_kv_type(std::string_view name);

class LocalModel {
 public:
  // Binds the weights of `file` (opened from options.path) and starts the engine; `eog_tokens`
  // are the vocabulary's end-of-generation tokens.
  static Result<std::unique_ptr<LocalModel>> start(std::shared_ptr<const GgufFile> file,
                                                   const LocalModelOptions& options,
                                                   std::vector<std::int32_t> eog_tokens);
  ~LocalModel();  // stops the engine first (its requests end with kCancelled)

  LocalEngine& engine() const { return *engine_; }
  const Model& model() const { return *model_; }
  const Backend& backend() const { return *backend_; }
  std::int32_t n_ctx() const { return n_ctx_; }

 private:
  LocalModel() = default;
  std::shared_ptr<const GgufFile> file_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<Model> model_;
  std::int32_t n_ctx_ = 0;
  std::unique_ptr<LocalEngine> engine_;
};

}  // namespace parley
