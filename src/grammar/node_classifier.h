// NodeClassifier: the ahead-of-time classification of the vocabulary for one automaton node
// (accepted / uncertain / rejected, see compiled_grammar.h). Private to src/grammar.
//
// It walks the vocabulary trie from the node, child by child, skipping every child whose byte no
// live stack can read (a set test, no step of the machine). Inside a rule the state is a single
// node advanced by table lookups; stacks (calls, pops, guesses at the caller) go through the
// StackMachine. Wherever the state is a single node at a character boundary that reads every
// plain text of up to L characters (PlainTextCheck), a subtree whose tokens are all plain text
// short enough is accepted whole without being walked, and at the root the slices of the
// vocabulary do the same with a bitset.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "grammar/compiled_grammar.h"
#include "grammar/stack_machine.h"

namespace parley {

// How much plain text a node reads for sure within its rule, memoized per node.
class PlainTextCheck {
 public:
  static constexpr std::int16_t kAny = 254;

  PlainTextCheck(const Pda& pda, int max_depth);

  struct Level {
    std::int16_t chars = 0;   // every plain text of up to this many characters is read (kAny: any)
    std::uint16_t reach = 0;  // the largest Pda::need along those texts
  };
  // `plain`: the kind of plain text (TokenVocabulary::Plain).
  const Level& level(PdaNodeId node, int plain = TokenVocabulary::kAnyPlain);

  // Every string over `bytes` (ASCII) of up to `length` bytes is read within the rule (255: any
  // length): a subtree whose bytes below are all in `bytes` and not longer is accepted whole.
  struct ByteLevel {
    ByteSet bytes;
    std::uint8_t length = 0;
    std::uint16_t reach = 0;
  };
  const ByteLevel& byte_level(PdaNodeId node);

 private:
  Level compute(PdaNodeId node, int plain);
  ByteLevel compute_bytes(PdaNodeId node) const;
  // One byte per byte class of `set`.
  std::vector<std::uint8_t> representatives(const ByteSet& set) const;
  // Appends the nodes reached from x by every plain character; false if one is not readable.
  bool step(PdaNodeId x, int plain, std::vector<PdaNodeId>& out) const;
  bool walk_form(PdaNodeId x, std::size_t form, int pos, std::vector<PdaNodeId>& out) const;

  const Pda& pda_;
  int max_depth_;
  std::vector<std::uint8_t> ascii_;               // one plain ASCII byte per byte class
  std::vector<std::vector<std::uint8_t>> forms_;  // per UTF-8 form and position: one byte per class
  std::vector<Level> memo_[2];
  std::vector<bool> known_[2];
  std::vector<PdaNodeId> chain_;
  std::vector<ByteLevel> byte_memo_;
  std::vector<bool> byte_known_;
};

class NodeClassifier {
 public:
  NodeClassifier(const Pda& pda, const TokenVocabulary& vocab, const GrammarLimits& limits);

  NodeMask classify(PdaNodeId node);
  // Trie nodes visited so far.
  std::int64_t visits() const { return visits_; }

 private:
  void ensure_depth(std::size_t d);
  // Trie node i at depth d (its parent's level is computed).
  void visit(std::size_t i, std::size_t d);
  // The parent level's stacks: the fast level's single frame made explicit, or the stacks.
  std::vector<std::uint32_t>& parent_states(std::size_t d);
  // Node i through the stack machine; false when its subtree is done.
  bool general_step(std::size_t i, std::size_t d);
  bool in_slice(TokenId t) const;
  void add_uncertain(TokenId t);
  void accept_below(std::size_t i);

  const Pda& pda_;
  const TokenVocabulary& vocab_;
  const VocabTrie& trie_;
  StackMachine machine_;
  PlainTextCheck plain_;
  int slice_chars_ = -1;  // the slice accepted at the root, in characters (-1: none)
  int slice_plain_ = 0;   // and its kind of plain text
  std::uint16_t reach_ = 0;
  std::int64_t visits_ = 0;
  std::vector<std::vector<std::uint32_t>> states_;
  std::vector<std::size_t> marks_;
  std::vector<bool> unknown_;
  std::vector<PdaNodeId> fast_;  // per level: the single in-rule node, or kNoNode for stacks
  std::vector<TokenId> accepted_;
  TokenMask scratch_;  // all clear between calls
  std::vector<UncertainToken> uncertain_;
  std::string_view last_uncertain_;
};

}  // namespace parley
