// Python's str semantics on UTF-8 text, as templates observe them: code-point lengths, indexes
// and slices, whitespace (str.isspace), strip/split/splitlines, case mapping, and repr() of
// strings and floats. Invalid UTF-8 decodes to U+FFFD one byte at a time (base/utf8.h).
//
// Case mapping covers ASCII, Latin-1, Latin Extended-A/Additional, Greek, Cyrillic, Armenian and
// fullwidth Latin (plus ß -> SS); other scripts are left unchanged. repr() treats C0/C1
// controls, Unicode spaces other than ' ', line/paragraph separators, format characters and
// private-use characters as non-printable; unassigned code points are printed as they are.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::chat::py {

bool is_space(char32_t c);
bool is_ascii(std::string_view s);
// Number of code points.
std::size_t length(std::string_view s);
// Code points of `s`.
std::vector<char32_t> decode(std::string_view s);
std::string encode(const std::vector<char32_t>& cps, std::size_t begin, std::size_t end);
// Byte offset of every code point, plus s.size() at the end (length + 1 entries).
std::vector<std::size_t> char_offsets(std::string_view s);

// Python's slice.indices(): normalises start/stop/step for a sequence of length n.
// Returns the indexes the slice selects, in order. `step` must not be 0.
struct SliceBounds {
  std::int64_t start = 0;
  std::int64_t step = 1;
  std::int64_t count = 0;
};
SliceBounds slice_bounds(std::int64_t n, std::optional<std::int64_t> start, std::optional<std::int64_t> stop,
                         std::optional<std::int64_t> step);

// str.strip / lstrip / rstrip; `chars` empty optional = whitespace.
std::string strip(std::string_view s, const std::optional<std::string>& chars, bool left, bool right);
// str.split / str.rsplit; no `sep` = runs of whitespace. maxsplit < 0 = no limit.
std::vector<std::string> split(std::string_view s, const std::optional<std::string>& sep, std::int64_t maxsplit);
std::vector<std::string> rsplit(std::string_view s, const std::optional<std::string>& sep, std::int64_t maxsplit);
std::vector<std::string> splitlines(std::string_view s, bool keepends);
// str.replace; count < 0 = all.
std::string replace(std::string_view s, std::string_view old_sub, std::string_view new_sub, std::int64_t count);
// str.find / str.rfind / str.count in code points over s[start:end] (already-normalised bounds).
std::int64_t find(std::string_view s, std::string_view sub, std::optional<std::int64_t> start,
                  std::optional<std::int64_t> end, bool reverse);
std::int64_t count(std::string_view s, std::string_view sub);

char32_t to_upper(char32_t c);
char32_t to_lower(char32_t c);
bool is_cased(char32_t c);
bool is_alpha(char32_t c);
bool is_digit(char32_t c);
std::string upper(std::string_view s);
std::string lower(std::string_view s);
std::string swapcase(std::string_view s);
std::string capitalize(std::string_view s);  // str.capitalize
std::string title(std::string_view s);       // str.title
std::string jinja_title(std::string_view s);  // Jinja's |title: capitalise after - space ( { [ <

void append_string_repr(std::string& out, std::string_view s);
void append_float_repr(std::string& out, double d);
std::string float_repr(double d);

}  // namespace parley::chat::py
