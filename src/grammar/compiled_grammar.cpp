#include "grammar/compiled_grammar.h"

#include <algorithm>
#include <chrono>

#include "grammar/stack_machine.h"

namespace parley {
namespace {

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// The byte ranges of a UTF-8 character's positions, for the plain-text check.
struct ByteRange {
  std::uint8_t lo, hi;
};
constexpr ByteRange kCont{0x80, 0xBF};
// Each multi-byte form: lead range, then the ranges of the continuation bytes.
constexpr ByteRange kUtf8Forms[][4] = {
    {{0xC2, 0xDF}, kCont, {0, 0}, {0, 0}}, {{0xE0, 0xE0}, {0xA0, 0xBF}, kCont, {0, 0}},
    {{0xE1, 0xEC}, kCont, kCont, {0, 0}},  {{0xED, 0xED}, {0x80, 0x9F}, kCont, {0, 0}},
    {{0xEE, 0xEF}, kCont, kCont, {0, 0}},  {{0xF0, 0xF0}, {0x90, 0xBF}, kCont, kCont},
    {{0xF1, 0xF3}, kCont, kCont, kCont},   {{0xF4, 0xF4}, {0x80, 0x8F}, kCont, kCont},
};
constexpr int kUtf8FormLengths[] = {2, 3, 3, 3, 3, 4, 4, 4};

// Decides how much plain text (slice S of token_vocabulary.h) a node reads for sure.
class PlainTextCheck {
 public:
  explicit PlainTextCheck(const Pda& pda) : pda_(pda) {
    for (int b = 0x20; b < 0x80; ++b) {
      if (b != '"' && b != '\\') add_class(ascii_, static_cast<std::uint8_t>(b));
    }
    for (std::size_t f = 0; f < std::size(kUtf8Forms); ++f) {
      for (int p = 0; p < kUtf8FormLengths[f]; ++p) {
        for (int b = kUtf8Forms[f][p].lo; b <= kUtf8Forms[f][p].hi; ++b)
          add_class(forms_[f][p], static_cast<std::uint8_t>(b));
      }
    }
  }

  // The largest slice level (index into TokenVocabulary::kSliceLevels) whose texts the node
  // reads entirely within its rule, or -1.
  int level(PdaNodeId node) {
    std::vector<PdaNodeId> cur = {node}, next;
    int ok_chars = 0;
    constexpr int kMaxFinite = 16;
    for (; ok_chars <= kMaxFinite; ++ok_chars) {
      next.clear();
      for (const PdaNodeId x : cur) {
        if (!step(x, next)) return level_for(ok_chars);
      }
      std::sort(next.begin(), next.end());
      next.erase(std::unique(next.begin(), next.end()), next.end());
      cur.swap(next);
    }
    // Beyond 16 characters: any length when every node reached reads every character.
    std::vector<PdaNodeId> seen = cur, stack = cur;
    while (!stack.empty()) {
      const PdaNodeId x = stack.back();
      stack.pop_back();
      next.clear();
      if (!step(x, next)) return level_for(kMaxFinite);
      for (const PdaNodeId y : next) {
        if (std::find(seen.begin(), seen.end(), y) == seen.end()) {
          if (seen.size() > 4096) return level_for(kMaxFinite);
          seen.push_back(y);
          stack.push_back(y);
        }
      }
    }
    return static_cast<int>(TokenVocabulary::kSliceLevels.size()) - 1;
  }

 private:
  static void add_class(std::vector<std::uint8_t>& v, std::uint8_t b) { v.push_back(b); }

  // Appends the nodes reached from x by every plain character; false if one is not readable.
  bool step(PdaNodeId x, std::vector<PdaNodeId>& out) const {
    for (const std::uint8_t b : ascii_) {
      const PdaNodeId y = pda_.next(x, b);
      if (y == kNoNode) return false;
      push_unique(out, y);
    }
    for (std::size_t f = 0; f < std::size(kUtf8Forms); ++f) {
      if (!walk_form(x, f, 0, out)) return false;
    }
    return true;
  }

  bool walk_form(PdaNodeId x, std::size_t f, int pos, std::vector<PdaNodeId>& out) const {
    if (pos == kUtf8FormLengths[f]) {
      push_unique(out, x);
      return true;
    }
    // Bytes of one class lead to the same node: try one byte per class.
    std::uint32_t tried[8] = {};
    for (const std::uint8_t b : forms_[f][pos]) {
      const std::uint8_t c = pda_.byte_class(b);
      if (tried[c >> 5] & (1u << (c & 31))) continue;
      tried[c >> 5] |= 1u << (c & 31);
      const PdaNodeId y = pda_.next(x, b);
      if (y == kNoNode || !walk_form(y, f, pos + 1, out)) return false;
    }
    return true;
  }

