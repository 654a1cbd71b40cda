// TokenCounts: how often each token occurs in a multiset of tokens, stored densely over the
// distinct tokens only. Penalties visit every distinct token once per sample() call, so iteration
// must be a flat array walk (not a hash-node chase) and memory must not scale with the vocabulary
// (a vocabulary-sized array per sequence costs ~1 MiB for 256K tokens, times every live sequence).
// Not thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "sampling/sampling_params.h"

namespace parley {

class TokenCounts {
 public:
  void add(TokenId token);
  // Removes one occurrence; the token must be present (CHECK).
  void remove(TokenId token);
  void clear();

  // Occurrences of `token` (0 when absent).
  std::int32_t count(TokenId token) const;

  // The distinct tokens and their counts, index-aligned, in no particular order.
  std::span<const TokenId> tokens() const { return tokens_; }
  std::span<const std::int32_t> counts() const { return counts_; }
  std::size_t size() const { return tokens_.size(); }
  bool empty() const { return tokens_.empty(); }

 private:
  std::unordered_map<TokenId, std::uint32_t> slot_of_;  // token -> index into tokens_/counts_
  std::vector<TokenId> tokens_;
  std::vector<std::int32_t> counts_;
};

}  // namespace parley
