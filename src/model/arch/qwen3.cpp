// qwen3: Qwen3 dense models. No Q/K/V biases; instead an RMSNorm over each head of Q and K before
// RoPE (NeoX style); head size given by attention.key_length, often not n_embd / n_head.
#include "model/architecture.h"

namespace parley {
namespace {

class Qwen3 final : public Architecture {
 public:
  std::string_view name() const override { return "qwen3"; }
  ArchTraits traits() const override { return {.rope_neox = true, .attn_qk_norm = true}; }
};

}  // namespace

const Architecture& qwen3_architecture() {
  static const Qwen3 arch;
  return arch;
}

}  // namespace parley
