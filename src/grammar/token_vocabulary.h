// TokenVocabulary: what the grammar engine needs to know about a tokenizer, built once per model
// and shared (immutable, any thread) by every grammar compiled for it.
//
// Each token stands for the bytes it adds in the middle of a sequence (Tokenizer::token_piece:
// byte-level BPE's "Ġ" pieces decoded to bytes, SentencePiece's "▁" as a space, <0xNN> byte-fallback
// tokens as their byte), so a character split across tokens is simply bytes split across tokens.
// Tokens a grammar can never produce have no bytes here:
//   - end-of-generation tokens (allowed only where the grammar may end, by the matcher);
//   - control tokens, which are spelled instead as 0xFF + their id in three bytes, a spelling only
//     Grammar::special_token matches (so no text grammar ever allows them);
//   - unknown, unused and undefined tokens, tokens with no bytes, and tokens whose bytes contain
//     0xFF (never valid UTF-8, and it would collide with the spelling of control tokens).
// User-defined tokens (e.g. <tool_call>, <think> in Qwen and DeepSeek files) are text: the
// tokenizer matches them in any text and the detokenizer prints them, so they stand for their
// text here too and are allowed wherever that text is.
//
// SentencePiece vocabularies drop the space that begins the first token of a sequence when
// decoding (Tokenizer::strips_leading_space), and so does the detokenizer that turns a reply into
// text: a matcher that starts at the beginning of the output uses start_bytes() for its first
// token. Both byte strings of every token are indexed in a trie (tokens sorted by bytes, laid out
// depth first, each node knowing where its subtree ends) so that a walk skips a whole subtree when
// the grammar rejects its prefix.
//
// Slices: a token whose bytes are whole characters of "plain string text" (valid UTF-8, no '"',
// '\\' or control character below 0x20) is in slice S; S_L holds those of at most L characters.
// Grammar states that accept every plain text of up to L characters accept S_L wholesale, and the
// walk skips subtrees that lie inside it (this is what makes masks inside JSON strings cheap).
// The same again for plain text of the Basic Multilingual Plane only (no 4-byte character; JSON
// strings under a maxLength read only those): Plain::kBmp.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "grammar/byte_set.h"
#include "grammar/token_mask.h"
#include "tokenizer/tokenizer.h"

namespace parley {

// A token trie in depth-first order. Node 0 is the root (no byte); node i's subtree is
// [i, end(i)); its children follow it. Nodes are stored as one array of small records, so that a
// walk touches one cache line per few nodes.
class VocabTrie {
 public:
  std::size_t size() const { return nodes_.empty() ? 0 : nodes_.size() - 1; }
  std::uint8_t byte(std::size_t i) const { return nodes_[i].byte; }
  std::uint16_t depth(std::size_t i) const { return nodes_[i].depth; }
  std::uint32_t end(std::size_t i) const { return nodes_[i].end; }
  // The tokens whose bytes end at node i.
  std::span<const TokenId> tokens(std::size_t i) const {
    return {tokens_.data() + nodes_[i].tokens, nodes_[i + 1].tokens - nodes_[i].tokens};
  }
  // The tokens strictly below node i.
  std::span<const TokenId> tokens_below(std::size_t i) const {
    return {tokens_.data() + nodes_[i + 1].tokens, nodes_[nodes_[i].end].tokens - nodes_[i + 1].tokens};
  }
  // The most characters of a token in node i's subtree when all of them are in slice S of kind
  // `p` (TokenVocabulary::Plain); 255 when some is not.
  std::uint8_t subtree_plain_chars(std::size_t i, int p = 0) const { return nodes_[i].plain[p]; }
  // The characters of node i's path when it is whole characters of plain text of kind `p`; 255
  // otherwise.
  std::uint8_t prefix_plain_chars(std::size_t i, int p = 0) const { return nodes_[i].prefix[p]; }
  // The most bytes a token below node i has after node i's path (255 at most).
  std::uint8_t below_length(std::size_t i) const { return nodes_[i].below_length; }
  // The bytes of the nodes strictly below node i; nullptr when i has fewer than
  // kBelowBytesMin nodes below it (a walk is as cheap as the test then).
  static constexpr std::uint32_t kBelowBytesMin = 8;
  const ByteSet* below_bytes(std::size_t i) const {
    const std::uint32_t k = nodes_[i].below_set;
    return k == 0 ? nullptr : &below_bytes_[k - 1];
  }
  // The child of the root for a first byte (0: none).
  std::uint32_t root_child(std::uint8_t byte) const { return root_children_[byte]; }
  // Every token of the trie in byte order.
  std::span<const TokenId> all_tokens() const { return tokens_; }

