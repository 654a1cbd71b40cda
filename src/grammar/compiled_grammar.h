// CompiledGrammar: a grammar ready to constrain decoding with one vocabulary: its pushdown
// automaton (grammar/pda.h) and, for every automaton node that reads bytes, the tokens classified
// ahead of time (the idea of XGrammar's adaptive token-mask cache):
//   - accepted: the token is allowed whenever a stack's top is at this node, whatever lies below
//     (its bytes are read inside the node's rule, or end the rule exactly);
//   - uncertain: the token's bytes finish the rule and go on into the caller, and some caller the
//     rule has in this grammar could read on: the matcher checks these against the real stack;
//   - every other token is rejected.
// Most tokens are decided ahead of time, so a mask costs a copy of the accepted set plus a walk of
// a short list. The classification walks the vocabulary trie once per node, skipping subtrees
// the node rejects and subtrees of plain text the node accepts wholesale (the slices of
// grammar/token_vocabulary.h).
//
// Shared (std::shared_ptr<const CompiledGrammar>) by every sequence that uses it, on any thread.
// compile_grammar() is bounded (GrammarLimits) and is meant to run off the engine thread
// (grammar/grammar_compiler.h caches the results). It classifies only the nodes the first mask
// needs before returning, so that a new grammar is ready in about the time of its automaton; a
// thread the grammar owns classifies the others, in the order a parse reaches them (breadth
// first from the start), and a matcher that gets to a node first classifies it itself. Each
// classification is written once and never changes, so the grammar is logically immutable.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "grammar/grammar.h"
#include "grammar/grammar_limits.h"
#include "grammar/grammar_spec.h"
#include "grammar/pda.h"
#include "grammar/token_mask.h"
#include "grammar/token_vocabulary.h"

namespace parley {

class NodeClassifier;

// One entry of a node's uncertain list: a token, in trie (byte) order, and the length of the
// prefix its bytes share with the previous entry's.
struct UncertainToken {
  TokenId token;
  std::uint16_t lcp;
};

struct NodeMask {
  // The accepted tokens: a bitset when there are many, else a sorted list.
  bool dense = false;
  TokenMask accepted_bits;
  std::vector<TokenId> accepted_list;
  std::vector<UncertainToken> uncertain;
  std::int64_t n_accepted = 0;
  // The deepest frame (plus what it needs to finish, Pda::need) the classification relied on,
  // counting the node's frame as depth 0: the classification holds for a stack whose top is at
  // depth D when D + max_reach < GrammarLimits::max_stack_depth; deeper, the matcher walks.
  std::uint16_t max_reach = 0;
};

struct CompileStats {
  double pda_ms = 0;
  double masks_ms = 0;            // classifying the nodes of the first mask, before compile_grammar returned
  double background_ms = 0;       // classifying the rest, so far (on the background thread or on first use)
  bool complete = false;          // every node is classified (or over max_mask_bytes)
  std::int64_t n_nodes = 0;       // automaton nodes
  std::int64_t n_mask_nodes = 0;  // nodes that read bytes (each gets a classification)
  std::int64_t n_classified = 0;  // of which classified so far
  std::int64_t n_uncertain = 0;   // uncertain entries over the classified nodes
  std::int64_t mask_bytes = 0;
  std::int64_t trie_visits = 0;  // trie nodes the classification visited (its cost, machine-independent)
};

// How compile_grammar classifies the nodes.
enum class Classify {
  kBackground,  // the nodes of the first mask at once, the rest on a background thread (default)
  kEager,       // every node before returning
  kOnDemand,    // the nodes of the first mask at once, each other on its first use (tests)
};

// A grammar built in code and the key it was compiled under (GrammarCompiler::compile(key, build)):
// what a remote worker needs to compile it again.
struct BuiltGrammar {
  std::string key;
  Grammar grammar;
};

class CompiledGrammar {
 public:
  ~CompiledGrammar();
  CompiledGrammar(const CompiledGrammar&) = delete;
  CompiledGrammar& operator=(const CompiledGrammar&) = delete;

  const Pda& pda() const { return pda_; }
  const TokenVocabulary& vocabulary() const { return *vocab_; }
  const std::shared_ptr<const TokenVocabulary>& vocabulary_ptr() const { return vocab_; }
  const GrammarLimits& limits() const { return limits_; }
  // The classification of a node that reads bytes; nullptr for other nodes and for nodes whose
  // classification did not fit in GrammarLimits::max_mask_bytes (the matcher walks the trie for
  // those). A node that is not classified yet is classified on the caller's thread (even when
  // the background is on it: it never waits for that lower-priority thread): the first masks of
  // a large grammar may cost a classification (a few microseconds to a few milliseconds) until
  // the background is done.
  const NodeMask* node_mask(PdaNodeId node) const;
  // Blocks until every node is classified (by the background; with Classify::kOnDemand, here).
  void wait_classified() const;
  // A snapshot (the background updates the figures).
  CompileStats stats() const;
  const std::string& description() const { return description_; }
  // The spec it was compiled from (GrammarCompiler::compile(spec)); null for a grammar built in
  // code. A remote engine sends this to its worker, which compiles it for its own vocabulary.
  const std::shared_ptr<const GrammarSpec>& source() const { return source_; }
  // For a grammar built in code (GrammarCompiler::compile(key, build)): the grammar and its key.
  const std::shared_ptr<const BuiltGrammar>& built() const { return built_; }

 private:
  friend Result<std::shared_ptr<const CompiledGrammar>> compile_grammar(const Grammar&,
                                                                        std::shared_ptr<const TokenVocabulary>,
                                                                        const GrammarLimits&,
                                                                        std::shared_ptr<const GrammarSpec>, Classify);
  struct Lazy;
  CompiledGrammar(Pda pda, std::shared_ptr<const TokenVocabulary> vocab, const GrammarLimits& limits);
  // Classifies the node of mask slot `slot` unless that is done (when several threads do, the
  // first result is kept).
  void classify_slot(std::size_t slot, NodeClassifier* classifier) const;
  void run_background() const;

  Pda pda_;
  std::shared_ptr<const TokenVocabulary> vocab_;
  GrammarLimits limits_;
  std::vector<std::int32_t> mask_index_;
  std::vector<PdaNodeId> slot_nodes_;  // per slot, its node, in the background's order
  std::unique_ptr<Lazy> lazy_;         // the slots and their synchronisation
  std::string description_;
  std::shared_ptr<const GrammarSpec> source_;
  std::shared_ptr<const BuiltGrammar> built_;
  friend class GrammarCompiler;  // sets built_ before anyone else sees the grammar
};

// Builds the automaton and classifies the vocabulary for every reachable node (with kBackground,
// those of the first mask before returning and the others on a thread the grammar owns). Errors
// (kInvalidArgument) name the limit that was passed or the rule at fault; with kEager, a grammar
// whose masks exceed GrammarLimits::max_mask_bytes is an error too.
Result<std::shared_ptr<const CompiledGrammar>> compile_grammar(const Grammar& grammar,
                                                               std::shared_ptr<const TokenVocabulary> vocab,
                                                               const GrammarLimits& limits = {},
                                                               std::shared_ptr<const GrammarSpec> source = nullptr,
                                                               Classify classify = Classify::kBackground);

}  // namespace parley
