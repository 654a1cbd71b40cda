// StepRunner: what the engine needs from a model to run a step: a batched forward pass that
// returns logits, and block copies for copy-on-write. ModelStepRunner is the real one (a
// ModelRunner over a KvCache); tests use fakes that need no model.
#pragma once

#include <memory>
#include <span>

#include "base/result.h"
#include "kv/kv_cache.h"
#include "model/model_runner.h"

namespace parley {

class StepRunner {
 public:
  virtual ~StepRunner() = default;
  virtual std::int32_t n_vocab() const = 0;
  // logits: [sequences wanting logits, n_vocab], in batch order.
  virtual Status forward(const ForwardBatch& batch, std::span<float> logits) = 0;
  virtual void copy_block(std::int32_t src, std::int32_t dst) = 0;
  // A block's KV as bytes, for a lower tier (kv/kv_tier.h); 0: this runner cannot (no tier).
  virtual std::size_t block_bytes() const { return 0; }
  virtual void read_block(std::int32_t /*block*/, std::span<std::byte> /*out*/) const {}
  virtual void write_block(std::int32_t /*block*/, std::span<const std::byte> /*in*/) {}
};

class ModelStepRunner final : public StepRunner {
 public:
  // Allocates a KV cache of `layout` on the model's backend and a runner for it.
  static Result<std::unique_ptr<ModelStepRunner>> create(const Model& model, const KvLayout& layout,
                                                         const RunnerOptions& options);
  std::int32_t n_vocab() const override { return static_cast<std::int32_t>(runner_->n_vocab()); }
  Status forward(const ForwardBatch& batch, std::span<float> logits) override { return runner_->forward(batch, logits); }
  void copy_block(std::int32_t src, std::int32_t dst) override { cache_->copy_block(src, dst); }
  std::size_t block_bytes() const override { return cache_->block_bytes(); }
  void read_block(std::int32_t block, std::span<std::byte> out) const override { cache_->read_block(block, out); }
  void write_block(std::int32_t block, std::span<const std::byte> in) override { cache_->write_block(block, in); }
  const KvCache& cache() const { return *cache_; }

 private:
  std::unique_ptr<KvCache> cache_;
  std::unique_ptr<ModelRunner> runner_;
};

}  // namespace parley
