// TokenTrie: a byte trie over a set of token texts, to find which of them occur at a position of
// a text with work bounded by the longest text, instead of one search per token (vocabularies
// have hundreds of special tokens: Llama 3 has 256).
//
// Thread safety: immutable once built; lookups may run on many threads at once.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenizer/vocab.h"

namespace parley {

class TokenTrie {
 public:
  TokenTrie() { root_.fill(-1); }

  // Adds a non-empty text; a text added twice keeps the later id.
  void insert(std::string_view text, TokenId id);
  bool empty() const { return nodes_.empty(); }

  // Calls f(id, length) for every inserted text that occurs at text[pos], shortest first.
  template <typename F>
  void for_each_match(std::string_view text, std::size_t pos, F&& f) const {
    std::int32_t node = -1;
    for (std::size_t i = pos; i < text.size(); ++i) {
      node = child(node, static_cast<unsigned char>(text[i]));
      if (node < 0) return;
      const TokenId id = nodes_[static_cast<std::size_t>(node)].id;
      if (id != kNoToken) f(id, i + 1 - pos);
    }
  }

  // True when some inserted text starts at text[pos].
  bool matches_at(std::string_view text, std::size_t pos) const;
  // False when no inserted text starts with byte `b` (a cheap first test before matches_at).
  bool may_start_with(unsigned char b) const { return root_[b] >= 0; }

  // True when `s` (non-empty) is a proper prefix of some inserted text: a text that begins with
  // `s` would go on past its end.
  bool is_proper_prefix(std::string_view s) const;

 private:
  struct Node {
    std::vector<std::pair<unsigned char, std::int32_t>> children;  // sorted by byte
    TokenId id = kNoToken;
  };
  // The child of `node` (-1: the root) on byte `b`, or -1.
  std::int32_t child(std::int32_t node, unsigned char b) const;

  std::array<std::int32_t, 256> root_{};
  std::vector<Node> nodes_;
};

}  // namespace parley
