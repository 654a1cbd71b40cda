#include "chat/py_string.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "base/utf8.h"

namespace parley::chat::py {
namespace {

// Pairs where the upper case is even and the lower case the next odd code point (or the reverse).
struct PairRange {
  char32_t first;
  char32_t last;
  bool upper_even;
};
constexpr PairRange kPairRanges[] = {
    {0x0100, 0x012F, true}, {0x0132, 0x0137, true}, {0x0139, 0x0148, false}, {0x014A, 0x0177, true},
    {0x0179, 0x017E, false}, {0x01CD, 0x01DC, false}, {0x01DE, 0x01EF, true}, {0x01F4, 0x01F5, true},
    {0x01F8, 0x021F, true},  {0x0222, 0x0233, true},  {0x0460, 0x0481, true}, {0x048A, 0x04BF, true},
    {0x04C1, 0x04CE, false},
    {0x04D0, 0x052F, true}, {0x1E00, 0x1E95, true}, {0x1EA0, 0x1EFF, true},
};

// Blocks where lower = upper + offset.
struct ShiftRange {
  char32_t upper_first;
  char32_t upper_last;
  char32_t offset;
};
constexpr ShiftRange kShiftRanges[] = {
    {U'A', U'Z', 32},       {0x00C0, 0x00D6, 32},   {0x00D8, 0x00DE, 32},   {0x0391, 0x03A1, 32},
    {0x03A3, 0x03AB, 32},   {0x0388, 0x038A, 37},   {0x038E, 0x038F, 63},   {0x0410, 0x042F, 32},
    {0x0400, 0x040F, 80},   {0x0531, 0x0556, 48},   {0xFF21, 0xFF3A, 32},
};

void append_utf8(std::string& out, char32_t c) { utf8_append(out, c); }

template <typename F>
void for_each_char(std::string_view s, F&& f) {
  std::size_t pos = 0;
  while (pos < s.size()) {
    const unsigned char b = static_cast<unsigned char>(s[pos]);
    if (b < 0x80) {
      ++pos;
      f(static_cast<char32_t>(b));
    } else {
      f(utf8_decode(s, &pos));
    }
  }
}

bool is_printable(char32_t c) {
  if (c < 0x20 || c == 0x7F) return false;
  if (c < 0x7F) return true;
  if (c <= 0xA0 || c == 0xAD) return false;  // C1 controls, NBSP, soft hyphen
  if (c == 0x1680 || (c >= 0x2000 && c <= 0x200F) || (c >= 0x2028 && c <= 0x202F) ||
      (c >= 0x205F && c <= 0x206F) || c == 0x3000 || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFB))
    return false;
  if ((c >= 0x0600 && c <= 0x0605) || c == 0x061C || c == 0x06DD || c == 0x070F || c == 0x180E) return false;
  if ((c >= 0xD800 && c <= 0xF8FF) || c >= 0xF0000) return false;  // surrogates, private use
  if (c >= 0xE0000 && c <= 0xE007F) return false;                   // tags
  return true;
}

}  // namespace

bool is_space(char32_t c) {
  if (c <= 0x20) return c == 0x20 || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
  return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
         c == 0x202F || c == 0x205F || c == 0x3000;
}

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char ch) { return static_cast<unsigned char>(ch) < 0x80; });
}

std::size_t length(std::string_view s) {
  if (is_ascii(s)) return s.size();
  std::size_t n = 0;
  for_each_char(s, [&](char32_t) { ++n; });
  return n;
}

std::vector<char32_t> decode(std::string_view s) {
  std::vector<char32_t> out;
  out.reserve(s.size());
  for_each_char(s, [&](char32_t c) { out.push_back(c); });
  return out;
}

std::string encode(const std::vector<char32_t>& cps, std::size_t begin, std::size_t end) {
  std::string out;
  for (std::size_t i = begin; i < end; ++i) append_utf8(out, cps[i]);
  return out;
}

std::vector<std::size_t> char_offsets(std::string_view s) {
  std::vector<std::size_t> out;
  out.reserve(s.size() + 1);
  std::size_t pos = 0;
  while (pos < s.size()) {
    out.push_back(pos);
    if (static_cast<unsigned char>(s[pos]) < 0x80) {
      ++pos;
    } else {
      utf8_decode(s, &pos);
    }
  }
  out.push_back(s.size());
  return out;
}

