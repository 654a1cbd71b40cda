// llama: Llama 2/3.x, Mistral, TinyLlama, SmolLM, DeepSeek-R1-Distill-Llama. RMSNorm, RoPE on
// interleaved pairs (GGUF converters permute Q/K for it), grouped-query attention, SwiGLU;
// Llama 3 frequency scaling comes as the optional rope_freqs.weight tensor.
#include "model/architecture.h"

namespace parley {
namespace {

class Llama final : public Architecture {
 public:
  std::string_view name() const override { return "llama"; }
  ArchTraits traits() const override { return {}; }
};

}  // namespace

const Architecture& llama_architecture() {
  static const Llama arch;
  return arch;
}

}  // namespace parley
