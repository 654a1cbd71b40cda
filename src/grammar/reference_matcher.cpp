#include "grammar/reference_matcher.h"

namespace parley {

ReferenceMatcher::ReferenceMatcher(std::shared_ptr<const CompiledGrammar> grammar, bool at_output_start)
    : grammar_(std::move(grammar)), at_start_(at_output_start) {
  State s;
  std::set<Stack> seen;
  expand({grammar_->pda().rule_start(grammar_->pda().root())}, s, seen);
  stacks_ = std::move(s.stacks);
  can_end_ = s.can_end;
}

void ReferenceMatcher::expand(const Stack& stack, State& out, std::set<Stack>& seen) const {
  const Pda& pda = grammar_->pda();
  const PdaNodeId top = stack.back();
  // A stack that cannot finish within the depth limit is dead (the frame at index i needs
  // need(node) more above it).
  const int max_depth = grammar_->limits().max_stack_depth;
  for (std::size_t i = 0; i < stack.size(); ++i) {
    if (static_cast<int>(i) + pda.need(stack[i]) >= max_depth) return;
  }
  if (!seen.insert(stack).second) return;
  if (pda.reads_bytes(top)) out.stacks.insert(stack);
  if (static_cast<int>(stack.size()) < grammar_->limits().max_stack_depth) {
    for (const PdaCall& call : pda.calls(top)) {
      Stack pushed = stack;
      pushed.back() = call.ret;
      pushed.push_back(pda.rule_start(call.rule));
      expand(pushed, out, seen);
    }
  }
  if (pda.node(top).accepting) {
    Stack popped(stack.begin(), stack.end() - 1);
    if (popped.empty()) {
      out.can_end = true;
    } else {
      expand(popped, out, seen);
    }
  }
}

bool ReferenceMatcher::run(const State& from, std::string_view bytes, State& to) const {
  const Pda& pda = grammar_->pda();
  State cur = from;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    State next;
    std::set<Stack> seen;
    for (const Stack& s : cur.stacks) {
      const PdaNodeId t = pda.next(s.back(), static_cast<std::uint8_t>(bytes[i]));
      if (t == kNoNode) continue;
      Stack moved = s;
      moved.back() = t;
      expand(moved, next, seen);
    }
    if (static_cast<int>(next.stacks.size()) > grammar_->limits().max_stacks) return false;
    if (next.stacks.empty() && !(i + 1 == bytes.size() && next.can_end)) return false;
    cur = std::move(next);
  }
  to = std::move(cur);
  return true;
}

void ReferenceMatcher::fill_mask(TokenMask& mask) const {
  const TokenVocabulary& vocab = grammar_->vocabulary();
  mask.resize(vocab.n_tokens());
  if (ended_) return;
  const State from{stacks_, can_end_};
  for (TokenId t = 0; t < vocab.n_tokens(); ++t) {
    if (vocab.is_eog(t)) {
      if (can_end_) mask.set(t);
      continue;
    }
    const std::string_view b = at_start_ ? vocab.start_bytes(t) : vocab.bytes(t);
    State to;
    if (!b.empty() && run(from, b, to)) mask.set(t);
  }
}

bool ReferenceMatcher::accept_bytes(std::string_view bytes) {
  State to;
  if (ended_ || bytes.empty() || !run({stacks_, can_end_}, bytes, to)) return false;
  stacks_ = std::move(to.stacks);
  can_end_ = to.can_end;
  at_start_ = false;
  return true;
}

bool ReferenceMatcher::accept(TokenId token) {
  const TokenVocabulary& vocab = grammar_->vocabulary();
  if (ended_ || token < 0 || token >= vocab.n_tokens()) return false;
  if (vocab.is_eog(token)) {
    if (!can_end_) return false;
    ended_ = true;
    stacks_.clear();
    return true;
  }
  return accept_bytes(at_start_ ? vocab.start_bytes(token) : vocab.bytes(token));
}

}  // namespace parley
