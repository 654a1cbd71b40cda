#include "grammar/grammar.h"

#include <algorithm>

#include "base/check.h"
#include "fmt/format.h"

namespace parley {
namespace {

constexpr char32_t kMaxCodepoint = 0x10FFFF;

int utf8_length(char32_t cp) {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

void encode(char32_t cp, std::uint8_t* out) {
  switch (utf8_length(cp)) {
    case 1:
      out[0] = static_cast<std::uint8_t>(cp);
      break;
    case 2:
      out[0] = static_cast<std::uint8_t>(0xC0 | (cp >> 6));
      out[1] = static_cast<std::uint8_t>(0x80 | (cp & 0x3F));
      break;
    case 3:
      out[0] = static_cast<std::uint8_t>(0xE0 | (cp >> 12));
      out[1] = static_cast<std::uint8_t>(0x80 | ((cp >> 6) & 0x3F));
      out[2] = static_cast<std::uint8_t>(0x80 | (cp & 0x3F));
      break;
    default:
      out[0] = static_cast<std::uint8_t>(0xF0 | (cp >> 18));
      out[1] = static_cast<std::uint8_t>(0x80 | ((cp >> 12) & 0x3F));
      out[2] = static_cast<std::uint8_t>(0x80 | ((cp >> 6) & 0x3F));
      out[3] = static_cast<std::uint8_t>(0x80 | (cp & 0x3F));
  }
}

// Splits [lo, hi] (code points of one UTF-8 length, no surrogates) into ranges each of which is a
// sequence of byte ranges, the classic construction: a range is such a sequence when, for every
// continuation position, either all values of that position are covered or lo and hi agree on
// the bytes before it.
void split_utf8(char32_t lo, char32_t hi, std::vector<std::pair<char32_t, char32_t>>& out) {
  const int n = utf8_length(lo);
  for (int i = 1; i < n; ++i) {
    const char32_t m = (char32_t{1} << (6 * i)) - 1;
    if ((lo & ~m) != (hi & ~m)) {
      if ((lo & m) != 0) {
        split_utf8(lo, lo | m, out);
        split_utf8((lo | m) + 1, hi, out);
        return;
      }
      if ((hi & m) != m) {
        split_utf8(lo, (hi & ~m) - 1, out);
        split_utf8(hi & ~m, hi, out);
        return;
      }
    }
  }
  out.emplace_back(lo, hi);
}

std::string byte_set_string(const ByteSet& s) {
  if (s.count() == 1) {
    for (int b = 0; b < 256; ++b) {
      if (s.test(static_cast<std::uint8_t>(b))) {
        if (b >= 0x20 && b < 0x7F && b != '"' && b != '\\') return fmt::format("\"{}\"", static_cast<char>(b));
        return fmt::format("\\x{:02X}", b);
      }
    }
  }
  std::string out = "[";
  for (int b = 0; b < 256;) {
    if (!s.test(static_cast<std::uint8_t>(b))) {
      ++b;
      continue;
    }
    int e = b;
    while (e + 1 < 256 && s.test(static_cast<std::uint8_t>(e + 1))) ++e;
    const auto show = [](int c) {
      return c >= 0x21 && c < 0x7F && c != ']' && c != '\\' && c != '-' ? std::string(1, static_cast<char>(c))
                                                                        : fmt::format("\\x{:02X}", c);
    };
    out += show(b);
    if (e > b) out += "-" + show(e);
    b = e + 1;
  }
  return out + "]";
}

}  // namespace

RuleId Grammar::add_rule(std::string name) {
  rules_.push_back({std::move(name), -1});
  return static_cast<RuleId>(rules_.size() - 1);
}

void Grammar::set_rule(RuleId rule, ExprId expr) {
  CHECK(rule >= 0 && rule < n_rules(), "no rule {}", rule);
  rules_[static_cast<std::size_t>(rule)].expr = expr;
}

RuleId Grammar::find_rule(std::string_view name) const {
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    if (rules_[i].name == name) return static_cast<RuleId>(i);
  }
  return -1;
}

Result<Grammar> Grammar::from_parts(std::vector<Expr> exprs, std::vector<std::pair<std::string, ExprId>> rules,
                                    RuleId root) {
  const auto n_exprs = static_cast<ExprId>(exprs.size());
  const auto n_rules = static_cast<RuleId>(rules.size());
  if (root < 0 || root >= n_rules) return invalid_argument_error("grammar: root rule {} out of range", root);
  for (ExprId id = 0; id < n_exprs; ++id) {
    const Expr& e = exprs[static_cast<std::size_t>(id)];
    const auto before = [&](ExprId c) { return c >= 0 && c < id; };
    for (const ExprId c : e.children) {
      if (!before(c)) return invalid_argument_error("grammar: expression {} has child {} out of order", id, c);
    }
    switch (e.kind) {
      case ExprKind::kEmpty:
      case ExprKind::kBytes:
      case ExprKind::kSeq:
      case ExprKind::kAlt:
        break;
      case ExprKind::kRepeat:
        if (e.children.size() != 1 || e.min < 0 || (e.max != kUnbounded && (e.max < e.min || e.max < 0)))
          return invalid_argument_error("grammar: repetition {} is malformed", id);
        break;
      case ExprKind::kRule:
        if (e.rule < 0 || e.rule >= n_rules) return invalid_argument_error("grammar: expression {} names no rule", id);
        break;
      case ExprKind::kSeparated:
        if (e.counts.size() != e.children.size() || !before(e.separator))
          return invalid_argument_error("grammar: separated list {} is malformed", id);
        for (const auto& [lo, hi] : e.counts) {
          if (lo < 0 || (hi != kUnbounded && hi < lo))
            return invalid_argument_error("grammar: separated list {} is malformed", id);
        }
        break;
      default:
        return invalid_argument_error("grammar: expression {} has an unknown kind", id);
    }
  }
  Grammar g;
  g.exprs_ = std::move(exprs);
  for (auto& [name, expr] : rules) {
    if (expr < 0 || expr >= n_exprs) return invalid_argument_error("grammar: rule '{}' has no expression", name);
    g.rules_.push_back({std::move(name), expr});
  }
  g.root_ = root;
  return g;
}

ExprId Grammar::add(Expr e) {
  exprs_.push_back(std::move(e));
  return static_cast<ExprId>(exprs_.size() - 1);
}

ExprId Grammar::empty() {
  return add(Expr{});
}

ExprId Grammar::bytes(const ByteSet& set) {
  Expr e;
  e.kind = ExprKind::kBytes;
  e.bytes = set;
  return add(std::move(e));
}

ExprId Grammar::literal(std::string_view text) {
  if (text.size() == 1) return byte(static_cast<std::uint8_t>(text[0]));
  std::vector<ExprId> items;
  items.reserve(text.size());
  for (const char c : text) items.push_back(byte(static_cast<std::uint8_t>(c)));
  return seq(std::move(items));
}

ExprId Grammar::seq(std::vector<ExprId> items) {
  if (items.empty()) return empty();
  if (items.size() == 1) return items[0];
  Expr e;
  e.kind = ExprKind::kSeq;
  e.children = std::move(items);
  return add(std::move(e));
}

ExprId Grammar::alt(std::vector<ExprId> items) {
  CHECK(!items.empty(), "an alternative needs at least one branch");
  if (items.size() == 1) return items[0];
  Expr e;
  e.kind = ExprKind::kAlt;
  e.children = std::move(items);
  return add(std::move(e));
}

ExprId Grammar::repeat(ExprId item, std::int32_t min, std::int32_t max) {
  CHECK(min >= 0 && (max == kUnbounded || max >= min), "bad repetition {{{},{}}}", min, max);
  if (min == 1 && max == 1) return item;
  Expr e;
  e.kind = ExprKind::kRepeat;
  e.children = {item};
  e.min = min;
  e.max = max;
  return add(std::move(e));
}

ExprId Grammar::ref(RuleId rule) {
  CHECK(rule >= 0 && rule < n_rules(), "no rule {}", rule);
  Expr e;
  e.kind = ExprKind::kRule;
  e.rule = rule;
  return add(std::move(e));
}

ExprId Grammar::separated(std::vector<SeparatedItem> items, ExprId separator, bool nonempty) {
  Expr e;
  e.kind = ExprKind::kSeparated;
  for (const SeparatedItem& item : items) {
    CHECK(item.min >= 0 && (item.max == kUnbounded || (item.max >= item.min && item.max >= 1)), "bad item count");
    e.children.push_back(item.expr);
    e.counts.emplace_back(item.min, item.max);
  }
  e.separator = separator;
  e.nonempty = nonempty;
  return add(std::move(e));
}

ExprId Grammar::codepoints(std::span<const CodepointRange> ranges, bool negate) {
  // Normalise: sorted, merged, clipped, surrogates removed; then complement when negated.
  std::vector<std::pair<char32_t, char32_t>> set;
  for (const CodepointRange& r : ranges) {
    if (r.lo > r.hi || r.lo > kMaxCodepoint) continue;
    set.emplace_back(r.lo, std::min(r.hi, kMaxCodepoint));
  }
  std::sort(set.begin(), set.end());
  std::vector<std::pair<char32_t, char32_t>> merged;
  for (const auto& r : set) {
    if (!merged.empty() && r.first <= merged.back().second + 1) {
      merged.back().second = std::max(merged.back().second, r.second);
    } else {
      merged.push_back(r);
    }
  }
  if (negate) {
    std::vector<std::pair<char32_t, char32_t>> inverse;
    char32_t next = 0;
    for (const auto& r : merged) {
      if (r.first > next) inverse.emplace_back(next, r.first - 1);
      next = r.second + 1;
    }
    if (next <= kMaxCodepoint) inverse.emplace_back(next, kMaxCodepoint);
    merged = std::move(inverse);
  }
  // Cut at the UTF-8 length boundaries and around the surrogates.
  std::vector<std::pair<char32_t, char32_t>> pieces;
  for (auto [lo, hi] : merged) {
    for (const auto& [a, b] : {std::pair<char32_t, char32_t>{0, 0x7F},
                               {0x80, 0x7FF},
                               {0x800, 0xD7FF},
                               {0xE000, 0xFFFF},
                               {0x10000, kMaxCodepoint}}) {
      const char32_t l = std::max(lo, a), h = std::min(hi, b);
      if (l <= h) split_utf8(l, h, pieces);
    }
  }
  if (pieces.empty()) {
    // Nothing matches: an empty byte set can never be crossed.
    return bytes(ByteSet());
  }
  std::vector<ExprId> branches;
  ByteSet ascii;
  for (const auto& [lo, hi] : pieces) {
    std::uint8_t a[4], b[4];
    encode(lo, a);
    encode(hi, b);
    const int n = utf8_length(lo);
    if (n == 1) {
      ascii.set_range(a[0], b[0]);
      continue;
    }
    std::vector<ExprId> items;
    for (int i = 0; i < n; ++i) items.push_back(bytes(ByteSet::range(a[i], b[i])));
    branches.push_back(seq(std::move(items)));
  }
  if (!ascii.empty()) branches.insert(branches.begin(), bytes(ascii));
  return alt(std::move(branches));
}

ExprId Grammar::any_char() {
  const CodepointRange all{0, kMaxCodepoint};
  return codepoints(std::span(&all, 1));
}

ExprId Grammar::special_token(std::int32_t id) {
  CHECK(id >= 0 && id < kSpecialTokenIdLimit, "special token id {} cannot be spelled", id);
  return seq({byte(kSpecialTokenByte), byte(static_cast<std::uint8_t>(id >> 16)),
              byte(static_cast<std::uint8_t>((id >> 8) & 0xFF)), byte(static_cast<std::uint8_t>(id & 0xFF))});
}

std::string Grammar::expr_string(ExprId id) const {
  const Expr& e = expr(id);
  switch (e.kind) {
    case ExprKind::kEmpty:
      return "\"\"";
    case ExprKind::kBytes:
      return byte_set_string(e.bytes);
    case ExprKind::kRule:
      return rule_name(e.rule);
    case ExprKind::kSeq:
    case ExprKind::kAlt: {
      std::string out = "(";
      for (std::size_t i = 0; i < e.children.size(); ++i) {
        if (i > 0) out += e.kind == ExprKind::kSeq ? " " : " | ";
        out += expr_string(e.children[i]);
      }
      return out + ")";
    }
    case ExprKind::kSeparated: {
      std::string out = "sep(" + expr_string(e.separator) + (e.nonempty ? ", nonempty" : "") + ";";
      for (std::size_t i = 0; i < e.children.size(); ++i) {
        out += fmt::format(" {}{{{},{}}}", expr_string(e.children[i]), e.counts[i].first, e.counts[i].second);
      }
      return out + ")";
    }
    case ExprKind::kRepeat: {
      const std::string inner = expr_string(e.children[0]);
      if (e.min == 0 && e.max == 1) return inner + "?";
      if (e.min == 0 && e.max == kUnbounded) return inner + "*";
      if (e.min == 1 && e.max == kUnbounded) return inner + "+";
      if (e.max == kUnbounded) return fmt::format("{}{{{},}}", inner, e.min);
      return fmt::format("{}{{{},{}}}", inner, e.min, e.max);
    }
  }
  return "?";
}

std::string Grammar::to_string() const {
  std::string out;
  for (RuleId r = 0; r < n_rules(); ++r) {
    out += rule_name(r) + " ::= " + (rule_expr(r) >= 0 ? expr_string(rule_expr(r)) : "<unset>") + "\n";
  }
  return out;
}

}  // namespace parley
