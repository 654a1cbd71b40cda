#include "model/hparams.h"

#include "gguf/gguf_file.h"

namespace parley {

std::string arch_key(std::string_view arch, std::string_view suffix) {
  std::string key(arch);
  key += '.';
  key += suffix;
  return key;
}

Result<ModelHParams> read_hparams(const GgufFile& file) {
  ModelHParams h;
  ASSIGN_OR_RETURN(h.arch, file.get<std::string>(kKeyGeneralArchitecture));
  const auto key = [&h](std::string_view suffix) { return arch_key(h.arch, suffix); };
  ASSIGN_OR_RETURN(h.n_ctx_train, file.get<std::int64_t>(key("context_length")));
  ASSIGN_OR_RETURN(h.n_embd, file.get<std::int64_t>(key("embedding_length")));
  ASSIGN_OR_RETURN(h.n_layer, file.get<std::int64_t>(key("block_count")));
  ASSIGN_OR_RETURN(h.n_ff, file.get<std::int64_t>(key("feed_forward_length")));
  ASSIGN_OR_RETURN(h.n_head, file.get<std::int64_t>(key("attention.head_count")));
  ASSIGN_OR_RETURN(h.n_head_kv, file.get<std::int64_t>(key("attention.head_count_kv"), h.n_head));
  if (h.n_embd <= 0 || h.n_layer <= 0 || h.n_ff <= 0 || h.n_head <= 0 || h.n_head_kv <= 0 || h.n_ctx_train <= 0) {
    return invalid_argument_error("{}: hyperparameters must be positive (embd {}, layers {}, ff {}, heads {}/{}, ctx {})",
                                  h.arch, h.n_embd, h.n_layer, h.n_ff, h.n_head, h.n_head_kv, h.n_ctx_train);
  }
  if (h.n_head % h.n_head_kv != 0) {
    return invalid_argument_error("{}: head_count_kv {} does not divide head_count {}", key("attention.head_count_kv"),
                                  h.n_head_kv, h.n_head);
  }
  const std::int64_t default_head_dim = h.n_embd % h.n_head == 0 ? h.n_embd / h.n_head : 0;
  ASSIGN_OR_RETURN(h.head_dim_k, file.get<std::int64_t>(key("attention.key_length"), default_head_dim));
  ASSIGN_OR_RETURN(h.head_dim_v, file.get<std::int64_t>(key("attention.value_length"), h.head_dim_k));
  if (h.head_dim_k <= 0 || h.head_dim_v <= 0) {
    return invalid_argument_error("{}: embedding_length {} is not a multiple of head_count {} and no key_length is given",
                                  h.arch, h.n_embd, h.n_head);
  }
  ASSIGN_OR_RETURN(h.n_rot, file.get<std::int64_t>(key("rope.dimension_count"), h.head_dim_k));
  if (h.n_rot <= 0 || h.n_rot > h.head_dim_k || h.n_rot % 2 != 0) {
    return invalid_argument_error("{} = {} must be even and at most the head size {}", key("rope.dimension_count"), h.n_rot,
                                  h.head_dim_k);
  }
  std::int64_t n_tokens = 0;
  if (const GgufValue* tokens = file.find("tokenizer.ggml.tokens"); tokens && tokens->type() == GgufValueType::kArray) {
    n_tokens = static_cast<std::int64_t>(tokens->arr().count);
  }
  ASSIGN_OR_RETURN(h.n_vocab, file.get<std::int64_t>(key("vocab_size"), n_tokens));
  ASSIGN_OR_RETURN(h.rms_norm_eps, file.get<float>(key("attention.layer_norm_rms_epsilon"), h.rms_norm_eps));
  ASSIGN_OR_RETURN(h.rope_freq_base, file.get<float>(key("rope.freq_base"), h.rope_freq_base));
  ASSIGN_OR_RETURN(h.rope_scaling_type, file.get<std::string>(key("rope.scaling.type"), std::string()));
  ASSIGN_OR_RETURN(h.rope_scaling_factor, file.get<float>(key("rope.scaling.factor"), h.rope_scaling_factor));
  ASSIGN_OR_RETURN(h.rope_scaling_orig_ctx,
                   file.get<std::int64_t>(key("rope.scaling.original_context_length"), h.rope_scaling_orig_ctx));
  if (!(h.rms_norm_eps > 0.0f) || !(h.rope_freq_base > 0.0f)) {
    return invalid_argument_error("{}: rms epsilon {} and rope freq_base {} must be positive", h.arch, h.rms_norm_eps,
                                  h.rope_freq_base);
  }
  return h;
}

}  // namespace parley
