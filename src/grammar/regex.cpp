#include "grammar/regex.h"

#include <algorithm>

#include "base/utf8.h"

namespace parley {
namespace {

constexpr char32_t kMaxCp = 0x10FFFF;
constexpr int kMaxRegexDepth = 64;

using Ranges = std::vector<CodepointRange>;

Ranges normalize(Ranges r) {
  std::sort(r.begin(), r.end(), [](const CodepointRange& a, const CodepointRange& b) { return a.lo < b.lo; });
  Ranges out;
  for (const CodepointRange& x : r) {
    if (x.lo > x.hi) continue;
    if (!out.empty() && x.lo <= out.back().hi + 1) {
      out.back().hi = std::max(out.back().hi, x.hi);
    } else {
      out.push_back(x);
    }
  }
  return out;
}

Ranges complement(const Ranges& in) {
  const Ranges r = normalize(in);
  Ranges out;
  char32_t next = 0;
  for (const CodepointRange& x : r) {
    if (x.lo > next) out.push_back({next, x.lo - 1});
    next = x.hi + 1;
  }
  if (next <= kMaxCp) out.push_back({next, kMaxCp});
  return out;
}

Ranges digits() {
  return {{'0', '9'}};
}
Ranges word() {
  return {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}};
}
Ranges spaces() {
  return {{'\t', '\r'}, {' ', ' '}};
}
// What Python or ECMA-262 may count as a digit, word character or space beyond ASCII: the
// negated classes leave all of it out, so that generated text matches in both dialects.
Ranges unicode_space() {
  return {{'\t', '\r'},     {0x1C, 0x20},     {0x85, 0x85},     {0xA0, 0xA0},     {0x1680, 0x1680}, {0x2000, 0x200A},
          {0x2028, 0x2029}, {0x202F, 0x202F}, {0x205F, 0x205F}, {0x3000, 0x3000}, {0xFEFF, 0xFEFF}};
}
Ranges non_ascii_plus(Ranges r) {
  r.push_back({0x80, kMaxCp});
  return r;
}
Ranges dot() {
  return complement({{'\n', '\n'}, {'\r', '\r'}, {0x2028, 0x2029}});
}

class RegexParser {
 public:
  RegexParser(Grammar& g, std::string_view p, const RegexOptions& o, const GrammarLimits& l)
      : g_(g), p_(p), options_(o), limits_(l) {}

  Result<ExprId> parse() {
    if (static_cast<std::int64_t>(p_.size()) > limits_.max_source_bytes) {
      return error("the pattern is longer than {} bytes", limits_.max_source_bytes);
    }
    if (!utf8_is_valid(p_)) return error("the pattern is not valid UTF-8");
    ASSIGN_OR_RETURN(const ExprId e, alternation(0));
    if (pos_ < p_.size()) return error("unbalanced ')' at offset {}", pos_);
    return e;
  }

 private:
  template <typename... Args>
  Status error(fmt::format_string<Args...> f, Args&&... args) const {
    return invalid_argument_error("pattern: {}", fmt::format(f, std::forward<Args>(args)...));
  }
  bool at_end() const { return pos_ >= p_.size(); }
  char peek() const { return p_[pos_]; }

  Status check_size() const {
    if (g_.n_exprs() > limits_.max_exprs) return error("too large (more than {} expressions)", limits_.max_exprs);
    return ok_status();
  }

  Result<ExprId> alternation(int depth) {
    if (depth > kMaxRegexDepth) return error("nested more than {} groups deep", kMaxRegexDepth);
    std::vector<ExprId> branches;
    while (true) {
      ASSIGN_OR_RETURN(const ExprId c, concat(depth));
      branches.push_back(c);
      if (at_end() || peek() != '|') break;
      ++pos_;
    }
    return g_.alt(std::move(branches));
  }

  Result<ExprId> concat(int depth) {
    std::vector<ExprId> items;
    if (depth == 0 && !at_end() && peek() == '^') ++pos_;
    while (!at_end() && peek() != '|' && peek() != ')') {
      if (peek() == '$') {
        ++pos_;
        if (depth == 0 && (at_end() || peek() == '|')) break;
        return error("'$' is supported only at the end (offset {})", pos_ - 1);
      }
      if (peek() == '^') return error("'^' is supported only at the start (offset {})", pos_);
      ASSIGN_OR_RETURN(ExprId a, atom(depth));
      ASSIGN_OR_RETURN(a, quantifiers(a));
      items.push_back(a);
      RETURN_IF_ERROR(check_size());
    }
    return g_.seq(std::move(items));
  }

