// Policy::compile: checks the configured rules and builds the automaton and the regex codes.
#include <fmt/core.h>

#include <algorithm>
#include <set>

#include "policy/policy_internal.h"

namespace parley::policy {
namespace {

constexpr std::size_t kMaxPatternBytes = 4096;
constexpr std::size_t kProbeBytes = 5000;

std::string rule_where(std::size_t i, const RuleConfig& r) {
  return fmt::format("moderation.rules[{}] ({})", i, r.name);
}

// Runs the code on inputs that make backtracking patterns explode ("aaaa…!" for (a+)+$); a
// pattern that hits the match limit on any of them would do so on real text too.
Status probe_regex(const CompiledRegex& re, std::uint32_t match_limit) {
  PolicyScratch scratch;
  PolicyScratch::Impl& s = scratch.impl();
  pcre2_set_match_limit(s.match_context, match_limit);
  // The trailer holds every printable character, so that a literal the pattern requires is
  // present (PCRE2 gives up at once when it is not) but not where a repetition could reach it.
  std::string trailer = "\x01\n";
  for (char c = ' '; c < 0x7F; ++c) trailer += c;
  std::vector<std::string> probes;
  for (const char c : std::string_view("aA0 .-_xy@/\\\t")) probes.push_back(std::string(kProbeBytes, c) + trailer);
  std::string mixed;
  while (mixed.size() < kProbeBytes) mixed += "ab1 ";
  probes.push_back(mixed + trailer);
  std::string words;
  while (words.size() < kProbeBytes) words += "word ";
  probes.push_back(words + trailer);
  for (const std::string& p : probes) {
    if (for_each_regex_match(re, p, 0, s, [](auto...) { return true; }) > 0) {
      return invalid_argument_error(
          "the pattern can backtrack catastrophically: it hit the match limit ({}) on a {}-byte probe of '{}' "
          "(make nested repetitions atomic or possessive, or anchor them)",
          match_limit, p.size(), p.substr(0, 1) == "\t" ? "\\t" : p.substr(0, 1));
    }
  }
  return ok_status();
}

Result<std::unique_ptr<CompiledRegex>> compile_regex(std::string_view pattern, bool caseless, std::uint32_t limit) {
  if (pattern.empty()) return invalid_argument_error("the pattern is empty");
  if (pattern.size() > kMaxPatternBytes) {
    return invalid_argument_error("the pattern is longer than {} bytes", kMaxPatternBytes);
  }
  std::unique_ptr<pcre2_compile_context, void (*)(pcre2_compile_context*)> ctx(pcre2_compile_context_create(nullptr),
                                                                               &pcre2_compile_context_free);
  pcre2_set_parens_nest_limit(ctx.get(), 64);
  const std::uint32_t options =
      PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF | PCRE2_NEVER_BACKSLASH_C | (caseless ? PCRE2_CASELESS : 0u);
  int err = 0;
  PCRE2_SIZE err_offset = 0;
  auto re = std::make_unique<CompiledRegex>();
  re->code.reset(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options, &err, &err_offset,
                               ctx.get()));
  if (!re->code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    return invalid_argument_error("the pattern does not compile at offset {}: {}", err_offset,
                                  reinterpret_cast<const char*>(msg));
  }
  std::uint32_t min_length = 0, lookbehind = 0;
  pcre2_pattern_info(re->code.get(), PCRE2_INFO_MINLENGTH, &min_length);
  pcre2_pattern_info(re->code.get(), PCRE2_INFO_MAXLOOKBEHIND, &lookbehind);
  re->max_lookbehind = lookbehind;
  re->jit = pcre2_jit_compile(re->code.get(), PCRE2_JIT_COMPLETE | PCRE2_JIT_PARTIAL_HARD) == 0;
  // MINLENGTH is a lower bound; an empty match is possible only when it is 0. Check for real.
  if (min_length == 0) {
    PolicyScratch scratch;
    bool empty = false;
    for (const std::string_view probe : {std::string_view(""), std::string_view("\x01 "), std::string_view("a")}) {
      for_each_regex_match(*re, probe, 0, scratch.impl(), [&](std::size_t b, std::size_t e, auto...) {
        empty |= b == e;
        return !empty;
      });
    }
    if (empty) return invalid_argument_error("the pattern matches the empty string");
  }
  RETURN_IF_ERROR(probe_regex(*re, limit));
  return re;
}

Status check_rule(const RuleConfig& r) {
  if (r.name.empty()) return invalid_argument_error("name must not be empty");
  if (r.action == Action::kNone) return invalid_argument_error("action must be flag, redact or block");
  switch (r.kind) {
    case RuleKind::kPhrases:
      if (r.phrases.empty()) return invalid_argument_error("phrases must not be empty");
      if (!r.pattern.empty() || !r.detectors.empty()) {
        return invalid_argument_error("a phrases rule has no pattern or detectors");
      }
      break;
    case RuleKind::kRegex:
      if (!r.phrases.empty() || !r.detectors.empty()) {
        return invalid_argument_error("a regex rule has no phrases or detectors");
      }
      if (r.max_match_bytes < 1 || r.max_match_bytes > 65536) {
        return invalid_argument_error("max_match_bytes must be in [1, 65536]");
      }
      break;
    case RuleKind::kDetector:
      if (r.detectors.empty()) return invalid_argument_error("detectors must not be empty");
      if (!r.phrases.empty() || !r.pattern.empty()) {
        return invalid_argument_error("a detector rule has no phrases or pattern");
      }
      break;
  }
  if (std::none_of(r.roles.begin(), r.roles.end(), [](bool b) { return b; })) {
    return invalid_argument_error("roles must name at least one role");
  }
  return ok_status();
}

Status add_phrases(std::uint32_t rule_index, const RuleConfig& r, std::vector<std::string>* patterns,
                   std::vector<std::uint32_t>* pattern_rule, CompiledRule* cr) {
  std::set<std::string> seen;
  for (std::size_t j = 0; j < r.phrases.size(); ++j) {
    std::string n = TextNormalizer::instance().normalize_phrase(r.phrases[j]);
    if (n.empty()) return invalid_argument_error("phrases[{}] is empty after normalization", j);
    if (n.find('\0') != std::string::npos) return invalid_argument_error("phrases[{}] contains a NUL", j);
    cr->longest_phrase = std::max(cr->longest_phrase, n.size());
    if (!seen.insert(n).second) continue;
    patterns->push_back(std::move(n));
    pattern_rule->push_back(rule_index);
  }
  return ok_status();
}

}  // namespace

