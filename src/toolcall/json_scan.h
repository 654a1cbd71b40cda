// JsonScanner: finds where one JSON value ends in text that arrives a character at a time, and
// whether it is well-formed so far (RFC 8259 syntax: strings with their escapes and no raw
// control characters, numbers, literals, objects and arrays), without building it. The tool-call
// parsers stream a call's arguments while they are generated and need to know, at each character,
// whether the arguments have ended or gone wrong.
//
// Plain value type; not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace parley {

class JsonScanner {
 public:
  enum class Step : std::uint8_t {
    kMore,   // consumed; the value goes on
    kDone,   // consumed, and it ended the value (a closing quote, brace or bracket)
    kEnded,  // NOT consumed: the value (a number or literal) had ended before this character
    kError,  // NOT consumed: the text is not JSON here
  };

  // Leading whitespace before the value is skipped (consumed, kMore).
  Step feed(char c);
  // At the end of the text: whether what was fed is one whole value (a number ends here).
  bool complete_at_end() const;
  // The value has started (a non-whitespace character was consumed).
  bool started() const { return started_; }
  // The first character of the value ('{', '[', '"', a digit, '-', 't', 'f', 'n'), or 0.
  char first() const { return first_; }

  static constexpr std::size_t kMaxDepth = 128;

 private:
  enum class State : std::uint8_t {
    kValue,          // before a value (whitespace allowed)
    kString,         // inside a string
    kEscape,         // after a backslash
    kUnicode,        // inside \uXXXX (hex_left_ digits to go)
    kNumber,         // inside a number (num_ holds its sub-state)
    kLiteral,        // inside true/false/null
    kArrayFirst,     // after '[': a value or ']'
    kAfterValue,     // after a value inside a container: ',' or the closer
    kKey,            // inside an object: a key string or '}' (after '{' only)
    kKeyAfterComma,  // inside an object after ',': a key string
    kColon,          // after a key
    kEnd,            // the top-level value has ended
  };
  Step value_start(char c);
  Step end_value();  // a value ended (after it was consumed)
  Step number(char c);

  State state_ = State::kValue;
  std::vector<char> stack_;  // '{' or '['
  bool in_key_ = false;      // the string being read is a key
  bool started_ = false;
  char first_ = 0;
  int hex_left_ = 0;
  std::string_view literal_;  // the literal being matched
  std::size_t literal_pos_ = 0;
  // Number states: 0 after '-', 1 after leading '0', 2 in integer digits, 3 after '.', 4 in
  // fraction digits, 5 after 'e', 6 after the exponent sign, 7 in exponent digits.
  int num_ = 0;
};

// The text of a JSON string literal (with its quotes), decoded; false if it is not one.
bool decode_json_string(std::string_view literal, std::string* out);
// `text` as a JSON string literal (quotes included).
std::string json_quote(std::string_view text);
// Whether `text` is exactly one JSON value (whitespace around it allowed).
bool is_json_value(std::string_view text);

}  // namespace parley