  // Parses {m}, {m,}, {m,n} at pos_; false (pos_ unchanged) when it is not one.
  bool braces(std::int64_t* lo, std::int64_t* hi) {
    std::size_t i = pos_ + 1;
    const auto number = [&](std::int64_t* out) {
      const std::size_t start = i;
      std::int64_t v = 0;
      while (i < p_.size() && p_[i] >= '0' && p_[i] <= '9') {
        v = std::min<std::int64_t>(v * 10 + (p_[i] - '0'), 1'000'000'000);
        ++i;
      }
      *out = v;
      return i > start;
    };
    if (!number(lo)) return false;
    *hi = *lo;
    if (i < p_.size() && p_[i] == ',') {
      ++i;
      if (!number(hi)) *hi = -1;
    }
    if (i >= p_.size() || p_[i] != '}') return false;
    pos_ = i + 1;
    return true;
  }

  Result<ExprId> quantifiers(ExprId a) {
    while (!at_end()) {
      std::int64_t lo = 0, hi = 0;
      const char c = peek();
      if (c == '?') {
        lo = 0, hi = 1;
      } else if (c == '*') {
        lo = 0, hi = -1;
      } else if (c == '+') {
        lo = 1, hi = -1;
      } else if (c == '{') {
        if (!braces(&lo, &hi)) return a;  // a literal '{'
        --pos_;
      } else {
        return a;
      }
      ++pos_;
      if (!at_end() && peek() == '?') ++pos_;  // lazy: the same language
      if (hi >= 0 && hi < lo) return error("bad repetition {{{},{}}}", lo, hi);
      if (lo > limits_.max_repeat || hi > limits_.max_repeat) {
        return error("a repetition bound is larger than {}", limits_.max_repeat);
      }
      a = g_.repeat(a, static_cast<std::int32_t>(lo), hi < 0 ? kUnbounded : static_cast<std::int32_t>(hi));
    }
    return a;
  }

  Result<ExprId> atom(int depth) {
    const char c = peek();
    if (c == '(') {
      ++pos_;
      if (!at_end() && peek() == '?') {
        ++pos_;
        if (!at_end() && peek() == ':') {
          ++pos_;
        } else if (!at_end() && (peek() == '<' || peek() == 'P') && p_.substr(pos_, 2) != "<=" &&
                   p_.substr(pos_, 2) != "<!") {
          if (peek() == 'P') ++pos_;
          const std::size_t close = p_.find('>', pos_);
          if (close == std::string_view::npos) return error("unterminated group name at offset {}", pos_);
          pos_ = close + 1;
        } else {
          return error("unsupported group '(?' at offset {} (lookaround and flags are not supported)", pos_ - 2);
        }
      }
      ASSIGN_OR_RETURN(const ExprId e, alternation(depth + 1));
      if (at_end() || peek() != ')') return error("missing ')'");
      ++pos_;
      return e;
    }
    if (c == '[') return char_class();
    if (c == '.') {
      ++pos_;
      return emit(dot(), false);
    }
    if (c == '*' || c == '+' || c == '?') return error("nothing to repeat at offset {}", pos_);
    if (c == '\\') {
      Ranges set;
      bool negate = false;
      RETURN_IF_ERROR(escape(false, &set, &negate));
      return emit(std::move(set), negate);
    }
    std::size_t at = pos_;
    const char32_t cp = utf8_decode(p_, &at);
    pos_ = at;
    return emit({{cp, cp}}, false);
  }

  ExprId emit(Ranges set, bool negate) { return char_class_expr(g_, std::move(set), negate, options_); }

  // Parses an escape at pos_ ('\\'); sets `set` (and `negate` for \D \W \S outside classes).
  Status escape(bool in_class, Ranges* set, bool* negate) {
    ++pos_;
    if (at_end()) return error("trailing backslash");
    const char c = p_[pos_++];
    *negate = false;
    const auto one = [&](char32_t cp) {
      *set = {{cp, cp}};
      return ok_status();
    };
    switch (c) {
      case 'd':
        *set = digits();
        return ok_status();
      case 'w':
        *set = word();
        return ok_status();
      case 's':
        *set = spaces();
        return ok_status();
      case 'D':
        *set = complement(non_ascii_plus(digits()));
        return ok_status();
      case 'W':
        *set = complement(non_ascii_plus(word()));
        return ok_status();
      case 'S':
        *set = complement(unicode_space());
        return ok_status();
      case 'n':
        return one('\n');
      case 'r':
        return one('\r');
      case 't':
        return one('\t');
      case 'f':
        return one('\f');
      case 'v':
        return one('\v');
      case '0':
        return one(0);
      case 'x':
        return hex_escape(2, set);
      case 'u':
        if (!at_end() && peek() == '{') {
          const std::size_t close = p_.find('}', pos_);
          if (close == std::string_view::npos || close - pos_ - 1 > 6 || close == pos_ + 1)
            return error("bad \\u{{...}} escape");
          char32_t v = 0;
          for (std::size_t i = pos_ + 1; i < close; ++i) {
            const int h = hex_value(p_[i]);
            if (h < 0) return error("bad \\u{{...}} escape");
            v = v * 16 + static_cast<char32_t>(h);
          }
          pos_ = close + 1;
          if (v > kMaxCp) return error("\\u{{...}} escape beyond U+10FFFF");
          return one(v);
        }
        return hex_escape(4, set);
      case 'b':
        if (in_class) return one('\b');
        return error("\\b (word boundary) is not supported");
      default:
        break;
    }
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '1' && c <= '9')) {
      return error("unsupported escape '\\{}' at offset {}", c, pos_ - 2);
    }
    --pos_;
    std::size_t at = pos_;
    const char32_t cp = utf8_decode(p_, &at);
    pos_ = at;
    return one(cp);
  }

