// GBNF (llama.cpp's grammar format) -> Grammar. See docs/grammar.md for the accepted syntax:
//   name ::= alternatives          (the rule named "root" is the grammar)
//   "literal" with \n \r \t \\ \" \xHH \uHHHH \UHHHHHHHH escapes, [a-z...] and [^...] classes,
//   . (any character), (groups), | alternatives, * + ? {m} {m,} {m,n} quantifiers, # comments,
//   and <[123]> for the control token with id 123 (Parley's extension).
// Left recursion is refused by the compiler, as are rules used but never defined.
#include "grammar/gbnf.h"

#include <string>
#include <vector>

#include "base/utf8.h"
#include "grammar/grammar.h"
#include "grammar/grammar_limits.h"
#include "grammar/regex.h"

namespace parley {
namespace {

class GbnfParser {
 public:
  GbnfParser(std::string_view text, const GrammarLimits& limits) : s_(text), limits_(limits) {}

  Result<Grammar> parse() {
    if (static_cast<std::int64_t>(s_.size()) > limits_.max_source_bytes) {
      return invalid_argument_error("the grammar is longer than {} bytes", limits_.max_source_bytes);
    }
    if (!utf8_is_valid(s_)) return invalid_argument_error("the grammar is not valid UTF-8");
    skip_space();
    while (pos_ < s_.size()) {
      const std::string name = identifier();
      if (name.empty()) return error("expected a rule name");
      skip_space();
      if (s_.substr(pos_, 3) != "::=") return error("expected '::=' after '" + name + "'");
      pos_ += 3;
      const RuleId rule = rule_id(name);
      if (g_.rule_expr(rule) >= 0) return error("rule '" + name + "' is defined twice");
      ASSIGN_OR_RETURN(const ExprId e, alternatives(0));
      g_.set_rule(rule, e);
      skip_space();
    }
    const RuleId root = g_.find_rule("root");
    if (root < 0) return invalid_argument_error("the grammar has no rule named 'root'");
    g_.set_root(root);
    return std::move(g_);
  }

 private:
  Status error(const std::string& what) const {
    std::size_t line = 1;
    for (std::size_t i = 0; i < pos_ && i < s_.size(); ++i) line += s_[i] == '\n' ? 1 : 0;
    return invalid_argument_error("grammar line {}: {}", line, what);
  }

  void skip_space() {
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (c == '#') {
        while (pos_ < s_.size() && s_[pos_] != '\n') ++pos_;
      } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++pos_;
      } else {
        break;
      }
    }
  }

