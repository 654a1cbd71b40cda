// Tokenizer: text <-> token ids for a GGUF vocabulary, reproducing the reference tokenizers
// (SentencePiece for "llama" vocabularies, Hugging Face byte-level BPE for "gpt2" ones) exactly.
//
// Special tokens: user-defined tokens are always matched as whole units in the text (as Hugging
// Face does for added tokens); control tokens (<|im_start|>, <s>, ...) only when
// `parse_special` is set, so user text cannot inject them by default.
//
// Thread safety: immutable after creation; encode/decode may run on many threads at once.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "tokenizer/content_mask.h"
#include "tokenizer/token_trie.h"
#include "tokenizer/vocab.h"

namespace parley {

class GgufFile;
class PreTokenizer;

struct EncodeOptions {
  bool add_special = true;     // add BOS/EOS as the vocabulary's add_bos/add_eos flags say
  bool parse_special = false;  // match control-token texts such as "<|im_start|>" in the input
  // With parse_special: the text embeds untrusted strings masked with this mask. Special tokens
  // are matched as usual (placeholders keep the masked texts from matching), then each plain
  // fragment is unmasked and encoded as plain text (user-defined tokens still match).
  const ContentMask* content_mask = nullptr;
};

struct DecodeOptions {
  bool render_special = false;  // include the text of control tokens (e.g. "<|im_end|>")
  // Drop the C0 control characters but tab, line feed and carriage return, and DEL (U+0000..U+001F,
  // U+007F): text for people and databases. A model can emit them (byte tokens such as <0x00>),
  // and they are never meant: NUL cannot be stored in PostgreSQL text, ESC drives terminals.
  bool drop_controls = false;
};

// True for the characters DecodeOptions::drop_controls drops.
constexpr bool is_dropped_control(unsigned char c) {
  return (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F;
}

class Tokenizer {
 public:
  static Result<std::unique_ptr<Tokenizer>> from_gguf(const GgufFile& file);
  static Result<std::unique_ptr<Tokenizer>> from_vocab(std::unique_ptr<Vocab> vocab);

  virtual ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  const Vocab& vocab() const { return *vocab_; }
  std::int32_t n_tokens() const { return vocab_->size(); }

  std::vector<TokenId> encode(std::string_view text, const EncodeOptions& options = {}) const;

  // The tokens of `text`, or std::nullopt when it has more than `max_tokens` of them. A text of
  // more than max_tokens x max_token_bytes() bytes is refused before any work; otherwise encoding
  // stops at the first fragment, word or span that passes the budget. (A text whose whitespace
  // next to special tokens is stripped, or whose characters have no token at all, has fewer
  // tokens than its bytes imply: such a text over the byte bound is refused all the same.)
  std::optional<std::vector<TokenId>> encode_at_most(std::string_view text, std::size_t max_tokens,
                                                     const EncodeOptions& options = {}) const;

  // The most bytes of text one token can stand for (computed once per vocabulary).
  std::size_t max_token_bytes() const { return max_token_bytes_; }

  // The vocabulary's control-token texts, for ContentMask.
  const ControlTexts& control_texts() const { return *control_texts_; }

  // The bytes of a whole sequence. Like SentencePiece, the space that SPM vocabularies prepend
  // to the first word is removed. The result is the raw bytes the tokens stand for: it may be
  // invalid UTF-8 when the ids are (use StreamingDetokenizer for text that must be valid).
  std::string decode(std::span<const TokenId> ids, const DecodeOptions& options = {}) const;

  // The bytes one token stands for in the middle of a sequence ("" for an invalid id, and for
  // control tokens unless render_special).
  std::string token_piece(TokenId id, bool render_special = false) const;

  // The token's text as stored in the vocabulary (e.g. "▁Hello", "Ġworld", "<0x0A>").
  std::string_view token_text(TokenId id) const;

  // True when decode() strips one leading space from the first piece of a sequence.
  bool strips_leading_space() const { return vocab_->kind == VocabKind::kSpm && vocab_->add_space_prefix; }

 protected:
  explicit Tokenizer(std::unique_ptr<Vocab> vocab);
  // Encodes one fragment of plain text (no special tokens in it) and appends the ids.
  // `starts_text` is true for the first fragment and for fragments after a special token.
  // May stop once out->size() > out_max (after a word or span), leaving the rest unencoded.
  virtual void encode_fragment(std::string_view text, bool starts_text, std::size_t out_max,
                               std::vector<TokenId>* out) const = 0;

  std::unique_ptr<Vocab> vocab_;

 private:
  struct Fragment {
    std::size_t begin;
    std::size_t length;
    TokenId token;  // kNoToken for raw text
  };
  std::vector<Fragment> partition(std::string_view text, bool parse_special) const;
  // Appends the tokens of `text`; false (with the rest unencoded) once out->size() > out_max.
  bool encode_into(std::string_view text, const EncodeOptions& options, std::size_t out_max,
                   std::vector<TokenId>* out) const;
  // Encodes a raw fragment, first refusing it when its bytes alone would pass out_max.
  bool encode_raw(std::string_view raw, bool starts_text, std::size_t out_max, std::vector<TokenId>* out) const;

  std::vector<TokenId> special_by_length_;  // tokens matched in text, longest first
  TokenTrie special_trie_;                  // the same tokens, to find which occur in a text
  std::unique_ptr<ControlTexts> control_texts_;
  std::size_t max_token_bytes_ = 4;
  // A byte-level BPE vocabulary without a token for some byte and without <unk> (Falcon: some
  // control bytes, 0xC0, 0xC1, 0xF2, 0xF5..0xFF): such bytes give no token, so a fragment's bytes
  // do not bound its tokens below.
  bool drops_bytes_ = false;
};

}  // namespace parley