SliceBounds slice_bounds(std::int64_t n, std::optional<std::int64_t> start, std::optional<std::int64_t> stop,
                         std::optional<std::int64_t> step) {
  SliceBounds b;
  b.step = step.value_or(1);
  const auto clamp = [&](std::optional<std::int64_t> v, std::int64_t dflt) {
    if (!v) return dflt;
    std::int64_t x = *v;
    if (x < 0) {
      x += n;
      if (x < 0) x = b.step < 0 ? -1 : 0;
    } else if (x >= n) {
      x = b.step < 0 ? n - 1 : n;
    }
    return x;
  };
  std::int64_t lo;
  std::int64_t hi;
  if (b.step > 0) {
    lo = clamp(start, 0);
    hi = clamp(stop, n);
    b.count = hi > lo ? (hi - lo + b.step - 1) / b.step : 0;
  } else {
    lo = clamp(start, n - 1);
    hi = clamp(stop, -1);
    b.count = lo > hi ? (lo - hi - b.step - 1) / (-b.step) : 0;
  }
  b.start = lo;
  return b;
}

std::string strip(std::string_view s, const std::optional<std::string>& chars, bool left, bool right) {
  const std::vector<char32_t> cps = decode(s);
  std::vector<char32_t> set;
  if (chars) set = decode(*chars);
  const auto strip_it = [&](char32_t c) {
    return chars ? std::find(set.begin(), set.end(), c) != set.end() : is_space(c);
  };
  std::size_t b = 0;
  std::size_t e = cps.size();
  if (left) {
    while (b < e && strip_it(cps[b])) ++b;
  }
  if (right) {
    while (e > b && strip_it(cps[e - 1])) --e;
  }
  return encode(cps, b, e);
}

std::vector<std::string> split(std::string_view s, const std::optional<std::string>& sep, std::int64_t maxsplit) {
  std::vector<std::string> out;
  if (sep) {
    std::size_t pos = 0;
    while (maxsplit < 0 || static_cast<std::int64_t>(out.size()) < maxsplit) {
      const std::size_t hit = s.find(*sep, pos);
      if (hit == std::string_view::npos) break;
      out.emplace_back(s.substr(pos, hit - pos));
      pos = hit + sep->size();
    }
    out.emplace_back(s.substr(pos));
    return out;
  }
  const std::vector<char32_t> cps = decode(s);
  std::size_t i = 0;
  const std::size_t n = cps.size();
  while (true) {
    while (i < n && is_space(cps[i])) ++i;
    if (i == n) break;
    if (maxsplit >= 0 && static_cast<std::int64_t>(out.size()) == maxsplit) {
      out.push_back(encode(cps, i, n));  // the rest keeps its trailing whitespace
      break;
    }
    std::size_t j = i;
    while (j < n && !is_space(cps[j])) ++j;
    out.push_back(encode(cps, i, j));
    i = j;
  }
  return out;
}

