// Internal to src/policy: the compiled form of a Policy and the per-thread scratch buffers.
#pragma once

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "policy/phrase_matcher.h"
#include "policy/policy.h"
#include "policy/text_normalizer.h"

namespace parley::policy {

struct RegexDeleter {
  void operator()(pcre2_code* c) const { pcre2_code_free(c); }
};
using RegexCode = std::unique_ptr<pcre2_code, RegexDeleter>;

struct CompiledRegex {
  RegexCode code;
  bool jit = false;
  std::size_t max_lookbehind = 0;  // characters
};

struct CompiledRule {
  std::uint8_t stage_mask = 0;           // Stage bits
  std::uint8_t role_mask = 0;            // 1 << Role
  std::size_t longest_phrase = 0;        // normalized bytes (kPhrases)
  std::unique_ptr<CompiledRegex> regex;  // kRegex
};

struct Policy::Compiled {
  std::vector<CompiledRule> rules;
  PhraseMatcher phrases;
  std::vector<std::uint32_t> pattern_rule;                               // phrase pattern -> rule
  std::array<std::unique_ptr<CompiledRegex>, kDetectorCount> detectors;  // those some rule uses
  bool any_spacing = false;
};

// A view of the normalized text made of the letters spelled out one by one ("p a s s"), runs
// separated by NUL (which no phrase contains).
struct SpacedView {
  std::string text;
  std::vector<std::uint32_t> src_begin, src_end;
  void clear() {
    text.clear();
    src_begin.clear();
    src_end.clear();
  }
};

struct PolicyScratch::Impl {
  Impl();
  ~Impl();
  NormalizedText normalized;
  SpacedView spaced;
  std::vector<char> applicable;
  std::vector<Span> key_blocks;  // masked private key blocks of the text (match_regexes)
  pcre2_match_data* match_data = nullptr;
  pcre2_match_context* match_context = nullptr;
  pcre2_jit_stack* jit_stack = nullptr;
};

// Runs one compiled regex over text from `from` (lookbehind may see before it), reporting the
// leftmost match at each start position (matches may overlap); calls
// on_match(group0_begin, group0_end, group1_begin, group1_end) (group 1 = npos when unset) and
// returns the number of calls stopped by a limit. With `partial_start`, matching is
// PCRE2_PARTIAL_HARD: a match that more text could still change is not reported, and where it
// starts is stored there (npos: none).
template <typename F>
std::uint32_t for_each_regex_match(const CompiledRegex& re, std::string_view text, std::size_t from,
                                   PolicyScratch::Impl& s, F&& on_match, std::size_t* partial_start = nullptr) {
  std::uint32_t limit_hits = 0;
  const std::uint32_t options = partial_start != nullptr ? PCRE2_PARTIAL_HARD : 0;
  if (partial_start != nullptr) *partial_start = std::string_view::npos;
  std::size_t offset = from;
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  while (offset <= text.size()) {
    const int rc =
        re.jit ? pcre2_jit_match(re.code.get(), subject, text.size(), offset, options, s.match_data, s.match_context)
               : pcre2_match(re.code.get(), subject, text.size(), offset, options, s.match_data, s.match_context);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc == PCRE2_ERROR_PARTIAL) {
      *partial_start = pcre2_get_ovector_pointer(s.match_data)[0];
      break;
    }
    if (rc < 0) {
      if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT) {
        ++limit_hits;
      }
      break;
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(s.match_data);
    const bool has_group1 = rc == 0 || rc >= 2;
    const std::size_t g1b = has_group1 && ov[2] != PCRE2_UNSET ? ov[2] : std::string_view::npos;
    const std::size_t g1e = has_group1 && ov[3] != PCRE2_UNSET ? ov[3] : std::string_view::npos;
    if (!on_match(ov[0], ov[1], g1b, g1e)) break;
    // Every start position on its own (matches may overlap): what matches at a position depends
    // only on the text around it, so a stream's window finds what the whole text has.
    offset = ov[0] + 1;
    while (offset < text.size() && (static_cast<unsigned char>(text[offset]) & 0xC0) == 0x80) ++offset;
  }
  return limit_hits;
}

}  // namespace parley::policy