  static void push_unique(std::vector<PdaNodeId>& v, PdaNodeId y) {
    if (std::find(v.begin(), v.end(), y) == v.end()) v.push_back(y);
  }

  static int level_for(int ok_chars) {
    int best = -1;
    for (std::size_t i = 0; i < TokenVocabulary::kSliceLevels.size(); ++i) {
      if (TokenVocabulary::kSliceLevels[i] <= ok_chars) best = static_cast<int>(i);
    }
    return best;
  }

  const Pda& pda_;
  std::vector<std::uint8_t> ascii_;
  std::vector<std::uint8_t> forms_[std::size(kUtf8Forms)][4];
};

std::uint16_t common_prefix(std::string_view a, std::string_view b) {
  std::size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return static_cast<std::uint16_t>(std::min<std::size_t>(n, 0xFFFF));
}

// Classifies every token for one node (see compiled_grammar.h).
class NodeClassifier {
 public:
  NodeClassifier(const Pda& pda, const TokenVocabulary& vocab, const GrammarLimits& limits)
      : pda_(pda), vocab_(vocab), machine_(pda, limits.max_stack_depth, limits.max_stacks) {}

  NodeMask classify(PdaNodeId node, int slice_level) {
    const VocabTrie& trie = vocab_.trie();
    const int slice_chars =
        slice_level >= 0 ? TokenVocabulary::kSliceLevels[static_cast<std::size_t>(slice_level)] : -1;
    accepted_.clear();
    uncertain_.clear();
    last_uncertain_ = {};
    machine_.pool().clear();
    machine_.set_study_rule(pda_.node(node).rule);
    machine_.reset_max_reach();
    ensure_depth(1);
    marks_[0] = 0;
    unknown_[0] = false;
    const auto in_slice = [&](TokenId t) {
      const int c = vocab_.plain_chars(t);
      return slice_chars >= 0 && c >= 0 && c <= slice_chars;
    };
    fast_[0] = node;
    // Only the subtrees of first bytes the node reads can hold anything.
    for (int first = 0; first < 256; ++first) {
      const std::uint32_t child = trie.root_child(static_cast<std::uint8_t>(first));
      if (child == 0 || pda_.next(node, static_cast<std::uint8_t>(first)) == kNoNode) continue;
      walk(child, trie.end(child), in_slice, slice_chars);
    }
    NodeMask m;
    m.uncertain = uncertain_;
    m.max_reach = machine_.max_reach();
    const std::int64_t n_slice = slice_level >= 0 ? vocab_.slice(static_cast<std::size_t>(slice_level)).count() : 0;
    m.n_accepted = static_cast<std::int64_t>(accepted_.size()) + n_slice;
    m.dense = m.n_accepted > vocab_.n_tokens() / 32;
    if (m.dense) {
      m.accepted_bits =
          slice_level >= 0 ? vocab_.slice(static_cast<std::size_t>(slice_level)) : TokenMask(vocab_.n_tokens());
      for (const TokenId t : accepted_) m.accepted_bits.set(t);
    } else {
      if (slice_level >= 0)
        vocab_.slice(static_cast<std::size_t>(slice_level)).for_each([&](TokenId t) { accepted_.push_back(t); });
      std::sort(accepted_.begin(), accepted_.end());
      m.accepted_list = accepted_;
    }
    return m;
  }

 private:
  void ensure_depth(std::size_t d) {
    if (states_.size() <= d) {
      states_.resize(d + 1);
      marks_.resize(d + 1);
      unknown_.resize(d + 1);
      fast_.resize(d + 1, kNoNode);
    }
  }

  // Classifies the tokens of trie nodes [begin, end) (whole subtrees).
  template <typename InSlice>
  void walk(std::size_t begin, std::size_t end, const InSlice& in_slice, int slice_chars) {
    const VocabTrie& trie = vocab_.trie();
    for (std::size_t i = begin; i < end;) {
      if (slice_chars >= 0 && trie.subtree_plain_chars(i) <= slice_chars) {
        i = trie.end(i);
        continue;
      }
      const std::size_t d = trie.depth(i);
      ensure_depth(d + 1);
      // Fast path: one stack, inside the rule, at a node that only reads: a table lookup.
      if (fast_[d - 1] != kNoNode) {
        const PdaNodeId t = pda_.next(fast_[d - 1], trie.byte(i));
        if (t == kNoNode) {
          i = trie.end(i);
          continue;
        }
        const PdaNode& tn = pda_.node(t);
        if (tn.calls_begin == tn.calls_end && !tn.accepting) {
          if (!machine_.fits(0, t)) {
            i = trie.end(i);
            continue;
          }
          fast_[d] = t;
          unknown_[d] = false;
          for (const TokenId tok : trie.tokens(i)) {
            if (!in_slice(tok)) accepted_.push_back(tok);
          }
          ++i;
          continue;
        }
      }
      fast_[d] = kNoNode;
      if (!general_step(i, d, in_slice)) {
        i = trie.end(i);
        continue;
      }
      ++i;
    }
  }