  static bool name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  }

  std::string identifier() {
    const std::size_t start = pos_;
    while (pos_ < s_.size() && name_char(s_[pos_])) ++pos_;
    return std::string(s_.substr(start, pos_ - start));
  }

  // True when an identifier followed by "::=" starts here: the next rule.
  bool at_rule_start() const {
    std::size_t i = pos_;
    while (i < s_.size() && name_char(s_[i])) ++i;
    if (i == pos_) return false;
    while (i < s_.size() && (s_[i] == ' ' || s_[i] == '\t' || s_[i] == '\n' || s_[i] == '\r')) ++i;
    return s_.substr(i, 3) == "::=";
  }

  RuleId rule_id(const std::string& name) {
    const RuleId r = g_.find_rule(name);
    return r >= 0 ? r : g_.add_rule(name);
  }

  Result<ExprId> alternatives(int depth) {
    if (depth > 64) return error("groups nested too deeply");
    std::vector<ExprId> branches;
    while (true) {
      ASSIGN_OR_RETURN(const ExprId seq, sequence(depth));
      branches.push_back(seq);
      skip_space();
      if (pos_ < s_.size() && s_[pos_] == '|') {
        ++pos_;
        continue;
      }
      break;
    }
    return g_.alt(std::move(branches));
  }

  Result<ExprId> sequence(int depth) {
    std::vector<ExprId> items;
    while (true) {
      skip_space();
      if (pos_ >= s_.size() || s_[pos_] == '|' || s_[pos_] == ')' || at_rule_start()) break;
      ASSIGN_OR_RETURN(ExprId item, primary(depth));
      ASSIGN_OR_RETURN(item, quantifier(item));
      items.push_back(item);
      if (g_.n_exprs() > limits_.max_exprs) return error("the grammar is too large");
    }
    return g_.seq(std::move(items));
  }

  Result<ExprId> quantifier(ExprId item) {
    if (pos_ >= s_.size()) return item;
    const char c = s_[pos_];
    if (c == '*' || c == '+' || c == '?') {
      ++pos_;
      return c == '*' ? g_.star(item) : c == '+' ? g_.plus(item) : g_.optional(item);
    }
    if (c != '{') return item;
    ++pos_;
    const auto number = [&](std::int64_t* out) {
      const std::size_t start = pos_;
      std::int64_t v = 0;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9')
        v = std::min<std::int64_t>(v * 10 + (s_[pos_++] - '0'), 1 << 30);
      *out = v;
      return pos_ > start;
    };
    std::int64_t lo = 0, hi = 0;
    skip_space();
    if (!number(&lo)) return error("expected a number in {m,n}");
    hi = lo;
    skip_space();
    if (pos_ < s_.size() && s_[pos_] == ',') {
      ++pos_;
      skip_space();
      if (!number(&hi)) hi = -1;
      skip_space();
    }
    if (pos_ >= s_.size() || s_[pos_] != '}') return error("expected '}'");
    ++pos_;
    if ((hi >= 0 && hi < lo) || lo > limits_.max_repeat || hi > limits_.max_repeat)
      return error("bad repetition bounds");
    return g_.repeat(item, static_cast<std::int32_t>(lo), hi < 0 ? kUnbounded : static_cast<std::int32_t>(hi));
  }

  Result<char32_t> escaped_char() {
    ++pos_;  // the backslash
    if (pos_ >= s_.size()) return error("trailing backslash");
    const char c = s_[pos_++];
    const auto hex = [&](int n) -> Result<char32_t> {
      char32_t v = 0;
      for (int i = 0; i < n; ++i, ++pos_) {
        if (pos_ >= s_.size()) return error("truncated escape");
        const char h = s_[pos_];
        const int d = h >= '0' && h <= '9'   ? h - '0'
                      : h >= 'a' && h <= 'f' ? h - 'a' + 10
                      : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                             : -1;
        if (d < 0) return error("bad hex escape");
        v = v * 16 + static_cast<char32_t>(d);
      }
      return v;
    };
    switch (c) {
      case 'n':
        return U'\n';
      case 'r':
        return U'\r';
      case 't':
        return U'\t';
      case 'x':
        return hex(2);
      case 'u':
        return hex(4);
      case 'U':
        return hex(8);
      default:
        return static_cast<char32_t>(static_cast<unsigned char>(c));
    }
  }

  Result<char32_t> next_char() {
    if (s_[pos_] == '\\') return escaped_char();
    std::size_t at = pos_;
    const char32_t c = utf8_decode(s_, &at);
    pos_ = at;
    return c;
  }

  Result<ExprId> primary(int depth) {
    const char c = s_[pos_];
    if (c == '"') {
      ++pos_;
      std::string text;
      while (pos_ < s_.size() && s_[pos_] != '"') {
        ASSIGN_OR_RETURN(const char32_t cp, next_char());
        if (cp > 0x10FFFF) return error("character beyond U+10FFFF");
        utf8_append(text, cp);
      }
      if (pos_ >= s_.size()) return error("unterminated string");
      ++pos_;
      return g_.literal(text);
    }
    if (c == '[') {
      ++pos_;
      bool negate = false;
      if (pos_ < s_.size() && s_[pos_] == '^') {
        negate = true;
        ++pos_;
      }
      std::vector<CodepointRange> ranges;
      while (pos_ < s_.size() && s_[pos_] != ']') {
        ASSIGN_OR_RETURN(const char32_t lo, next_char());
        char32_t hi = lo;
        if (pos_ + 1 < s_.size() && s_[pos_] == '-' && s_[pos_ + 1] != ']') {
          ++pos_;
          ASSIGN_OR_RETURN(hi, next_char());
        }
        if (hi < lo) return error("character range out of order");
        ranges.push_back({lo, hi});
      }
      if (pos_ >= s_.size()) return error("unterminated character class");
      ++pos_;
      return char_class_expr(g_, std::move(ranges), negate, {});
    }
    if (c == '.') {
      ++pos_;
      return g_.any_char();
    }
    if (c == '(') {
      ++pos_;
      ASSIGN_OR_RETURN(const ExprId e, alternatives(depth + 1));
      skip_space();
      if (pos_ >= s_.size() || s_[pos_] != ')') return error("expected ')'");
      ++pos_;
      return e;
    }
    if (c == '<' && s_.substr(pos_, 2) == "<[") {
      pos_ += 2;
      std::int64_t id = 0;
      const std::size_t start = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9')
        id = std::min<std::int64_t>(id * 10 + (s_[pos_++] - '0'), kSpecialTokenIdLimit);
      if (pos_ == start || s_.substr(pos_, 2) != "]>" || id >= kSpecialTokenIdLimit)
        return error("expected <[token id]>");
      pos_ += 2;
      return g_.special_token(static_cast<std::int32_t>(id));
    }
    const std::string name = identifier();
    if (name.empty()) return error(std::string("unexpected '") + c + "'");
    return g_.ref(rule_id(name));
  }

  std::string_view s_;
  const GrammarLimits& limits_;
  std::size_t pos_ = 0;
  Grammar g_;
};

}  // namespace

Result<Grammar> gbnf_grammar(std::string_view text, const GrammarLimits& limits) {
  GbnfParser parser(text, limits);
  return parser.parse();
}

}  // namespace parley
