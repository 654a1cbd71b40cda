#include "tokenizer/content_mask.h"

#include <algorithm>

#include "base/utf8.h"
#include "tokenizer/tokenizer.h"

namespace parley {
namespace {

// Placeholder candidates, best first: the 66 noncharacters (never assigned, printed raw by the
// template engine), then the private-use planes 15 and 16.
constexpr std::size_t kNonCharacters = 32 + 34;
constexpr std::size_t kPrivateUse = 65534;
constexpr std::size_t kCandidates = kNonCharacters + 2 * kPrivateUse;

char32_t candidate(std::size_t i) {
  if (i < 32) return static_cast<char32_t>(0xFDD0 + i);
  if (i < kNonCharacters) {
    const std::size_t j = i - 32;
    return static_cast<char32_t>((j / 2) * 0x10000 + 0xFFFE + (j % 2));
  }
  if (i < kNonCharacters + kPrivateUse) return static_cast<char32_t>(0xF0000 + (i - kNonCharacters));
  return static_cast<char32_t>(0x100000 + (i - kNonCharacters - kPrivateUse));
}

bool is_candidate(char32_t cp) {
  return (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE || (cp >= 0xF0000 && cp <= 0x10FFFD);
}

// Calls f(cp, begin, length) for each valid character of `s` that may be a candidate (U+F000
// and above: lead bytes EF and F0-F4); other bytes are skipped cheaply.
template <typename F>
void for_each_high_char(std::string_view s, F&& f) {
  for (std::size_t pos = 0; pos < s.size();) {
    const auto b = static_cast<unsigned char>(s[pos]);
    if (b < 0xEF) {
      ++pos;
      continue;
    }
    const std::size_t n = utf8_valid_prefix_char_length(s.substr(pos));
    if (n == 0) {
      ++pos;
      continue;
    }
    std::size_t next = pos;
    const char32_t cp = utf8_decode(s, &next);
    f(cp, pos, n);
    pos += n;
  }
}

// Python's str.isspace() for the characters str.strip() removes.
bool is_space(char32_t c) {
  if (c <= 0x20) return c == 0x20 || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
  return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
         c == 0x202F || c == 0x205F || c == 0x3000;
}

// `s` without leading and trailing whitespace, as an offset and a length. Looks only at the
// ends: strings may be megabytes long.
std::pair<std::size_t, std::size_t> trimmed(std::string_view s) {
  std::size_t begin = 0;
  while (begin < s.size()) {
    std::size_t next = begin;
    if (!is_space(utf8_decode(s, &next))) break;
    begin = next;
  }
  std::size_t end = s.size();
  while (end > begin) {
    // The start of the last character: back over at most three continuation bytes.
    std::size_t start = end - 1;
    while (start > begin && end - start < 4 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    std::size_t next = start;
    const char32_t c = utf8_decode(s, &next);
    if (next != end || !is_space(c)) break;
    end = start;
  }
  return {begin, end - begin};
}

}  // namespace

// ---- ControlTexts ------------------------------------------------------------------------------

ControlTexts::ControlTexts(const Vocab& vocab) {
  for (TokenId id = 0; id < vocab.size(); ++id) {
    const std::string& text = vocab.tokens[static_cast<std::size_t>(id)];
    if (!vocab.is_special(id) || text.empty()) continue;
    for_each_high_char(text, [&](char32_t cp, std::size_t, std::size_t) {
      if (is_candidate(cp)) reserved_.push_back(cp);
    });
    if (vocab.types[static_cast<std::size_t>(id)] == TokenType::kUserDefined) continue;
    ++n_texts_;
    trie_.insert(text, id);
    length_max_ = std::max(length_max_, text.size());
  }
  std::sort(reserved_.begin(), reserved_.end());
  reserved_.erase(std::unique(reserved_.begin(), reserved_.end()), reserved_.end());
}

void ControlTexts::tail_positions(std::string_view s, std::size_t offset, std::vector<std::size_t>* out) const {
  const std::size_t first = s.size() >= length_max_ ? s.size() - length_max_ + 1 : 0;
  for (std::size_t p = first; p < s.size(); ++p) {
    if (trie_.may_start_with(static_cast<unsigned char>(s[p])) && trie_.is_proper_prefix(s.substr(p))) {
      out->push_back(offset + p);
    }
  }
}

void ControlTexts::mask_positions(std::string_view s, std::vector<std::size_t>* out) const {
  out->clear();
  if (n_texts_ == 0 || s.empty()) return;
  for (std::size_t p = 0; p < s.size(); ++p) {
    if (trie_.may_start_with(static_cast<unsigned char>(s[p])) && trie_.matches_at(s, p)) out->push_back(p);
  }
  tail_positions(s, 0, out);
  const auto [begin, length] = trimmed(s);
  if (length != s.size()) tail_positions(s.substr(begin, length), begin, out);
  std::sort(out->begin(), out->end());
  out->erase(std::unique(out->begin(), out->end()), out->end());
}

// ---- ContentMask -------------------------------------------------------------------------------

ContentMask ContentMask::create(const Tokenizer& tokenizer, std::span<const std::string_view> inputs) {
  ContentMask m;
  m.texts_ = &tokenizer.control_texts();
  m.taken_ = m.texts_->reserved();
  for (const std::string_view s : inputs) {
    for_each_high_char(s, [&](char32_t cp, std::size_t, std::size_t) {
      if (is_candidate(cp)) m.taken_.push_back(cp);
    });
  }
  std::sort(m.taken_.begin(), m.taken_.end());
  m.taken_.erase(std::unique(m.taken_.begin(), m.taken_.end()), m.taken_.end());
  return m;
}

std::ptrdiff_t ContentMask::find_placeholder(char32_t cp) const {
  const auto it = std::lower_bound(placeholders_.begin(), placeholders_.end(), cp);
  return it != placeholders_.end() && *it == cp ? it - placeholders_.begin() : -1;
}

Result<char32_t> ContentMask::placeholder_for(std::string_view original) {
  for (std::size_t i = 0; i < originals_.size(); ++i) {
    if (originals_[i] == original) return placeholders_[i];
  }
  for (; next_candidate_ < kCandidates; ++next_candidate_) {
    const char32_t cp = candidate(next_candidate_);
    if (!std::binary_search(taken_.begin(), taken_.end(), cp)) break;
  }
  if (next_candidate_ == kCandidates) {
    return invalid_argument_error("the request uses every code point that could mark its control-token texts");
  }
  const char32_t cp = candidate(next_candidate_++);
  const auto at = std::lower_bound(placeholders_.begin(), placeholders_.end(), cp) - placeholders_.begin();
  placeholders_.insert(placeholders_.begin() + at, cp);
  originals_.insert(originals_.begin() + at, std::string(original));
  return cp;
}

Result<bool> ContentMask::mask(std::string_view s, std::string* out) {
  if (texts_ == nullptr) return false;
  std::vector<std::size_t> positions;
  texts_->mask_positions(s, &positions);
  if (positions.empty()) return false;
  std::string masked;
  masked.reserve(s.size() + 3 * positions.size());
  std::size_t done = 0;
  for (const std::size_t p : positions) {
    if (p < done) continue;  // inside a character masked already
    std::size_t n = utf8_valid_prefix_char_length(s.substr(p));
    if (n == 0) n = 1;  // an invalid byte is masked on its own
    ASSIGN_OR_RETURN(const char32_t cp, placeholder_for(s.substr(p, n)));
    masked.append(s.substr(done, p - done));
    utf8_append(masked, cp);
    done = p + n;
  }
  masked.append(s.substr(done));
  *out = std::move(masked);
  return true;
}

template <typename F>
void ContentMask::for_each_placeholder(std::string_view s, F&& f) const {
  if (placeholders_.empty()) return;
  for_each_high_char(s, [&](char32_t cp, std::size_t begin, std::size_t length) {
    const std::ptrdiff_t i = find_placeholder(cp);
    if (i >= 0) f(static_cast<std::size_t>(i), begin, length);
  });
}

bool ContentMask::has_placeholder(std::string_view s) const {
  bool found = false;
  for_each_placeholder(s, [&](std::size_t, std::size_t, std::size_t) { found = true; });
  return found;
}

void ContentMask::unmask(std::string_view s, std::string* out) const {
  std::size_t done = 0;
  for_each_placeholder(s, [&](std::size_t i, std::size_t begin, std::size_t length) {
    out->append(s.substr(done, begin - done));
    out->append(originals_[i]);
    done = begin + length;
  });
  out->append(s.substr(done));
}

std::size_t ContentMask::unmasked_size(std::string_view s) const {
  std::size_t size = s.size();
  for_each_placeholder(
      s, [&](std::size_t i, std::size_t, std::size_t length) { size = size - length + originals_[i].size(); });
  return size;
}

}  // namespace parley