  // The parent level's stacks: the fast level's single frame made explicit, or the stacks.
  std::vector<std::uint32_t>& parent_states(std::size_t d) {
    if (fast_[d] != kNoNode) {
      machine_.pool().resize(marks_[0]);
      states_[d].assign(1, machine_.push(fast_[d], kParentRuleEnd, 0, 0));
      marks_[d] = machine_.pool().size();
    }
    return states_[d];
  }

  // Trie node i at depth d through the stack machine; false when its subtree is done.
  template <typename InSlice>
  bool general_step(std::size_t i, std::size_t d, const InSlice& in_slice) {
    const VocabTrie& trie = vocab_.trie();
    const std::vector<std::uint32_t>& in = parent_states(d - 1);
    machine_.pool().resize(marks_[d - 1]);
    auto& out = states_[d];
    out.clear();
    StepFlags flags;
    machine_.advance(in, trie.byte(i), out, flags);
    marks_[d] = machine_.pool().size();
    const bool unknown = unknown_[d - 1] || flags.unknown || flags.overflow;
    unknown_[d] = unknown;
    bool in_rule = flags.rule_end, guessed = false;
    for (const std::uint32_t f : out) {
      (machine_.pool()[f].guessed ? guessed : in_rule) = true;
    }
    for (const TokenId t : trie.tokens(i)) {
      if (in_slice(t)) continue;
      if (in_rule) {
        accepted_.push_back(t);
      } else if (guessed || unknown) {
        add_uncertain(t);
      }
    }
    if (!out.empty()) return true;
    if (unknown) {
      for (std::size_t j = i + 1; j < trie.end(i); ++j) {
        for (const TokenId t : trie.tokens(j)) {
          if (!in_slice(t)) add_uncertain(t);
        }
      }
    }
    return false;
  }

  void add_uncertain(TokenId t) {
    const std::string_view b = vocab_.bytes(t);
    uncertain_.push_back({t, uncertain_.empty() ? std::uint16_t{0} : common_prefix(last_uncertain_, b)});
    last_uncertain_ = b;
  }

  const Pda& pda_;
  const TokenVocabulary& vocab_;
  StackMachine machine_;
  std::vector<std::vector<std::uint32_t>> states_;
  std::vector<std::size_t> marks_;
  std::vector<bool> unknown_;
  std::vector<PdaNodeId> fast_;  // per level: the single in-rule node, or kNoNode for stacks
  std::vector<TokenId> accepted_;
  std::vector<UncertainToken> uncertain_;
  std::string_view last_uncertain_;
};

std::int64_t mask_bytes(const NodeMask& m) {
  return static_cast<std::int64_t>(m.accepted_bits.words().size() * 8 + m.accepted_list.size() * 4 +
                                   m.uncertain.size() * sizeof(UncertainToken));
}

}  // namespace

Result<std::shared_ptr<const CompiledGrammar>> compile_grammar(const Grammar& grammar,
                                                               std::shared_ptr<const TokenVocabulary> vocab,
                                                               const GrammarLimits& limits) {
  const auto t0 = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(Pda pda, Pda::build(grammar, limits));
  std::shared_ptr<CompiledGrammar> g(new CompiledGrammar(std::move(pda), std::move(vocab), limits));
  g->stats_.pda_ms = ms_since(t0);
  const auto t1 = std::chrono::steady_clock::now();
  const Pda& p = g->pda_;
  g->stats_.n_nodes = static_cast<std::int64_t>(p.n_nodes());
  g->mask_index_.assign(p.n_nodes(), -1);
  PlainTextCheck plain(p);
  NodeClassifier classifier(p, *g->vocab_, limits);
  for (PdaNodeId n = 0; n < p.n_nodes(); ++n) {
    if (!p.reachable()[n] || !p.reads_bytes(n)) continue;
    NodeMask m = classifier.classify(n, plain.level(n));
    g->stats_.n_uncertain += static_cast<std::int64_t>(m.uncertain.size());
    g->stats_.mask_bytes += mask_bytes(m);
    if (g->stats_.mask_bytes > limits.max_mask_bytes) {
      return invalid_argument_error("the grammar is too large: its token masks need more than {} MiB",
                                    limits.max_mask_bytes >> 20);
    }
    g->mask_index_[n] = static_cast<std::int32_t>(g->masks_.size());
    g->masks_.push_back(std::move(m));
  }
  g->stats_.n_mask_nodes = static_cast<std::int64_t>(g->masks_.size());
  g->stats_.masks_ms = ms_since(t1);
  return std::shared_ptr<const CompiledGrammar>(std::move(g));
}

}  // namespace parley
