// ReferenceMatcher: the brute-force twin of GrammarMatcher, for tests. Its state is the set of
// stacks spelled out (node ids, bottom first), advanced with its own plain expansion of calls and
// pops, and its mask tries every token's bytes on a copy of the state: no trie, no precomputed
// classification, no shared frames. Tests compare the two masks over many grammars, vocabularies
// and random walks. It follows the same rules: the same start bytes, end tokens, and stack depth
// limit. Slow (a mask costs about a microsecond per token of the vocabulary).
#pragma once

#include <memory>
#include <set>
#include <string_view>
#include <vector>

#include "grammar/compiled_grammar.h"
#include "grammar/token_mask.h"

namespace parley {

class ReferenceMatcher {
 public:
  explicit ReferenceMatcher(std::shared_ptr<const CompiledGrammar> grammar, bool at_output_start = true);

  void fill_mask(TokenMask& mask) const;
  bool accept(TokenId token);
  bool accept_bytes(std::string_view bytes);
  bool can_end() const { return can_end_; }
  bool is_complete() const { return ended_ || (stacks_.empty() && can_end_); }

 private:
  using Stack = std::vector<PdaNodeId>;
  struct State {
    std::set<Stack> stacks;
    bool can_end = false;
  };
  // Adds to `out` the stacks reading bytes reachable from `stack` without reading.
  void expand(const Stack& stack, State& out, std::set<Stack>& seen) const;
  // The state after `bytes`, or nothing (returns false).
  bool run(const State& from, std::string_view bytes, State& to) const;

  std::shared_ptr<const CompiledGrammar> grammar_;
  std::set<Stack> stacks_;
  bool can_end_ = false;
  bool ended_ = false;
  bool at_start_ = true;
};

}  // namespace parley