  static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  Status hex_escape(int n, Ranges* set) {
    if (pos_ + static_cast<std::size_t>(n) > p_.size()) return error("truncated hex escape");
    char32_t v = 0;
    for (int i = 0; i < n; ++i) {
      const int h = hex_value(p_[pos_ + static_cast<std::size_t>(i)]);
      if (h < 0) return error("bad hex escape at offset {}", pos_);
      v = v * 16 + static_cast<char32_t>(h);
    }
    pos_ += static_cast<std::size_t>(n);
    *set = {{v, v}};
    return ok_status();
  }

  Result<ExprId> char_class() {
    ++pos_;
    bool negate = false;
    if (!at_end() && peek() == '^') {
      negate = true;
      ++pos_;
    }
    Ranges set;
    bool first = true;
    while (true) {
      if (at_end()) return error("missing ']'");
      if (peek() == ']' && !first) break;
      first = false;
      Ranges item;
      RETURN_IF_ERROR(class_atom(&item));
      if (item.size() == 1 && item[0].lo == item[0].hi && pos_ + 1 < p_.size() && peek() == '-' &&
          p_[pos_ + 1] != ']') {
        ++pos_;
        Ranges hi;
        RETURN_IF_ERROR(class_atom(&hi));
        if (hi.size() != 1 || hi[0].lo != hi[0].hi) return error("bad range in a class");
        if (hi[0].lo < item[0].lo) return error("range out of order in a class");
        item = {{item[0].lo, hi[0].lo}};
      }
      set.insert(set.end(), item.begin(), item.end());
    }
    ++pos_;
    return emit(std::move(set), negate);
  }

  Status class_atom(Ranges* out) {
    if (peek() == '\\') {
      bool negate = false;
      return escape(true, out, &negate);
    }
    if (peek() == '[' && pos_ + 1 < p_.size() && p_[pos_ + 1] == ':') return error("POSIX classes are not supported");
    std::size_t at = pos_;
    const char32_t cp = utf8_decode(p_, &at);
    pos_ = at;
    *out = {{cp, cp}};
    return ok_status();
  }

  Grammar& g_;
  std::string_view p_;
  const RegexOptions& options_;
  const GrammarLimits& limits_;
  std::size_t pos_ = 0;
};

}  // namespace

ExprId char_class_expr(Grammar& g, std::vector<CodepointRange> ranges, bool negate, const RegexOptions& options) {
  Ranges set = negate ? complement(ranges) : normalize(std::move(ranges));
  if (!options.json_string) return g.codepoints(set);
  // Characters that JSON must escape are emitted as their escapes.
  Ranges plain;
  std::vector<ExprId> branches;
  for (const CodepointRange& r : set) {
    for (char32_t c = r.lo; c <= std::min<char32_t>(r.hi, 0x5C); ++c) {
      if (c >= 0x20 && c != '"' && c != '\\') continue;
      switch (c) {
        case '"':
          branches.push_back(g.literal("\\\""));
          break;
        case '\\':
          branches.push_back(g.literal("\\\\"));
          break;
        case '\b':
          branches.push_back(g.literal("\\b"));
          break;
        case '\f':
          branches.push_back(g.literal("\\f"));
          break;
        case '\n':
          branches.push_back(g.literal("\\n"));
          break;
        case '\r':
          branches.push_back(g.literal("\\r"));
          break;
        case '\t':
          branches.push_back(g.literal("\\t"));
          break;
        default:
          branches.push_back(g.literal(fmt::format("\\u{:04x}", static_cast<unsigned>(c))));
      }
    }
    plain.push_back(r);
  }
  const Ranges excluded = {{0, 0x1F}, {'"', '"'}, {'\\', '\\'}};
  Ranges keep;
  for (const CodepointRange& r : complement(excluded)) {
    for (const CodepointRange& s : plain) {
      const char32_t lo = std::max(r.lo, s.lo), hi = std::min(r.hi, s.hi);
      if (lo <= hi) keep.push_back({lo, hi});
    }
  }
  if (!keep.empty()) branches.insert(branches.begin(), g.codepoints(keep));
  if (branches.empty()) return g.codepoints({});
  return g.alt(std::move(branches));
}

Result<ExprId> regex_expr(Grammar& g, std::string_view pattern, const RegexOptions& options,
                          const GrammarLimits& limits) {
  RegexParser parser(g, pattern, options, limits);
  return parser.parse();
}

Result<Grammar> regex_grammar(std::string_view pattern, const GrammarLimits& limits) {
  Grammar g;
  const RuleId root = g.add_rule("root");
  ASSIGN_OR_RETURN(const ExprId e, regex_expr(g, pattern, {}, limits));
  g.set_rule(root, e);
  g.set_root(root);
  return g;
}

}  // namespace parley
