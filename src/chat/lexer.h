// Lexer for the Jinja subset of chat templates, configured as Hugging Face configures Jinja2:
// trim_blocks (the first newline after a block or comment tag is dropped) and lstrip_blocks
// (spaces and tabs before a block or comment tag at the start of a line are dropped), plus the
// manual controls `{%-` / `-%}` (strip all whitespace on that side) and `{%+` / `+%}` (keep it).
// Comments disappear here; `{% raw %}` content comes out as text.
//
// The source must already have its newlines normalised to "\n" (ChatTemplate::parse does that,
// as Jinja2 does). The lexer is pulled one token at a time by the parser.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace parley::chat {

enum class TokenKind : std::uint8_t {
  kEof,
  kText,  // template data between tags
  kVarBegin,
  kVarEnd,
  kBlockBegin,
  kBlockEnd,
  kName,
  kString,
  kInt,
  kFloat,
  kAdd,
  kSub,
  kMul,
  kDiv,
  kFloorDiv,
  kMod,
  kPow,
  kTilde,
  kLBracket,
  kRBracket,
  kLParen,
  kRParen,
  kLBrace,
  kRBrace,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kAssign,
  kDot,
  kColon,
  kPipe,
  kComma,
  kSemicolon,
};

// How a token reads in an error message ("'%}'", "name 'foo'", "end of template").
std::string describe_token_kind(TokenKind kind);

struct SourcePos {
  std::uint32_t line = 1;
  std::uint32_t column = 1;  // in code points, 1-based
};

struct Token {
  TokenKind kind = TokenKind::kEof;
  SourcePos pos;
  std::string text;  // kText: the data; kName: the name; kString: the decoded value
  std::int64_t int_value = 0;
  double float_value = 0;
};

class Lexer {
 public:
  explicit Lexer(std::string_view source) : src_(source) {}

  // The next token; kEof at the end (repeatedly). Errors are kInvalidArgument with a position.
  Result<Token> next();

 private:
  enum class State { kData, kVariable, kBlock };

  Status lex_data();
  Result<Token> lex_in_tag();
  Result<Token> lex_number(std::size_t start);
  Result<Token> lex_string(std::size_t start);
  Status lex_raw(std::size_t content_start);
  // The text before a tag, with -, + and lstrip_blocks applied.
  std::string_view strip_before_tag(std::string_view text, char marker, bool is_variable) const;
  bool at_tag_end(std::size_t* end_len, bool* strip_after, bool* keep_newline) const;
  std::size_t skip_spaces(std::size_t pos) const;  // Python's \s*
  bool is_space_at(std::size_t pos, std::size_t* len) const;
  void push_text(std::string_view text, std::size_t offset);
  SourcePos pos_of(std::size_t offset);
  Status error_at(std::size_t offset, std::string_view message);

  std::string_view src_;
  std::size_t pos_ = 0;
  State state_ = State::kData;
  bool line_starting_ = true;  // the previous match ended with a newline (or nothing came yet)
  std::vector<char> balance_;  // open brackets inside the current tag
  std::deque<Token> pending_;
  // Monotonic cursor for offset -> line/column.
  std::size_t count_offset_ = 0;
  SourcePos count_pos_;
};

}  // namespace parley::chat