  // Builds the trie of `entries` (token, bytes), bytes not empty.
  // `plain_chars`: per kind of plain text, per token, its characters or -1 (may be empty).
  static VocabTrie build(std::vector<std::pair<std::string_view, TokenId>> entries,
                         std::array<std::span<const std::int8_t>, 2> plain_chars);

 private:
  struct Node {
    std::uint32_t end = 0;        // past the subtree
    std::uint32_t tokens = 0;     // offset of the node's tokens (they end where the next node's begin)
    std::uint32_t below_set = 0;  // 1 + index into below_bytes_, or 0
    std::uint16_t depth = 0;
    std::uint8_t byte = 0;
    std::uint8_t plain[2] = {255, 255};
    std::uint8_t prefix[2] = {255, 255};
    std::uint8_t below_length = 0;
  };
  std::vector<Node> nodes_;  // size() + 1: a last record holds the end of the tokens
  std::vector<TokenId> tokens_;
  std::vector<ByteSet> below_bytes_;
  std::array<std::uint32_t, 256> root_children_{};
};

class TokenVocabulary {
 public:
  // Slice levels (characters); the last stands for any length.
  static constexpr std::array<int, 25> kSliceLevels = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13,
                                                       14, 15, 16, 20, 24, 28, 32, 40, 48, 56, 64, 254};

  static std::shared_ptr<const TokenVocabulary> create(const Tokenizer& tokenizer);

  std::int32_t n_tokens() const { return n_tokens_; }
  // The bytes a token adds in the middle of a sequence; empty when no grammar can produce it.
  std::string_view bytes(TokenId id) const {
    const auto i = static_cast<std::size_t>(id);
    return {buffer_.data() + offsets_[i], offsets_[i + 1] - offsets_[i]};
  }
  // The bytes of a token that starts the output (see above).
  std::string_view start_bytes(TokenId id) const {
    const std::string_view b = bytes(id);
    return strips_leading_space_ && !b.empty() && b[0] == ' ' ? b.substr(1) : b;
  }
  bool strips_leading_space() const { return strips_leading_space_; }
  const std::vector<TokenId>& eog() const { return eog_; }
  bool is_eog(TokenId id) const;
  const VocabTrie& trie() const { return trie_; }
  // The trie of start_bytes(); the same as trie() when nothing is stripped.
  const VocabTrie& start_trie() const { return strips_leading_space_ ? start_trie_ : trie_; }
  // The kinds of plain text: any plain character, or only those of the Basic Multilingual Plane.
  enum Plain : int { kAnyPlain = 0, kBmp = 1 };
  // The number of characters of a token in slice S of kind `p`, or -1.
  std::int8_t plain_chars(TokenId id, int p = kAnyPlain) const { return plain_chars_[p][static_cast<std::size_t>(id)]; }
  // Slice S_L of kind `p` for kSliceLevels[level].
  const TokenMask& slice(std::size_t level, int p = kAnyPlain) const { return slices_[p][level]; }
  // Identifies the vocabulary (bytes, kinds, end tokens) for caches.
  std::uint64_t fingerprint() const { return fingerprint_; }

 private:
  TokenVocabulary() = default;

  std::int32_t n_tokens_ = 0;
  std::string buffer_;
  std::vector<std::uint32_t> offsets_;
  std::vector<TokenId> eog_;
  std::array<std::vector<std::int8_t>, 2> plain_chars_;
  std::array<std::vector<TokenMask>, 2> slices_;
  bool strips_leading_space_ = false;
  VocabTrie trie_;
  VocabTrie start_trie_;
  std::uint64_t fingerprint_ = 0;
};

}  // namespace parley
