#include "grammar/stack_machine.h"

#include <algorithm>

namespace parley {

bool StackMachine::visit(PdaNodeId node, std::int32_t parent) {
  for (const auto& [n, p] : visited_) {
    if (n == node && p == parent) return false;
  }
  visited_.emplace_back(node, parent);
  return true;
}

void StackMachine::expand(PdaNodeId node, std::int32_t parent, std::vector<std::uint32_t>& out, StepFlags& flags) {
  visited_.clear();
  const std::uint16_t depth =
      parent >= 0 ? static_cast<std::uint16_t>(pool_[static_cast<std::size_t>(parent)].depth + 1) : 0;
  const std::uint8_t guessed = parent >= 0 ? pool_[static_cast<std::size_t>(parent)].guessed
                                           : static_cast<std::uint8_t>(parent == kParentUnknown ? 1 : 0);
  expand_from(node, parent, depth, guessed, out, flags);
}

void StackMachine::expand_from(PdaNodeId node, std::int32_t parent, std::uint16_t depth, std::uint8_t guessed,
                               std::vector<std::uint32_t>& out, StepFlags& flags) {
  const PdaNode& n = pda_->node(node);
  if (!fits(depth, node) || !visit(node, parent)) return;
  if (n.row >= 0) {
    if (static_cast<int>(out.size()) >= max_stacks_) {
      flags.overflow = true;
    } else {
      out.push_back(push(node, parent, depth, guessed));
    }
  }
  if (n.calls_begin != n.calls_end) {
    for (const PdaCall& call : pda_->calls(node)) {
      if (!fits(depth, call.ret)) continue;
      const std::uint32_t caller = push(call.ret, parent, depth, guessed);
      expand_from(pda_->rule_start(call.rule), static_cast<std::int32_t>(caller), static_cast<std::uint16_t>(depth + 1),
                  guessed, out, flags);
    }
  }
  if (!n.accepting) return;
  if (parent >= 0) {
    const Frame f = pool_[static_cast<std::size_t>(parent)];
    expand_from(f.node, f.parent, f.depth, f.guessed, out, flags);
  } else if (parent == kParentRoot) {
    flags.ended = true;
  } else if (parent == kParentRuleEnd) {
    flags.rule_end = true;
    for (const PdaNodeId ret : pda_->rule_returns(study_rule_)) expand_from(ret, kParentUnknown, 0, 1, out, flags);
  } else {
    // A guessed caller ended: guess its own callers, a few levels up.
    if (n.rule == pda_->root()) flags.guessed_end = true;
    const auto& rets = pda_->rule_returns(n.rule);
    if (guessed >= kGuessLevels) {
      if (!rets.empty()) flags.unknown = true;
    } else {
      for (const PdaNodeId ret : rets) {
        expand_from(ret, kParentUnknown, 0, static_cast<std::uint8_t>(guessed + 1), out, flags);
      }
    }
  }
}

void StackMachine::advance(std::span<const std::uint32_t> in, std::uint8_t byte, std::vector<std::uint32_t>& out,
                           StepFlags& flags) {
  visited_.clear();
  if (in.size() == 1) {
    // The common case: one stack, and a node inside a rule that only reads.
    const Frame f = pool_[in[0]];
    const PdaNodeId t = pda_->next(f.node, byte);
    if (t == kNoNode) return;
    const PdaNode& n = pda_->node(t);
    if (n.calls_begin == n.calls_end && !n.accepting) {
      if (fits(f.depth, t)) out.push_back(push(t, f.parent, f.depth, f.guessed));
      return;
    }
    expand_from(t, f.parent, f.depth, f.guessed, out, flags);
    return;
  }
  for (const std::uint32_t i : in) {
    const Frame f = pool_[i];
    const PdaNodeId t = pda_->next(f.node, byte);
    if (t != kNoNode) expand_from(t, f.parent, f.depth, f.guessed, out, flags);
  }
}

void StackMachine::compact(std::vector<std::uint32_t>& tops) {
  remap_.assign(pool_.size(), -1);
  for (const std::uint32_t t : tops) {
    for (std::int32_t i = static_cast<std::int32_t>(t); i >= 0 && remap_[static_cast<std::size_t>(i)] == -1;
         i = pool_[static_cast<std::size_t>(i)].parent) {
      remap_[static_cast<std::size_t>(i)] = 0;
    }
  }
  std::size_t kept = 0;
  for (std::size_t i = 0; i < pool_.size(); ++i) {
    if (remap_[i] < 0) continue;
    Frame f = pool_[i];
    if (f.parent >= 0) f.parent = remap_[static_cast<std::size_t>(f.parent)];
    remap_[i] = static_cast<std::int32_t>(kept);
    pool_[kept++] = f;
  }
  pool_.resize(kept);
  for (std::uint32_t& t : tops) t = static_cast<std::uint32_t>(remap_[t]);
}

}  // namespace parley
