// Built-in vocabularies that need no file from outside the repository. "builtin:bytes" is a
// small byte-level BPE vocabulary (256 byte tokens, merges learned from kBuiltinCorpus, and the
// ChatML special tokens) with a ChatML chat template: the tokenizer of the demo model.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "gguf/gguf_value.h"

namespace parley {

extern const std::string_view kBuiltinCorpus;

inline constexpr std::string_view kBuiltinVocabPrefix = "builtin:";
inline constexpr int kBuiltinBytesVocabSize = 768;

// Parley's ChatML template, with its built-in tool format (tokenizer/chatml_template.cpp documents
// the exact text): the built-in vocabulary's, and chat::builtin_chatml_template().
extern const std::string_view kChatMlTemplate;

// The tokenizer.* metadata of a built-in vocabulary by name ("bytes"), ready for GgufWriter.
// Deterministic: the same entries every time.
Result<std::vector<std::pair<std::string, GgufValue>>> builtin_vocab_metadata(std::string_view name);

// Appends tokens to tokenizer.* metadata (any vocabulary: the token list, the token types and,
// where the vocabulary has them, the scores), as a fine-tuned model's added tokens are: Qwen 2.5's
// <tool_call> and <think> on the Qwen 2 vocabulary. `type` is the GGUF token type (4, user-defined,
// is matched in text like Qwen's added tokens; 3, control, only in template markup). A token the
// vocabulary already has is kInvalidArgument, as is metadata without a token list.
Status add_vocab_tokens(std::vector<std::pair<std::string, GgufValue>>& metadata, const std::vector<std::string>& texts,
                        std::int32_t type);

}  // namespace parley
