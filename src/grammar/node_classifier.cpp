#include "grammar/node_classifier.h"

#include <algorithm>

namespace parley {
namespace {

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
constexpr std::size_t kForms = std::size(kUtf8Forms);
constexpr std::size_t kBmpForms = 5;  // the forms before the 4-byte ones
constexpr int kMaxFiniteChars = 64;   // the largest finite slice level (TokenVocabulary::kSliceLevels)

std::uint16_t common_prefix(std::string_view a, std::string_view b) {
  std::size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return static_cast<std::uint16_t>(std::min<std::size_t>(n, 0xFFFF));
}

bool flat(const PdaNode& n) {
  return n.calls_begin == n.calls_end && !n.accepting;
}

}  // namespace

PlainTextCheck::PlainTextCheck(const Pda& pda, int max_depth)
    : pda_(pda),
      max_depth_(max_depth),
      forms_(kForms * 4),
      memo_{std::vector<Level>(pda.n_nodes()), std::vector<Level>(pda.n_nodes())},
      known_{std::vector<bool>(pda.n_nodes(), false), std::vector<bool>(pda.n_nodes(), false)},
      byte_memo_(pda.n_nodes()),
      byte_known_(pda.n_nodes(), false) {
  // Bytes of one class lead to the same node: one byte per class is enough.
  const auto add = [&](std::vector<std::uint8_t>& v, std::uint8_t b) {
    for (const std::uint8_t x : v) {
      if (pda_.byte_class(x) == pda_.byte_class(b)) return;
    }
    v.push_back(b);
  };
  for (int b = 0x20; b < 0x80; ++b) {
    if (b != '"' && b != '\\') add(ascii_, static_cast<std::uint8_t>(b));
  }
  for (std::size_t f = 0; f < kForms; ++f) {
    for (int p = 0; p < kUtf8FormLengths[f]; ++p) {
      for (int b = kUtf8Forms[f][p].lo; b <= kUtf8Forms[f][p].hi; ++b) {
        add(forms_[f * 4 + static_cast<std::size_t>(p)], static_cast<std::uint8_t>(b));
      }
    }
  }
}

const PlainTextCheck::Level& PlainTextCheck::level(PdaNodeId node, int plain) {
  if (known_[plain][node]) return memo_[plain][node];
  // A node whose every plain character leads to one node y reads one character more than y
  // (counted strings are chains of such nodes): follow the chain to a known node or one that is
  // not such, and fill in the levels backwards.
  std::vector<PdaNodeId>& chain = chain_;
  chain.clear();
  PdaNodeId x = node;
  std::vector<PdaNodeId> next;
  while (!known_[plain][x]) {
    next.clear();
    const bool single = step(x, plain, next) && next.size() == 1 && next[0] != x && pda_.need(next[0]) < max_depth_ &&
                        std::find(chain.begin(), chain.end(), next[0]) == chain.end();
    if (!single) {
      memo_[plain][x] = compute(x, plain);
      known_[plain][x] = true;
      break;
    }
    chain.push_back(x);
    x = next[0];
  }
  for (std::size_t k = chain.size(); k-- > 0;) {
    const Level& after = memo_[plain][x];
    Level lv;
    lv.chars = after.chars == kAny ? kAny : static_cast<std::int16_t>(std::min(kMaxFiniteChars, after.chars + 1));
    lv.reach = std::max({pda_.need(chain[k]), pda_.need(x), after.reach});
    x = chain[k];
    memo_[plain][x] = lv;
    known_[plain][x] = true;
  }
  return memo_[plain][node];
}

PlainTextCheck::Level PlainTextCheck::compute(PdaNodeId node, int plain) {
  Level out;
  out.reach = pda_.need(node);
  std::vector<PdaNodeId> cur = {node}, next;
  const auto admit = [&](const std::vector<PdaNodeId>& nodes) {
    for (const PdaNodeId y : nodes) {
      if (pda_.need(y) >= max_depth_) return false;
      out.reach = std::max(out.reach, pda_.need(y));
    }
    return true;
  };
  for (int k = 0; k <= kMaxFiniteChars; ++k) {
    next.clear();
    for (const PdaNodeId x : cur) {
      if (!step(x, plain, next)) return out;
    }
    if (!admit(next)) return out;
    out.chars = static_cast<std::int16_t>(k + 1);
    cur.swap(next);
  }
  // Beyond: any length when every node reached reads every character.
  std::vector<PdaNodeId> seen = cur, stack = cur;
  out.chars = kMaxFiniteChars;
  const Level finite = out;
  while (!stack.empty()) {
    const PdaNodeId x = stack.back();
    stack.pop_back();
    next.clear();
    if (!step(x, plain, next) || !admit(next)) return finite;
    for (const PdaNodeId y : next) {
      if (std::find(seen.begin(), seen.end(), y) != seen.end()) continue;
      if (seen.size() > 4096) return finite;
      seen.push_back(y);
      stack.push_back(y);
    }
  }
  out.chars = kAny;
  return out;
}

const PlainTextCheck::ByteLevel& PlainTextCheck::byte_level(PdaNodeId node) {
  if (!byte_known_[node]) {
    byte_memo_[node] = compute_bytes(node);
    byte_known_[node] = true;
  }
  return byte_memo_[node];
}

std::vector<std::uint8_t> PlainTextCheck::representatives(const ByteSet& set) const {
  std::vector<std::uint8_t> out;
  std::uint32_t seen[8] = {};
  for (int b = 0; b < 128; ++b) {
    if (!set.test(static_cast<std::uint8_t>(b))) continue;
    const std::uint8_t c = pda_.byte_class(static_cast<std::uint8_t>(b));
    if (seen[c >> 5] & (1u << (c & 31))) continue;
    seen[c >> 5] |= 1u << (c & 31);
    out.push_back(static_cast<std::uint8_t>(b));
  }
  return out;
}

PlainTextCheck::ByteLevel PlainTextCheck::compute_bytes(PdaNodeId node) const {
  constexpr std::size_t kMaxNodes = 16;  // loops of patterns are small; a larger closure is not worth it
  ByteLevel out;
  ByteSet ascii = ByteSet::range(0, 0x7F);
  // Unbounded: the largest set B whose closure from the node reads every byte of B everywhere
  // (a greatest fixpoint: shrink B to what every node of the closure reads).
  ByteSet b = pda_.readable(node) & ascii;
  std::vector<PdaNodeId> closure;
  for (int round = 0; round < 8 && !b.empty(); ++round) {
    const std::vector<std::uint8_t> reps = representatives(b);
    closure.assign(1, node);
    ByteSet common = b;
    bool too_big = false;
    for (std::size_t k = 0; k < closure.size() && !too_big; ++k) {
      common &= pda_.readable(closure[k]);
      for (const std::uint8_t r : reps) {
        const PdaNodeId y = pda_.next(closure[k], r);
        if (y == kNoNode || std::find(closure.begin(), closure.end(), y) != closure.end()) continue;
        if (closure.size() >= kMaxNodes) too_big = true;
        closure.push_back(y);
      }
    }
    if (too_big) {
      b = ByteSet();
      break;
    }
    if (common == b) {
      out.bytes = b;
      out.length = 255;
      out.reach = 0;
      for (const PdaNodeId y : closure) {
        if (pda_.need(y) >= max_depth_) return {};
        out.reach = std::max(out.reach, pda_.need(y));
      }
      return out;
    }
    b = common;
  }
  // Bounded (a counted repetition): every string over what the node reads, up to some length.
  b = pda_.readable(node) & ascii;
  if (b.empty()) return out;
  const std::vector<std::uint8_t> reps = representatives(b);
  std::vector<PdaNodeId> cur = {node}, next;
  out.bytes = b;
  out.reach = pda_.need(node);
  for (int len = 1; len <= 32; ++len) {
    next.clear();
    if (cur.size() > kMaxNodes) return out;
    for (const PdaNodeId x : cur) {
      for (const std::uint8_t r : reps) {
        const PdaNodeId y = pda_.next(x, r);
        if (y == kNoNode || pda_.need(y) >= max_depth_) return out;
        if (std::find(next.begin(), next.end(), y) == next.end()) next.push_back(y);
      }
    }
    for (const PdaNodeId y : next) out.reach = std::max(out.reach, pda_.need(y));
    out.length = static_cast<std::uint8_t>(len);
    cur.swap(next);
  }
  return out;
}

bool PlainTextCheck::step(PdaNodeId x, int plain, std::vector<PdaNodeId>& out) const {
  const auto push_unique = [&](PdaNodeId y) {
    if (std::find(out.begin(), out.end(), y) == out.end()) out.push_back(y);
  };
  for (const std::uint8_t b : ascii_) {
    const PdaNodeId y = pda_.next(x, b);
    if (y == kNoNode) return false;
    push_unique(y);
  }
  const std::size_t forms = plain == TokenVocabulary::kBmp ? kBmpForms : kForms;
  for (std::size_t f = 0; f < forms; ++f) {
    if (!walk_form(x, f, 0, out)) return false;
  }
  return true;
}

bool PlainTextCheck::walk_form(PdaNodeId x, std::size_t form, int pos, std::vector<PdaNodeId>& out) const {
  if (pos == kUtf8FormLengths[form]) {
    if (std::find(out.begin(), out.end(), x) == out.end()) out.push_back(x);
    return true;
  }
  for (const std::uint8_t b : forms_[form * 4 + static_cast<std::size_t>(pos)]) {
    const PdaNodeId y = pda_.next(x, b);
    if (y == kNoNode || !walk_form(y, form, pos + 1, out)) return false;
  }
  return true;
}

NodeClassifier::NodeClassifier(const Pda& pda, const TokenVocabulary& vocab, const GrammarLimits& limits)
    : pda_(pda),
      vocab_(vocab),
      trie_(vocab.trie()),
      machine_(pda, limits.max_stack_depth, limits.max_stacks),
      plain_(pda, limits.max_stack_depth) {}

void NodeClassifier::ensure_depth(std::size_t d) {
  if (states_.size() <= d) {
    states_.resize(d + 1);
    marks_.resize(d + 1);
    unknown_.resize(d + 1);
    fast_.resize(d + 1, kNoNode);
  }
}

bool NodeClassifier::in_slice(TokenId t) const {
  const int c = vocab_.plain_chars(t, slice_plain_);
  return slice_chars_ >= 0 && c >= 0 && c <= slice_chars_;
}

void NodeClassifier::add_uncertain(TokenId t) {
  const std::string_view b = vocab_.bytes(t);
  uncertain_.push_back({t, uncertain_.empty() ? std::uint16_t{0} : common_prefix(last_uncertain_, b)});
  last_uncertain_ = b;
}

void NodeClassifier::accept_below(std::size_t i) {
  for (const TokenId t : trie_.tokens_below(i)) {
    if (!in_slice(t)) accepted_.push_back(t);
  }
}

NodeMask NodeClassifier::classify(PdaNodeId node) {
  accepted_.clear();
  uncertain_.clear();
  last_uncertain_ = {};
  machine_.pool().clear();
  machine_.set_study_rule(pda_.node(node).rule);
  machine_.reset_max_reach();
  reach_ = pda_.need(node);
  // The slice accepted wholesale at the root: the larger of the two kinds of plain text.
  int slice_level = -1;
  slice_plain_ = TokenVocabulary::kAnyPlain;
  for (const int kind : {TokenVocabulary::kAnyPlain, TokenVocabulary::kBmp}) {
    const PlainTextCheck::Level& root = plain_.level(node, kind);
    int level = -1;
    for (std::size_t i = 0; i < TokenVocabulary::kSliceLevels.size(); ++i) {
      if (TokenVocabulary::kSliceLevels[i] <= root.chars) level = static_cast<int>(i);
    }
    if (level > slice_level) {
      slice_level = level;
      slice_plain_ = kind;
    }
  }
  slice_chars_ = slice_level >= 0 ? TokenVocabulary::kSliceLevels[static_cast<std::size_t>(slice_level)] : -1;
  if (slice_level >= 0) reach_ = std::max(reach_, plain_.level(node, slice_plain_).reach);
  ensure_depth(1);
  fast_[0] = node;
  unknown_[0] = false;
  marks_[0] = 0;
  const ByteSet& readable = pda_.readable(node);
  for (int first = 0; first < 256; ++first) {
    const std::uint32_t child = trie_.root_child(static_cast<std::uint8_t>(first));
    if (child != 0 && readable.test(static_cast<std::uint8_t>(first))) visit(child, 1);
  }

  NodeMask m;
  m.uncertain = uncertain_;
  m.max_reach = std::max(reach_, machine_.max_reach());
  const TokenMask* slice =
      slice_level >= 0 ? &vocab_.slice(static_cast<std::size_t>(slice_level), slice_plain_) : nullptr;
  m.n_accepted = static_cast<std::int64_t>(accepted_.size()) + (slice != nullptr ? slice->count() : 0);
  m.dense = m.n_accepted > vocab_.n_tokens() / 32;
  if (m.dense) {
    m.accepted_bits = slice != nullptr ? *slice : TokenMask(vocab_.n_tokens());
    for (const TokenId t : accepted_) m.accepted_bits.set(t);
  } else {
    // In id order through a scratch bitset (cheaper than sorting a few thousand ids).
    if (scratch_.n_tokens() != vocab_.n_tokens()) scratch_.resize(vocab_.n_tokens());
    for (const TokenId t : accepted_) scratch_.set(t);
    if (slice != nullptr) scratch_ |= *slice;
    m.accepted_list.reserve(static_cast<std::size_t>(m.n_accepted));
    scratch_.for_each([&](TokenId t) { m.accepted_list.push_back(t); });
    for (const TokenId t : m.accepted_list) scratch_.reset(t);
  }
  return m;
}

void NodeClassifier::visit(std::size_t i, std::size_t d) {
  ++visits_;
  if (slice_chars_ >= 0 && trie_.subtree_plain_chars(i, slice_plain_) <= slice_chars_) return;  // in the root slice
  ensure_depth(d + 1);
  ByteSet readable;
  const PdaNodeId parent_fast = fast_[d - 1];
  const PdaNodeId t = parent_fast != kNoNode ? pda_.next(parent_fast, trie_.byte(i)) : kNoNode;
  if (parent_fast != kNoNode && t == kNoNode) return;
  if (t != kNoNode && flat(pda_.node(t))) {
    // One stack, inside the rule, at a node that only reads: a table lookup.
    if (pda_.need(t) >= machine_.max_depth()) return;
    reach_ = std::max(reach_, pda_.need(t));
    fast_[d] = t;
    unknown_[d] = false;
    for (const TokenId tok : trie_.tokens(i)) {
      if (!in_slice(tok)) accepted_.push_back(tok);
    }
    // Tokens below made of bytes the node reads for sure, short enough: accepted without a walk.
    if (const ByteSet* below = trie_.below_bytes(i); below != nullptr) {
      const PlainTextCheck::ByteLevel& bl = plain_.byte_level(t);
      if (bl.length > 0 && trie_.below_length(i) <= bl.length && (*below & ~bl.bytes).empty()) {
        reach_ = std::max(reach_, bl.reach);
        accept_below(i);
        return;
      }
    }
    // Plain text below that the node reads for sure: accepted without a walk.
    for (const int kind : {TokenVocabulary::kAnyPlain, TokenVocabulary::kBmp}) {
      const std::uint8_t prefix = trie_.prefix_plain_chars(i, kind), below = trie_.subtree_plain_chars(i, kind);
      if (prefix == 255 || below == 255) continue;
      const PlainTextCheck::Level& lv = plain_.level(t, kind);
      if (lv.chars == PlainTextCheck::kAny || below - prefix <= lv.chars) {
        reach_ = std::max(reach_, lv.reach);
        accept_below(i);
        return;
      }
    }
    readable = pda_.readable(t);
  } else {
    fast_[d] = kNoNode;
    if (!general_step(i, d)) return;
    if (unknown_[d]) {
      readable = ByteSet::all();  // what the unknown context reads is unknown: every child is uncertain at least
    } else {
      for (const std::uint32_t f : states_[d]) readable |= pda_.readable(machine_.pool()[f].node);
    }
  }
  for (std::size_t c = i + 1; c < trie_.end(i); c = trie_.end(c)) {
    if (readable.test(trie_.byte(c))) visit(c, d + 1);
  }
}

std::vector<std::uint32_t>& NodeClassifier::parent_states(std::size_t d) {
  if (fast_[d] != kNoNode) {
    // Every level up to d is a single in-rule node: no frame below is needed.
    machine_.pool().clear();
    states_[d].assign(1, machine_.push(fast_[d], kParentRuleEnd, 0, 0));
    marks_[d] = machine_.pool().size();
  }
  return states_[d];
}

bool NodeClassifier::general_step(std::size_t i, std::size_t d) {
  const std::vector<std::uint32_t>& in = parent_states(d - 1);
  machine_.pool().resize(marks_[d - 1]);
  auto& out = states_[d];
  out.clear();
  StepFlags flags;
  machine_.advance(in, trie_.byte(i), out, flags);
  marks_[d] = machine_.pool().size();
  const bool unknown = unknown_[d - 1] || flags.unknown || flags.overflow;
  unknown_[d] = unknown;
  bool in_rule = flags.rule_end, guessed = flags.guessed_end;
  for (const std::uint32_t f : out) {
    (machine_.pool()[f].guessed ? guessed : in_rule) = true;
  }
  for (const TokenId t : trie_.tokens(i)) {
    if (in_slice(t)) continue;
    if (in_rule) {
      accepted_.push_back(t);
    } else if (guessed || unknown) {
      add_uncertain(t);
    }
  }
  if (!out.empty()) return true;
  if (unknown) {
    for (const TokenId t : trie_.tokens_below(i)) {
      if (!in_slice(t)) add_uncertain(t);
    }
  }
  return false;
}

}  // namespace parley
