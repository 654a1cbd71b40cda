// qwen2: Qwen1.5/Qwen2/Qwen2.5 and DeepSeek-R1-Distill-Qwen. As llama, plus biases on the Q/K/V
// projections and NeoX-style RoPE; small models tie the output layer to the embeddings.
#include "model/architecture.h"

namespace parley {
namespace {

class Qwen2 final : public Architecture {
 public:
  std::string_view name() const override { return "qwen2"; }
  ArchTraits traits() const override { return {.rope_neox = true, .attn_qkv_bias = true}; }
};

}  // namespace

const Architecture& qwen2_architecture() {
  static const Qwen2 arch;
  return arch;
}

}  // namespace parley