std::vector<std::string> rsplit(std::string_view s, const std::optional<std::string>& sep, std::int64_t maxsplit) {
  if (maxsplit < 0) return split(s, sep, maxsplit);
  std::vector<std::string> out;
  if (sep) {
    std::size_t end = s.size();
    while (static_cast<std::int64_t>(out.size()) < maxsplit) {
      if (end < sep->size()) break;
      const std::size_t hit = s.substr(0, end).rfind(*sep);
      if (hit == std::string_view::npos) break;
      out.emplace_back(s.substr(hit + sep->size(), end - hit - sep->size()));
      end = hit;
    }
    out.emplace_back(s.substr(0, end));
  } else {
    const std::vector<char32_t> cps = decode(s);
    std::size_t j = cps.size();
    while (true) {
      while (j > 0 && is_space(cps[j - 1])) --j;
      if (j == 0) break;
      if (static_cast<std::int64_t>(out.size()) == maxsplit) {
        out.push_back(encode(cps, 0, j));  // the rest keeps its leading whitespace
        break;
      }
      std::size_t i = j;
      while (i > 0 && !is_space(cps[i - 1])) --i;
      out.push_back(encode(cps, i, j));
      j = i;
    }
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::vector<std::string> splitlines(std::string_view s, bool keepends) {
  std::vector<std::string> out;
  const std::vector<char32_t> cps = decode(s);
  std::size_t start = 0;
  std::size_t i = 0;
  while (i < cps.size()) {
    const char32_t c = cps[i];
    const bool brk = c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || c == 0x1C || c == 0x1D || c == 0x1E ||
                     c == 0x85 || c == 0x2028 || c == 0x2029;
    if (!brk) {
      ++i;
      continue;
    }
    std::size_t eol = i + 1;
    if (c == '\r' && eol < cps.size() && cps[eol] == '\n') ++eol;
    out.push_back(encode(cps, start, keepends ? eol : i));
    start = i = eol;
  }
  if (start < cps.size()) out.push_back(encode(cps, start, cps.size()));
  return out;
}

std::string replace(std::string_view s, std::string_view old_sub, std::string_view new_sub, std::int64_t count) {
  std::string out;
  std::int64_t done = 0;
  if (old_sub.empty()) {
    // Python inserts `new` before every character and at the end.
    const std::vector<std::size_t> offs = char_offsets(s);
    for (std::size_t i = 0; i + 1 < offs.size(); ++i) {
      if (count < 0 || done < count) {
        out += new_sub;
        ++done;
      }
      out.append(s.substr(offs[i], offs[i + 1] - offs[i]));
    }
    if (count < 0 || done < count) out += new_sub;
    return out;
  }
  std::size_t pos = 0;
  while (count < 0 || done < count) {
    const std::size_t hit = s.find(old_sub, pos);
    if (hit == std::string_view::npos) break;
    out.append(s.substr(pos, hit - pos));
    out += new_sub;
    pos = hit + old_sub.size();
    ++done;
  }
  out.append(s.substr(pos));
  return out;
}

std::int64_t find(std::string_view s, std::string_view sub, std::optional<std::int64_t> start,
                  std::optional<std::int64_t> end, bool reverse) {
  const std::vector<std::size_t> offs = char_offsets(s);
  const std::int64_t n = static_cast<std::int64_t>(offs.size()) - 1;
  const auto norm = [n](std::optional<std::int64_t> v, std::int64_t dflt) {
    if (!v) return dflt;
    std::int64_t x = *v;
    if (x < 0) x = std::max<std::int64_t>(0, x + n);
    return std::min(x, n);
  };
  const std::int64_t b = norm(start, 0);
  const std::int64_t e = norm(end, n);
  if (b > e) return -1;
  const std::string_view window = s.substr(offs[b], offs[e] - offs[b]);
  const std::size_t hit = reverse ? window.rfind(sub) : window.find(sub);
  if (hit == std::string_view::npos) return -1;
  const std::size_t byte = offs[b] + hit;
  return std::lower_bound(offs.begin(), offs.end(), byte) - offs.begin();
}

std::int64_t count(std::string_view s, std::string_view sub) {
  if (sub.empty()) return static_cast<std::int64_t>(length(s)) + 1;
  std::int64_t n = 0;
  std::size_t pos = 0;
  while ((pos = s.find(sub, pos)) != std::string_view::npos) {
    ++n;
    pos += sub.size();
  }
  return n;
}

// Latin digraphs with three forms (upper, title, lower): DŽ Dž dž, LJ Lj lj, NJ Nj nj, DZ Dz dz.
int digraph_form(char32_t c, char32_t* base) {
  for (char32_t b : {char32_t{0x01C4}, char32_t{0x01C7}, char32_t{0x01CA}, char32_t{0x01F1}}) {
    if (c >= b && c < b + 3) {
      *base = b;
      return static_cast<int>(c - b);
    }
  }
  return -1;
}

char32_t to_upper(char32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') ? c - 32 : c;
  if (char32_t base; digraph_form(c, &base) >= 0) return base;
  if (c == 0xB5) return 0x39C;
  if (c == 0xFF) return 0x178;
  if (c == 0x131) return 'I';
  if (c == 0x17F) return 'S';
  if (c == 0x3C2) return 0x3A3;
  if (c == 0x3AC) return 0x386;
  if (c == 0x3CC) return 0x38C;
  if (c == 0x4CF) return 0x4C0;
  for (const ShiftRange& r : kShiftRanges) {
    if (c >= r.upper_first + r.offset && c <= r.upper_last + r.offset) return c - r.offset;
  }
  for (const PairRange& r : kPairRanges) {
    if (c >= r.first && c <= r.last) {
      const bool even = (c % 2) == 0;
      if (even != r.upper_even && c > r.first) return c - 1;
      return c;
    }
  }
  return c;
}

char32_t to_lower(char32_t c) {
  if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
  if (char32_t base; digraph_form(c, &base) >= 0) return base + 2;
  if (c == 0x178) return 0xFF;
  if (c == 0x130) return 'i';
  if (c == 0x386) return 0x3AC;
  if (c == 0x38C) return 0x3CC;
  if (c == 0x4C0) return 0x4CF;
  if (c == 0x1E9E) return 0xDF;
  for (const ShiftRange& r : kShiftRanges) {
    if (c >= r.upper_first && c <= r.upper_last) return c + r.offset;
  }
  for (const PairRange& r : kPairRanges) {
    if (c >= r.first && c <= r.last) {
      const bool even = (c % 2) == 0;
      if (even == r.upper_even && c < r.last) return c + 1;
      return c;
    }
  }
  return c;
}

bool is_cased(char32_t c) { return to_upper(c) != c || to_lower(c) != c || c == 0xDF || c == 0x138; }

bool is_alpha(char32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  if (is_cased(c)) return true;
  return (c >= 0x00C0 && c <= 0x024F && c != 0xD7 && c != 0xF7) || (c >= 0x0370 && c <= 0x03FF) ||
         (c >= 0x0400 && c <= 0x052F) || (c >= 0x05D0 && c <= 0x05EA) || (c >= 0x0620 && c <= 0x064A) ||
         (c >= 0x0904 && c <= 0x0939) || (c >= 0x0E01 && c <= 0x0E30) || (c >= 0x3041 && c <= 0x3096) ||
         (c >= 0x30A1 && c <= 0x30FA) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) ||
         (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0x20000 && c <= 0x2FA1F);
}

bool is_digit(char32_t c) { return (c >= '0' && c <= '9') || (c >= 0x660 && c <= 0x669) || (c >= 0xFF10 && c <= 0xFF19); }

namespace {
void append_upper(std::string& out, char32_t c) {
  if (c == 0xDF) {
    out += "SS";
  } else {
    append_utf8(out, to_upper(c));
  }
}
void append_lower(std::string& out, char32_t c) {
  if (c == 0x130) {
    out += "i\xCC\x87";  // i + COMBINING DOT ABOVE, as Python's full lowercasing gives
  } else {
    append_utf8(out, to_lower(c));
  }
}
}  // namespace

std::string upper(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for_each_char(s, [&](char32_t c) { append_upper(out, c); });
  return out;
}

std::string lower(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for_each_char(s, [&](char32_t c) { append_lower(out, c); });
  return out;
}

std::string swapcase(std::string_view s) {
  std::string out;
  for_each_char(s, [&](char32_t c) {
    if (to_upper(c) != c || c == 0xDF) {
      append_upper(out, c);
    } else {
      append_lower(out, c);
    }
  });
  return out;
}

std::string capitalize(std::string_view s) {
  std::string out;
  bool first = true;
  for_each_char(s, [&](char32_t c) {
    if (first) {
      if (c == 0xDF) {
        out += "Ss";  // title case of ß
      } else {
        append_utf8(out, to_upper(c));
      }
    } else {
      append_lower(out, c);
    }
    first = false;
  });
  return out;
}

std::string title(std::string_view s) {
  std::string out;
  bool prev_cased = false;
  for_each_char(s, [&](char32_t c) {
    if (prev_cased) {
      append_lower(out, c);
    } else if (c == 0xDF) {
      out += "Ss";
    } else {
      append_utf8(out, to_upper(c));
    }
    prev_cased = is_cased(c);
  });
  return out;
}

std::string jinja_title(std::string_view s) {
  std::string out;
  bool word_start = true;
  for_each_char(s, [&](char32_t c) {
    const bool sep = c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || is_space(c);
    if (sep) {
      append_utf8(out, c);
      word_start = true;
    } else if (word_start) {
      append_upper(out, c);
      word_start = false;
    } else {
      append_lower(out, c);
    }
  });
  return out;
}

void append_string_repr(std::string& out, std::string_view s) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  out += quote;
  for_each_char(s, [&](char32_t c) {
    if (c == static_cast<char32_t>(quote) || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (is_printable(c)) {
      append_utf8(out, c);
    } else {
      char buf[16];
      const char* fmt = c < 0x100 ? "\\x%02x" : c < 0x10000 ? "\\u%04x" : "\\U%08x";
      std::snprintf(buf, sizeof buf, fmt, static_cast<unsigned>(c));
      out += buf;
    }
  });
  out += quote;
}

void append_float_repr(std::string& out, double d) {
  if (std::isnan(d)) {
    out += "nan";
    return;
  }
  if (std::isinf(d)) {
    out += d < 0 ? "-inf" : "inf";
    return;
  }
  // Shortest round-trip digits, then Python's layout: fixed for 1e-4 <= |d| < 1e16.
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<std::size_t>(res.ptr - buf));
  if (sci.front() == '-') {
    out += '-';
    sci.remove_prefix(1);
  }
  const std::size_t e_pos = sci.find('e');
  std::string digits;
  for (char ch : sci.substr(0, e_pos)) {
    if (ch != '.') digits += ch;
  }
  int exp = 0;
  std::from_chars(sci.data() + e_pos + 1 + (sci[e_pos + 1] == '+' ? 1 : 0), sci.data() + sci.size(), exp);
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  if (exp >= -4 && exp < 16) {
    if (exp < 0) {
      out += "0.";
      out.append(static_cast<std::size_t>(-exp - 1), '0');
      out += digits;
    } else {
      const std::size_t int_digits = static_cast<std::size_t>(exp) + 1;
      if (digits.size() <= int_digits) {
        out += digits;
        out.append(int_digits - digits.size(), '0');
        out += ".0";
      } else {
        out += digits.substr(0, int_digits);
        out += '.';
        out += digits.substr(int_digits);
      }
    }
    return;
  }
  out += digits[0];
  if (digits.size() > 1) {
    out += '.';
    out += digits.substr(1);
  }
  char ebuf[16];
  std::snprintf(ebuf, sizeof ebuf, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
  out += ebuf;
}

std::string float_repr(double d) {
  std::string out;
  append_float_repr(out, d);
  return out;
}

}  // namespace parley::chat::py
