#include "grammar/grammar_matcher.h"

#include <algorithm>
#include <cstring>

namespace parley {

GrammarMatcher::GrammarMatcher(std::shared_ptr<const CompiledGrammar> grammar, bool at_output_start)
    : grammar_(std::move(grammar)),
      machine_(grammar_->pda(), grammar_->limits().max_stack_depth, grammar_->limits().max_stacks),
      at_start_(at_output_start) {
  StepFlags flags;
  machine_.expand(grammar_->pda().rule_start(grammar_->pda().root()), kParentRoot, tops_, flags);
  can_end_ = flags.ended;
  if (flags.overflow) tops_.clear();
}

std::vector<std::uint32_t>& GrammarMatcher::level(std::size_t d) {
  if (levels_.size() <= d) {
    levels_.resize(d + 1);
    marks_.resize(d + 1);
    ends_.resize(d + 1);
  }
  return levels_[d];
}

bool GrammarMatcher::advance_bytes(std::string_view bytes) {
  if (bytes.empty()) return false;
  const std::size_t mark = machine_.pool().size();
  level(0).assign(tops_.begin(), tops_.end());
  level(1);
  StepFlags flags;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    auto& in = levels_[i & 1];
    auto& out = levels_[(i + 1) & 1];
    out.clear();
    flags = {};
    machine_.advance(in, static_cast<std::uint8_t>(bytes[i]), out, flags);
    const bool last = i + 1 == bytes.size();
    if (flags.overflow || (out.empty() && !(last && flags.ended))) {
      machine_.pool().resize(mark);
      return false;
    }
  }
  tops_ = levels_[bytes.size() & 1];
  can_end_ = flags.ended;
  machine_.compact(tops_);
  return true;
}

bool GrammarMatcher::accept_bytes(std::string_view bytes) {
  if (ended_ || !advance_bytes(bytes)) return false;
  at_start_ = false;
  return true;
}

bool GrammarMatcher::accept(TokenId token) {
  const TokenVocabulary& vocab = grammar_->vocabulary();
  if (ended_ || token < 0 || token >= vocab.n_tokens()) return false;
  if (vocab.is_eog(token)) {
    if (!can_end_) return false;
    ended_ = true;
    tops_.clear();
    machine_.pool().clear();
    return true;
  }
  if (!advance_bytes(at_start_ ? vocab.start_bytes(token) : vocab.bytes(token))) return false;
  at_start_ = false;
  return true;
}

bool GrammarMatcher::allows(TokenId token) const {
  GrammarMatcher copy = *this;
  return copy.accept(token);
}

void GrammarMatcher::add_eog(TokenMask& mask) const {
  if (!can_end_) return;
  for (const TokenId t : grammar_->vocabulary().eog()) mask.set(t);
}

void GrammarMatcher::fill_mask(TokenMask& mask) {
  const TokenVocabulary& vocab = grammar_->vocabulary();
  if (mask.n_tokens() != vocab.n_tokens()) mask.resize(vocab.n_tokens());
  if (ended_) {
    mask.clear();
    return;
  }
  const std::size_t pool_mark = machine_.pool().size();
  if (at_start_ && vocab.strips_leading_space()) {
    mask.clear();
    walk_trie(vocab.start_trie(), tops_, mask);
    machine_.pool().resize(pool_mark);
    add_eog(mask);
    return;
  }
  // Distinct top nodes, in order of first appearance.
  group_nodes_.clear();
  for (const std::uint32_t t : tops_) {
    const PdaNodeId n = machine_.pool()[t].node;
    if (std::find(group_nodes_.begin(), group_nodes_.end(), n) == group_nodes_.end()) group_nodes_.push_back(n);
  }
  const int max_depth = grammar_->limits().max_stack_depth;
  bool cleared = false;
  for (const PdaNodeId n : group_nodes_) {
    const NodeMask* nm = grammar_->node_mask(n);
    group_.clear();
    bool deep = nm == nullptr;  // no classification (over GrammarLimits::max_mask_bytes): walk
    for (const std::uint32_t t : tops_) {
      const Frame& f = machine_.pool()[t];
      if (f.node != n) continue;
      group_.push_back(t);
      deep = deep || f.depth + nm->max_reach >= max_depth;
    }
    if (deep) {
      if (!cleared) mask.clear();
      cleared = true;
      walk_trie(vocab.trie(), group_, mask);
      continue;
    }
    if (nm->dense) {
      if (!cleared) {
        std::memcpy(mask.words().data(), nm->accepted_bits.words().data(), mask.words().size() * sizeof(std::uint64_t));
      } else {
        mask |= nm->accepted_bits;
      }
    } else {
      if (!cleared) mask.clear();
      for (const TokenId t : nm->accepted_list) mask.set(t);
    }
    cleared = true;
    if (!nm->uncertain.empty()) walk_list(nm->uncertain, group_, mask);
  }
  if (!cleared) mask.clear();
  machine_.pool().resize(pool_mark);
  add_eog(mask);
}

