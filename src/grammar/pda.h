// Pda: a grammar compiled to a pushdown automaton. Each rule becomes a deterministic automaton
// over bytes whose states ("nodes", numbered across all rules) have byte transitions and call
// edges (call rule R, then continue at a return node). A parse is a stack of nodes; since
// alternatives may call different rules that start alike, the run-time state is a set of stacks
// (grammar/stack_machine.h).
//
// Bytes are mapped to equivalence classes (bytes that every terminal of the grammar treats alike)
// so that a node's transitions are one row of a small table.
//
// The build refuses left recursion (a rule that can reach a call of itself without reading a
// byte: its stacks would grow without bound) and grammars that match nothing, removes states that
// cannot reach the end of their rule, and records for each rule the nodes its callers return to
// (used to classify tokens ahead of time, grammar/compiled_grammar.h). Immutable once built.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "grammar/grammar.h"
#include "grammar/grammar_limits.h"

namespace parley {

using PdaNodeId = std::uint32_t;
inline constexpr PdaNodeId kNoNode = 0xFFFFFFFFu;

struct PdaCall {
  RuleId rule;
  PdaNodeId ret;  // where the caller continues once the rule ends
};

struct PdaNode {
  RuleId rule = 0;
  std::int32_t row = -1;  // offset of this node's transition row, -1 when it reads no byte
  std::uint32_t calls_begin = 0;
  std::uint32_t calls_end = 0;
  bool accepting = false;  // the rule may end here
};

class Pda {
 public:
  static Result<Pda> build(const Grammar& grammar, const GrammarLimits& limits);

  PdaNodeId next(PdaNodeId node, std::uint8_t byte) const {
    const std::int32_t row = nodes_[node].row;
    return row < 0 ? kNoNode : trans_[static_cast<std::size_t>(row) + byte_class_[byte]];
  }
  const PdaNode& node(PdaNodeId id) const { return nodes_[id]; }
  std::size_t n_nodes() const { return nodes_.size(); }
  bool reads_bytes(PdaNodeId id) const { return nodes_[id].row >= 0; }
  // The bytes the node has a transition for, and those that lead back to the node itself.
  const ByteSet& readable(PdaNodeId id) const { return readable_[id]; }
  const ByteSet& self_loops(PdaNodeId id) const { return self_loops_[id]; }
  std::span<const PdaCall> calls(PdaNodeId id) const {
    return {calls_.data() + nodes_[id].calls_begin, nodes_[id].calls_end - nodes_[id].calls_begin};
  }
  PdaNodeId rule_start(RuleId rule) const { return rule_start_[static_cast<std::size_t>(rule)]; }
  // Nodes (in calling rules) that calls of `rule` return to.
  const std::vector<PdaNodeId>& rule_returns(RuleId rule) const {
    return rule_returns_[static_cast<std::size_t>(rule)];
  }
  RuleId root() const { return root_; }
  std::size_t n_rules() const { return rule_start_.size(); }
  const std::string& rule_name(RuleId rule) const { return rule_names_[static_cast<std::size_t>(rule)]; }
  // The fewest frames a stack needs above a frame at `node` to finish that frame's rule: a frame
  // at depth d can still finish only if d + need(node) < GrammarLimits::max_stack_depth. The
  // matcher keeps only such stacks, so that nesting near the limit never leads into a dead end.
  std::uint16_t need(PdaNodeId id) const { return need_[id]; }
  // Nodes reachable from the root's start (the only ones a parse can be in).
  const std::vector<bool>& reachable() const { return reachable_; }
  int n_byte_classes() const { return n_classes_; }
  std::uint8_t byte_class(std::uint8_t b) const { return byte_class_[b]; }
  // Node -> target for byte class c (kNoNode when none).
  PdaNodeId next_class(PdaNodeId node, int c) const {
    const std::int32_t row = nodes_[node].row;
    return row < 0 ? kNoNode : trans_[static_cast<std::size_t>(row + c)];
  }

 private:
  std::array<std::uint8_t, 256> byte_class_{};
  int n_classes_ = 0;
  std::vector<PdaNodeId> trans_;
  std::vector<PdaCall> calls_;
  std::vector<PdaNode> nodes_;
  std::vector<PdaNodeId> rule_start_;
  std::vector<std::vector<PdaNodeId>> rule_returns_;
  std::vector<std::string> rule_names_;
  std::vector<bool> reachable_;
  std::vector<std::uint16_t> need_;
  std::vector<ByteSet> readable_;
  std::vector<ByteSet> self_loops_;
  RuleId root_ = 0;

  friend class PdaBuilder;
};

}  // namespace parley
