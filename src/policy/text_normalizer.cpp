#include "policy/text_normalizer.h"

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>

#include "base/check.h"
#include "base/utf8.h"
#include "store/email.h"

namespace parley::policy {
namespace {

constexpr char32_t kMaxCodePoint = 0x10FFFF;

// Blocks that map to themselves without asking ICU: ideographs and syllables have no
// compatibility forms or confusables that matter here, and private use has no meaning at all.
bool left_alone(char32_t c) {
  return (c >= 0xD800 && c <= 0xF8FF) ||    // surrogates, private use
         (c >= 0x3400 && c <= 0x4DBF) ||    // CJK extension A
         (c >= 0x4E00 && c <= 0x9FFF) ||    // CJK unified ideographs
         (c >= 0xAC00 && c <= 0xD7A3) ||    // Hangul syllables
         (c >= 0x20000 && c <= 0x3FFFF) ||  // CJK extensions B..
         c >= 0xF0000;                      // private use planes
}

std::u16string nfkc_casefold(char32_t c) {
  UChar in[2];
  int32_t n = 0;
  U16_APPEND_UNSAFE(in, n, static_cast<UChar32>(c));
  UErrorCode st = U_ZERO_ERROR;
  const UNormalizer2* nfkc_cf = unorm2_getNFKCCasefoldInstance(&st);
  CHECK(U_SUCCESS(st), "ICU NFKC_Casefold data: {}", u_errorName(st));
  UChar out[64];
  const int32_t m = unorm2_normalize(nfkc_cf, in, n, out, 64, &st);
  if (U_FAILURE(st)) return std::u16string(in, in + n);  // longer than any real expansion
  return std::u16string(out, out + m);
}

std::string utf8_of(std::u16string_view s) {
  std::string out;
  for (int32_t i = 0; i < static_cast<int32_t>(s.size());) {
    UChar32 c = 0;
    U16_NEXT(s.data(), i, static_cast<int32_t>(s.size()), c);
    utf8_append(out, static_cast<char32_t>(c));
  }
  return out;
}

// Steps 1-3 of the header for one code point.
std::string map_code_point(char32_t c) {
  if (c < 0x20 || (c >= 0x7F && c < 0xA0) || u_isUWhiteSpace(static_cast<UChar32>(c))) return " ";
  const std::u16string folded = nfkc_casefold(c);
  if (folded.empty()) return {};
  const std::string skeleton = store::email_skeleton(utf8_of(folded));
  std::string out;
  for (std::size_t i = 0; i < skeleton.size();) {
    const char32_t d = utf8_decode(skeleton, &i);
    const int8_t type = u_charType(static_cast<UChar32>(d));
    if (type == U_NON_SPACING_MARK || type == U_FORMAT_CHAR) continue;
    if (u_isUWhiteSpace(static_cast<UChar32>(d))) {
      out += ' ';
      continue;
    }
    utf8_append(out, static_cast<char32_t>(u_foldCase(static_cast<UChar32>(d), U_FOLD_CASE_DEFAULT)));
  }
  return out;
}

}  // namespace

const TextNormalizer& TextNormalizer::instance() {
  static const TextNormalizer* const normalizer = new TextNormalizer();
  return *normalizer;
}

TextNormalizer::TextNormalizer() : pages_((kMaxCodePoint + 1) >> 8) {
  std::string self;
  for (char32_t c = 0; c <= kMaxCodePoint; ++c) {
    if (left_alone(c)) continue;
    if (c >= 0x20 && c != 0x7F && u_charType(static_cast<UChar32>(c)) == U_UNASSIGNED) continue;
    std::string m = map_code_point(c);
    self.clear();
    utf8_append(self, c);
    if (m == self) continue;
    std::vector<std::uint32_t>& page = pages_[c >> 8];
    if (page.empty()) page.assign(256, 0);
    mapped_.push_back(std::move(m));
    page[c & 0xFF] = static_cast<std::uint32_t>(mapped_.size());
  }
  for (char32_t c = 0; c < 128; ++c) {
    const std::string* m = mapping(c);
    if (m == nullptr)
      ascii_[c] = static_cast<char>(c);
    else if (m->size() == 1)
      ascii_[c] = (*m)[0];
  }
}

const std::string* TextNormalizer::mapping(char32_t cp) const {
  if (cp > kMaxCodePoint) return nullptr;
  const std::vector<std::uint32_t>& page = pages_[cp >> 8];
  if (page.empty()) return nullptr;
  const std::uint32_t i = page[cp & 0xFF];
  return i == 0 ? nullptr : &mapped_[i - 1];
}

bool TextNormalizer::is_word_char(char32_t cp) {
  return u_isalnum(static_cast<UChar32>(cp)) != 0;
}

void TextNormalizer::normalize(std::string_view s, std::uint32_t base, NormalizedText* out) const {
  std::size_t pos = 0;
  while (pos < s.size()) {
    const std::size_t begin = pos;
    const auto lead = static_cast<unsigned char>(s[pos]);
    if (lead < 0x80 && ascii_[lead] != 0 && ascii_[lead] != ' ') {  // one byte to one byte
      out->text.push_back(ascii_[lead]);
      out->src_begin.push_back(static_cast<std::uint32_t>(base + pos));
      out->src_end.push_back(static_cast<std::uint32_t>(base + pos + 1));
      ++pos;
      continue;
    }
    char32_t cp = lead;
    if (lead < 0x80) {
      ++pos;
    } else if (utf8_valid_prefix_char_length(s.substr(pos)) == 0) {
      ++pos;  // an invalid byte stands for itself
      cp = kMaxCodePoint + 1;
    } else {
      cp = utf8_decode(s, &pos);
    }
    const auto ob = static_cast<std::uint32_t>(base + begin);
    const auto oe = static_cast<std::uint32_t>(base + pos);
    const std::string* m = mapping(cp);
    const std::string_view bytes = m ? std::string_view(*m) : s.substr(begin, pos - begin);
    if (bytes == " " && !out->text.empty() && out->text.back() == ' ' && out->src_end.back() == ob) {
      out->src_end.back() = oe;  // white space collapses into the space before it
      continue;
    }
    out->text.append(bytes);
    out->src_begin.insert(out->src_begin.end(), bytes.size(), ob);
    out->src_end.insert(out->src_end.end(), bytes.size(), oe);
  }
}

std::string TextNormalizer::normalize_phrase(std::string_view phrase) const {
  NormalizedText n;
  normalize(phrase, 0, &n);
  std::string_view t = n.text;
  while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
  while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
  return std::string(t);
}

}  // namespace parley::policy