Policy::Policy() : compiled_(std::make_unique<Compiled>()) {}
Policy::~Policy() = default;

Result<std::shared_ptr<const Policy>> Policy::compile(PolicyConfig config) {
  if (config.regex_match_limit < 1000) return invalid_argument_error("moderation.regex_match_limit must be >= 1000");
  if (config.max_matches < 1) return invalid_argument_error("moderation.max_matches must be >= 1");
  std::shared_ptr<Policy> p(new Policy());
  Compiled& c = *p->compiled_;
  std::vector<std::string> patterns;
  std::set<std::string> names;
  for (std::size_t i = 0; i < config.rules.size(); ++i) {
    RuleConfig& r = config.rules[i];
    if (r.category.empty()) r.category = r.name;
    RETURN_IF_ERROR_CTX(check_rule(r), rule_where(i, r));
    if (!names.insert(r.name).second) {
      return invalid_argument_error("{}: another rule has the name '{}'", rule_where(i, r), r.name);
    }
    CompiledRule cr;
    cr.stage_mask = static_cast<std::uint8_t>(r.stage);
    for (std::size_t k = 0; k < kRoleCount; ++k) cr.role_mask |= r.roles[k] ? (1u << k) : 0u;
    const auto index = static_cast<std::uint32_t>(i);
    switch (r.kind) {
      case RuleKind::kPhrases:
        RETURN_IF_ERROR_CTX(add_phrases(index, r, &patterns, &c.pattern_rule, &cr), rule_where(i, r));
        c.any_spacing |= r.spacing;
        break;
      case RuleKind::kRegex: {
        auto re = compile_regex(r.pattern, r.case_insensitive, config.regex_match_limit);
        if (!re.ok()) return re.status().with_context(rule_where(i, r) + ": pattern");
        cr.regex = std::move(*re);
        break;
      }
      case RuleKind::kDetector:
        for (const Detector d : r.detectors) {
          auto& slot = c.detectors[static_cast<std::size_t>(d)];
          if (slot) continue;
          auto re = compile_regex(detector_spec(d).pattern, false, config.regex_match_limit);
          if (!re.ok()) return re.status().with_context(fmt::format("detector {}", detector_name(d)));
          slot = std::move(*re);
        }
        break;
    }
    c.rules.push_back(std::move(cr));
  }
  ASSIGN_OR_RETURN(c.phrases, PhraseMatcher::build(patterns));
  p->config_ = std::move(config);
  return std::shared_ptr<const Policy>(std::move(p));
}

}  // namespace parley::policy
