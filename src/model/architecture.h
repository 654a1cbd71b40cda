// Architectures: what distinguishes the decoder families Parley runs, keyed by the GGUF key
// general.architecture. One file per architecture under model/arch/ defines its traits and the
// tensors it needs; adding one is a new file plus a line in architecture.cpp's registry.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "model/hparams.h"
#include "model/weights.h"

namespace parley {

class GgufFile;
class Backend;

struct ArchTraits {
  bool rope_neox = false;      // RoPE pairs (i, i + n_rot/2) instead of (2i, 2i+1)
  bool attn_qkv_bias = false;  // Q/K/V projections have biases (Qwen2)
  bool attn_qk_norm = false;   // per-head RMSNorm of Q and K before RoPE (Qwen3)
};

class TensorBinder;

class Architecture {
 public:
  virtual ~Architecture() = default;
  virtual std::string_view name() const = 0;
  virtual ArchTraits traits() const = 0;
  // Binds the tensors of the file to `weights`; errors name what is missing or mis-shaped.
  virtual Status bind(const ModelHParams& h, TensorBinder& binder, ModelWeights* weights) const;
};

// The architecture registered under `name`, or an error listing the supported ones.
Result<const Architecture*> find_architecture(std::string_view name);
std::span<const Architecture* const> architectures();

// Looks tensors up by name, checks their shapes and types, and prepares them on a backend.
class TensorBinder {
 public:
  TensorBinder(const GgufFile& file, Backend& backend) : file_(file), backend_(backend) {}
  // A matrix [n_out, n_in] (GGUF shape [n_in, n_out]) prepared for `use`.
  Result<WeightView> matrix(std::string_view name, std::int64_t n_in, std::int64_t n_out,
                            WeightUse use = WeightUse::kMatmul);
  // A vector of n floats (converted to F32 when stored otherwise).
  Result<WeightView> vector(std::string_view name, std::int64_t n);
  bool has(std::string_view name) const;
  // Backend memory the binder allocated (converted vectors); the caller frees it with the model.
  std::vector<void*> take_allocations() { return std::move(allocations_); }
  // Drops from resident memory the file pages of tensors that were only copied (repacked,
  // converted or uploaded), keeping every page that a bound view still reads in place (embedding
  // rows, norms). Returns the bytes of file released. Call once, after binding.
  std::uint64_t release_copied_pages() const;

 private:
  // Records whether the bytes of `file_range` are read in place (`view` points into them) or
  // were copied.
  void note(std::span<const std::byte> file_range, const void* view);
  const GgufFile& file_;
  Backend& backend_;
  std::vector<void*> allocations_;
  std::vector<std::span<const std::byte>> copied_;  // tensors whose file bytes nothing reads
  std::vector<std::span<const std::byte>> direct_;  // tensors read in place
};

// Shared by the llama-family architectures: binds the standard tensors, optional ones per traits.
Status bind_llama_family(const ModelHParams& h, const ArchTraits& traits, TensorBinder& binder, ModelWeights* w);

const Architecture& llama_architecture();
const Architecture& qwen2_architecture();
const Architecture& qwen3_architecture();

}  // namespace parley
