// Vocab: a tokenizer's vocabulary as stored in GGUF metadata (tokenizer.ggml.*): token texts,
// scores, types, merges and special-token ids, validated and indexed. Immutable after loading;
// not copyable (the text index points into the token strings).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/result.h"

namespace parley {

class GgufFile;

using TokenId = std::int32_t;
inline constexpr TokenId kNoToken = -1;

// GGUF tokenizer keys.
inline constexpr std::string_view kKeyTokenizerModel = "tokenizer.ggml.model";
inline constexpr std::string_view kKeyTokenizerPre = "tokenizer.ggml.pre";
inline constexpr std::string_view kKeyTokenizerTokens = "tokenizer.ggml.tokens";
inline constexpr std::string_view kKeyTokenizerScores = "tokenizer.ggml.scores";
inline constexpr std::string_view kKeyTokenizerTokenType = "tokenizer.ggml.token_type";
inline constexpr std::string_view kKeyTokenizerMerges = "tokenizer.ggml.merges";
inline constexpr std::string_view kKeyTokenizerBos = "tokenizer.ggml.bos_token_id";
inline constexpr std::string_view kKeyTokenizerEos = "tokenizer.ggml.eos_token_id";
inline constexpr std::string_view kKeyTokenizerEot = "tokenizer.ggml.eot_token_id";
inline constexpr std::string_view kKeyTokenizerEom = "tokenizer.ggml.eom_token_id";
inline constexpr std::string_view kKeyTokenizerUnk = "tokenizer.ggml.unknown_token_id";
inline constexpr std::string_view kKeyTokenizerPad = "tokenizer.ggml.padding_token_id";
inline constexpr std::string_view kKeyTokenizerSep = "tokenizer.ggml.seperator_token_id";  // sic, as in GGUF
inline constexpr std::string_view kKeyTokenizerAddBos = "tokenizer.ggml.add_bos_token";
inline constexpr std::string_view kKeyTokenizerAddEos = "tokenizer.ggml.add_eos_token";
inline constexpr std::string_view kKeyTokenizerAddSpacePrefix = "tokenizer.ggml.add_space_prefix";
inline constexpr std::string_view kKeyTokenizerChatTemplate = "tokenizer.chat_template";

// Token types as stored in tokenizer.ggml.token_type.
enum class TokenType : std::uint8_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

// Attributes derived from the type plus model-specific rules.
enum TokenAttr : std::uint8_t {
  kAttrLstrip = 1,  // when matched as a special token, swallow whitespace to its left
  kAttrRstrip = 2,  // ... and to its right
};

enum class VocabKind {
  kSpm,  // SentencePiece BPE with byte fallback ("llama": Llama 2, Mistral, Phi-3)
  kBpe,  // byte-level BPE ("gpt2": Llama 3, Qwen2, GPT-2, DeepSeek, Falcon, ...)
};

struct Vocab {
  VocabKind kind = VocabKind::kSpm;
  std::string model;  // tokenizer.ggml.model
  std::string pre;    // tokenizer.ggml.pre ("default" when absent)
  std::string name;   // general.name, for model-specific rules

  std::vector<std::string> tokens;
  std::vector<float> scores;          // SPM merge priorities (0 when absent)
  std::vector<TokenType> types;
  std::vector<std::uint8_t> attrs;    // TokenAttr bits
  std::vector<std::pair<std::string, std::string>> merges;  // BPE, in rank order

  TokenId bos = kNoToken;
  TokenId eos = kNoToken;
  TokenId eot = kNoToken;
  TokenId eom = kNoToken;
  TokenId unk = kNoToken;
  TokenId pad = kNoToken;
  TokenId sep = kNoToken;
  bool add_bos = false;
  bool add_eos = false;
  bool add_space_prefix = false;  // SPM: prepend a space to text that starts a fragment
  bool ignore_merges = false;     // BPE: a word that is itself a token is not merged (Llama 3)
  std::vector<TokenId> eog;       // end-of-generation tokens (eos, eot, eom and known end markers)
  std::string chat_template;      // tokenizer.chat_template, empty when absent

  Vocab() = default;
  Vocab(const Vocab&) = delete;
  Vocab& operator=(const Vocab&) = delete;

  std::int32_t size() const { return static_cast<std::int32_t>(tokens.size()); }
  bool valid(TokenId id) const { return id >= 0 && id < size(); }
  // The id of a token text, or kNoToken. When a text appears twice, the later id wins.
  TokenId find(std::string_view text) const {
    const auto it = index.find(text);
    return it == index.end() ? kNoToken : it->second;
  }
  bool is_eog(TokenId id) const;
  // Control, unknown and user-defined tokens: the ones matched as whole units in text.
  bool is_special(TokenId id) const {
    const TokenType t = types[static_cast<std::size_t>(id)];
    return t == TokenType::kControl || t == TokenType::kUnknown || t == TokenType::kUserDefined;
  }

  std::unordered_map<std::string_view, TokenId> index;
};

// The byte of an SPM byte-fallback token text "<0xAB>", or -1 when `text` is not one.
int parse_byte_token(std::string_view text);

// Reads and validates the tokenizer.* metadata of a GGUF file. Errors name the offending key.
// Supports tokenizer.ggml.model "llama" (SPM) and "gpt2" (byte-level BPE).
Result<std::unique_ptr<Vocab>> load_vocab(const GgufFile& file);

}  // namespace parley
