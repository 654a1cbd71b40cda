// StackMachine: runs a Pda on bytes. Private to src/grammar (the matcher, the mask precomputation
// and their walks share it).
//
// A parse is a stack of frames (node, parent frame); the state after some bytes is the set of
// stacks that are still alive, each kept at a node that reads bytes (calls are expanded and
// finished rules popped eagerly). Stacks share their lower frames: frames live in a pool, a
// parent is an index into it, and a state is a list of frame indices (the tops). Frames are only
// ever appended, so a walk can undo any number of steps by truncating the pool (the matcher
// compacts it after each token).
//
// Below the bottom frame a stack ends in a sentinel that says what popping it means: the end of
// the grammar (matching), or, while classifying tokens ahead of time for one node, the end of
// the rule under study (then each place the rule returns to is tried with an unknown stack
// below: a guess at the context) and the end of such a guessed caller (then the places its rule
// returns to are guessed in turn, kGuessLevels deep, after which the context is unknown; the
// root rule's end is the grammar's end).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "grammar/pda.h"

namespace parley {

inline constexpr std::int32_t kParentRoot = -1;     // popping ends the grammar
inline constexpr std::int32_t kParentRuleEnd = -2;  // popping ends the rule under study
inline constexpr std::int32_t kParentUnknown = -3;  // popping leaves a guessed caller
inline constexpr std::uint8_t kGuessLevels = 3;

struct Frame {
  PdaNodeId node;
  std::int32_t parent;   // frame index or a sentinel
  std::uint16_t depth;   // frames below this one
  std::uint8_t guessed;  // 1 when the stack ends in a guessed caller
};

// What a step reached besides frames that read bytes.
struct StepFlags {
  bool ended = false;        // the grammar can end here (a pop to kParentRoot)
  bool rule_end = false;     // the rule under study ended here
  bool unknown = false;      // guessed callers ended too often: what follows depends on the unknown context
  bool guessed_end = false;  // a guessed caller ended the grammar here (valid in that context)
  bool overflow = false;     // more than max_stacks stacks: too ambiguous, treated as a dead end
};

class StackMachine {
 public:
  StackMachine(const Pda& pda, int max_depth, int max_stacks)
      : pda_(&pda), max_depth_(max_depth), max_stacks_(max_stacks) {}

  const Pda& pda() const { return *pda_; }
  std::vector<Frame>& pool() { return pool_; }
  const std::vector<Frame>& pool() const { return pool_; }
  // The rule whose callers are guessed when a kParentRuleEnd is popped.
  void set_study_rule(RuleId rule) { study_rule_ = rule; }

  // Appends to `out` the frames that read bytes reachable from a stack whose top is at `node`
  // above `parent`, without reading (calls pushed, finished rules popped). Only stacks that can
  // still finish within the depth limit are kept (see fits()).
  void expand(PdaNodeId node, std::int32_t parent, std::vector<std::uint32_t>& out, StepFlags& flags);

  // Reads one byte from every stack of `in` and appends the resulting tops to `out`.
  void advance(std::span<const std::uint32_t> in, std::uint8_t byte, std::vector<std::uint32_t>& out, StepFlags& flags);

  std::uint32_t push(PdaNodeId node, std::int32_t parent, std::uint16_t depth, std::uint8_t guessed) {
    pool_.push_back({node, parent, depth, guessed});
    return static_cast<std::uint32_t>(pool_.size() - 1);
  }

  // Whether a frame at `depth` and `node` can still finish (Pda::need); records the reach.
  bool fits(std::uint16_t depth, PdaNodeId node) {
    const int reach = depth + pda_->need(node);
    if (reach >= max_depth_) return false;
    if (reach > max_reach_) max_reach_ = static_cast<std::uint16_t>(reach);
    return true;
  }
  // The largest depth + need of a frame accepted since the last reset: decisions taken here
  // hold for the same stacks moved up to max_depth - 1 - max_reach() frames deeper.
  std::uint16_t max_reach() const { return max_reach_; }
  void reset_max_reach() { max_reach_ = 0; }
  int max_depth() const { return max_depth_; }

  // Keeps only the frames below `tops` and renumbers them (parents come before children).
  void compact(std::vector<std::uint32_t>& tops);

 private:
  void expand_from(PdaNodeId node, std::int32_t parent, std::uint16_t depth, std::uint8_t guessed,
                   std::vector<std::uint32_t>& out, StepFlags& flags);
  bool visit(PdaNodeId node, std::int32_t parent);

  const Pda* pda_;
  int max_depth_;
  int max_stacks_;
  RuleId study_rule_ = -1;
  std::uint16_t max_reach_ = 0;
  std::vector<Frame> pool_;
  std::vector<std::pair<PdaNodeId, std::int32_t>> visited_;  // (node, parent) expanded this step
  std::vector<std::int32_t> remap_;
};

}  // namespace parley