void GrammarMatcher::walk_list(std::span<const UncertainToken> list, std::span<const std::uint32_t> init,
                               TokenMask& mask) {
  const TokenVocabulary& vocab = grammar_->vocabulary();
  level(0).assign(init.begin(), init.end());
  marks_[0] = machine_.pool().size();
  ends_[0] = false;
  std::size_t valid = 0;                             // levels computed along the last walked token
  std::size_t dead = static_cast<std::size_t>(-1);   // the last walked token died after this many bytes
  std::size_t carry = static_cast<std::size_t>(-1);  // the least lcp since the last walked token
  for (const UncertainToken& u : list) {
    // The prefix this token shares with the last walked one.
    const std::size_t shared = std::min<std::size_t>(u.lcp, carry);
    if (shared >= dead || mask.test(u.token)) {
      // It dies like that one, or another stack already allows it.
      carry = shared;
      continue;
    }
    carry = static_cast<std::size_t>(-1);
    const std::string_view b = vocab.bytes(u.token);
    std::size_t d = std::min(shared, valid);
    dead = static_cast<std::size_t>(-1);
    bool died = false;
    for (; d < b.size(); ++d) {
      machine_.pool().resize(marks_[d]);
      auto& out = level(d + 1);
      out.clear();
      StepFlags flags;
      machine_.advance(levels_[d], static_cast<std::uint8_t>(b[d]), out, flags);
      marks_[d + 1] = machine_.pool().size();
      if (flags.overflow) {
        out.clear();
        flags.ended = false;
      }
      ends_[d + 1] = flags.ended;
      if (out.empty()) {
        // Nothing longer survives; a token of exactly these bytes does if the grammar ended.
        ++d;
        died = d < b.size() || !flags.ended;
        dead = d + (died ? 0 : 1);
        break;
      }
    }
    valid = d;
    if (!died && (!levels_[d].empty() || ends_[d])) mask.set(u.token);
  }
}

void GrammarMatcher::walk_trie(const VocabTrie& trie, std::span<const std::uint32_t> init, TokenMask& mask) {
  level(0).assign(init.begin(), init.end());
  marks_[0] = machine_.pool().size();
  for (std::size_t i = 1; i < trie.size();) {
    const std::size_t d = trie.depth(i);
    machine_.pool().resize(marks_[d - 1]);
    auto& out = level(d);
    out.clear();
    StepFlags flags;
    machine_.advance(levels_[d - 1], trie.byte(i), out, flags);
    marks_[d] = machine_.pool().size();
    if (flags.overflow) out.clear();
    if (!out.empty() || (flags.ended && !flags.overflow)) {
      for (const TokenId t : trie.tokens(i)) mask.set(t);
    }
    i = out.empty() ? trie.end(i) : i + 1;
  }
}

}  // namespace parley
