// GrammarMatcher: where one sequence stands in a compiled grammar, advanced token by token, and
// the mask of the tokens allowed next.
//
// fill_mask() costs, per distinct stack top, a copy (or OR) of the node's precomputed accepted
// set plus a walk of its short uncertain list against the real stacks (compiled_grammar.h); a
// full walk of the vocabulary trie happens only for the first token of a SentencePiece output
// (whose leading space the detokenizer drops) and for stacks nested within a token's reach of
// GrammarLimits::max_stack_depth.
//
// End-of-generation tokens (TokenVocabulary::eog) are allowed exactly where the grammar may end;
// once nothing but them can follow, is_complete() is true and the engine ends the sequence.
// Nothing else is ever allowed after the end.
//
// A matcher is a value: copying it (n > 1 choices, speculative checks) copies a few small vectors
// (the stacks are compacted after every token). The compiled grammar is shared.
// Not thread-safe; one sequence, one thread at a time.
#pragma once

#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "grammar/compiled_grammar.h"
#include "grammar/stack_machine.h"
#include "grammar/token_mask.h"

namespace parley {

class GrammarMatcher {
 public:
  // `at_output_start`: the grammar's text starts with the first generated token, where
  // SentencePiece vocabularies drop a leading space (TokenVocabulary::start_bytes); false for a
  // grammar that takes over in the middle of an output (e.g. after a tool-call trigger token).
  explicit GrammarMatcher(std::shared_ptr<const CompiledGrammar> grammar, bool at_output_start = true);

  // Sets `mask` (resized to the vocabulary) to the tokens allowed next. Empty only when the
  // matcher has ended (or in a pathological grammar that is too ambiguous: the engine then ends
  // the request with an error).
  void fill_mask(TokenMask& mask);
  // Advances by a token; false (and no change) when the token is not allowed.
  bool accept(TokenId token);
  // Advances by raw bytes (tests, and callers that forced text); false (no change) if rejected.
  bool accept_bytes(std::string_view bytes);
  // Whether `token` would be accepted (a copy tries it).
  bool allows(TokenId token) const;

  // The grammar may end here (end-of-generation tokens are allowed).
  bool can_end() const { return can_end_; }
  // Nothing but the end can follow: the output is complete.
  bool is_complete() const { return ended_ || (tops_.empty() && can_end_); }
  // An end-of-generation token was accepted.
  bool ended() const { return ended_; }
  std::size_t n_stacks() const { return tops_.size(); }
  const CompiledGrammar& grammar() const { return *grammar_; }

 private:
  bool advance_bytes(std::string_view bytes);
  // Adds the tokens of `list` that the stacks `init` accept.
  void walk_list(std::span<const UncertainToken> list, std::span<const std::uint32_t> init, TokenMask& mask);
  // Adds every token of `trie` that the stacks `init` accept (an exact walk, no precomputation).
  void walk_trie(const VocabTrie& trie, std::span<const std::uint32_t> init, TokenMask& mask);
  void add_eog(TokenMask& mask) const;
  std::vector<std::uint32_t>& level(std::size_t d);

  std::shared_ptr<const CompiledGrammar> grammar_;
  StackMachine machine_;
  std::vector<std::uint32_t> tops_;
  bool can_end_ = false;
  bool ended_ = false;
  bool at_start_ = true;
  // Scratch for walks (kept between calls to avoid allocations; not part of the state).
  std::vector<std::vector<std::uint32_t>> levels_;
  std::vector<std::size_t> marks_;
  std::vector<bool> ends_;
  std::vector<std::uint32_t> group_;
  std::vector<PdaNodeId> group_nodes_;
};

}  // namespace parley
