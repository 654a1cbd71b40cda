#include "policy/policy.h"

#include <algorithm>

#include "base/utf8.h"
#include "policy/policy_internal.h"

namespace parley::policy {
namespace {

constexpr std::size_t kMaxCodePointBytes = 4;
constexpr std::size_t kSpacingMaxSeparatorBytes = 3;

char32_t cp_before(std::string_view t, std::size_t at) {
  if (at == 0) return U' ';
  std::size_t i = at - 1;
  while (i > 0 && at - i < kMaxCodePointBytes && (static_cast<unsigned char>(t[i]) & 0xC0) == 0x80) --i;
  std::size_t pos = i;
  return utf8_decode(t, &pos);
}

char32_t cp_at(std::string_view t, std::size_t at) {
  if (at >= t.size()) return U' ';
  return utf8_decode(t, &at);
}

bool is_separator(char32_t c) {
  return c == U' ' || c == U'.' || c == U'-' || c == U'_' || c == U'*' || c == U'+';
}

// The spelled-out view (policy_internal.h): units are the normalized bytes of one original code
// point; a letter unit between separators (or edges) is isolated; isolated letters separated by
// at most kSpacingMaxSeparatorBytes of separators form a run.
void build_spaced_view(const NormalizedText& n, SpacedView* v) {
  v->clear();
  const std::string_view t = n.text;
  std::size_t i = 0, letters_in_run = 0, sep_bytes = 0;
  bool prev_was_letter_unit = false;
  auto end_run = [&] {
    if (letters_in_run > 0) {
      v->text += '\0';
      v->src_begin.push_back(0);
      v->src_end.push_back(0);
    }
    letters_in_run = 0;
  };
  while (i < t.size()) {
    std::size_t j = i;
    while (j < t.size() && n.src_begin[j] == n.src_begin[i]) ++j;  // one unit
    bool letters = true, separators = true;
    for (std::size_t k = i; k < j;) {
      const char32_t c = utf8_decode(t, &k);
      letters &= TextNormalizer::is_word_char(c);
      separators &= is_separator(c);
    }
    if (letters) {
      const bool isolated = !prev_was_letter_unit && (j >= t.size() || is_separator(cp_at(t, j)));
      if (isolated) {
        if (letters_in_run > 0 && sep_bytes > kSpacingMaxSeparatorBytes) end_run();
        v->text.append(t.substr(i, j - i));
        v->src_begin.insert(v->src_begin.end(), j - i, n.src_begin[i]);
        v->src_end.insert(v->src_end.end(), j - i, n.src_end[i]);
        ++letters_in_run;
      } else {
        end_run();
      }
      sep_bytes = 0;
      prev_was_letter_unit = true;
    } else {
      if (separators) {
        sep_bytes += j - i;
      } else {
        end_run();
      }
      prev_was_letter_unit = false;
    }
    i = j;
  }
  // No NUL after the last run: in a stream it may go on, and the automaton's state at the end
  // must say so.
}

bool whole_word_at(std::string_view t, std::size_t begin, std::size_t end) {
  if (TextNormalizer::is_word_char(cp_at(t, begin)) && TextNormalizer::is_word_char(cp_before(t, begin))) return false;
  return !(TextNormalizer::is_word_char(cp_before(t, end)) && TextNormalizer::is_word_char(cp_at(t, end)));
}

bool model_listed(const RuleConfig& r, std::string_view model) {
  return r.models.empty() || std::find(r.models.begin(), r.models.end(), model) != r.models.end();
}

class Collector {
 public:
  Collector(const PolicyConfig& config, Verdict* out) : config_(config), out_(out) {}
  void add(std::uint32_t rule, Span span, std::string_view label, bool open_ended = false) {
    const Action a = config_.rules[rule].action;
    out_->action = std::max(out_->action, a);
    if (out_->matches.size() >= config_.max_matches) {
      out_->truncated = true;
      return;
    }
    out_->matches.push_back(Match{rule, a, span, label, open_ended});
  }

 private:
  const PolicyConfig& config_;
  Verdict* out_;
};

// A private key block that is masked is opaque: what begins inside it is part of it (the output
// filter swallows it unread), so a match starting in it and running past its END line is not
// another match.
void drop_inside_masked_keys(Verdict* v) {
  std::vector<Match>& ms = v->matches;
  bool dropped = false;
  for (std::size_t k = 0; k < ms.size(); ++k) {
    if (ms[k].action != Action::kRedact || ms[k].label != detector_name(Detector::kPrivateKey)) continue;
    const Span key = ms[k].span;
    const bool open = ms[k].open_ended;
    const auto inside = [&](const Match& m) { return m.span.begin > key.begin && (open || m.span.begin < key.end); };
    const auto from = std::remove_if(ms.begin() + static_cast<std::ptrdiff_t>(k) + 1, ms.end(), inside);
    dropped |= from != ms.end();
    ms.erase(from, ms.end());
  }
  if (dropped && !v->truncated) {
    v->action = Action::kNone;
    for (const Match& m : ms) v->action = std::max(v->action, m.action);
  }
}

}  // namespace

std::string_view stage_name(Stage s) {
  switch (s) {
    case Stage::kInput:
      return "input";
    case Stage::kOutput:
      return "output";
    case Stage::kBoth:
      return "both";
  }
  return "?";
}

std::string_view role_name(Role r) {
  static constexpr std::string_view kNames[] = {"user", "system", "tool", "assistant"};
  return kNames[static_cast<std::size_t>(r)];
}

std::string_view action_name(Action a) {
  static constexpr std::string_view kNames[] = {"none", "flag", "redact", "block"};
  return kNames[static_cast<std::size_t>(a)];
}

std::string_view rule_kind_name(RuleKind k) {
  static constexpr std::string_view kNames[] = {"phrases", "regex", "detector"};
  return kNames[static_cast<std::size_t>(k)];
}

std::string_view violation_kind_name(ViolationKind k) {
  static constexpr std::string_view kNames[] = {"blocked",        "flagged",      "rate_limited",
                                                "quota_exceeded", "failed_login", "malformed_request"};
  return kNames[static_cast<std::size_t>(k)];
}

PolicyScratch::Impl::Impl()
    : match_data(pcre2_match_data_create(2, nullptr)),
      match_context(pcre2_match_context_create(nullptr)),
      jit_stack(pcre2_jit_stack_create(32 * 1024, 1024 * 1024, nullptr)) {
  pcre2_jit_stack_assign(match_context, nullptr, jit_stack);
  pcre2_set_depth_limit(match_context, 10000);
}

PolicyScratch::Impl::~Impl() {
  pcre2_jit_stack_free(jit_stack);
  pcre2_match_context_free(match_context);
  pcre2_match_data_free(match_data);
}

PolicyScratch::PolicyScratch() : impl_(std::make_unique<Impl>()) {}
PolicyScratch::~PolicyScratch() = default;

bool Policy::applies(std::uint32_t rule, Stage stage, Role role, std::string_view model) const {
  const CompiledRule& c = compiled_->rules[rule];
  return (c.stage_mask & static_cast<std::uint8_t>(stage)) != 0 &&
         (c.role_mask & (1u << static_cast<unsigned>(role))) != 0 && model_listed(config_.rules[rule], model);
}

Verdict Policy::evaluate(Stage stage, Role role, std::string_view model, std::string_view text) const {
  thread_local PolicyScratch scratch;
  Verdict v;
  evaluate_from(stage, role, model, text, 0, &scratch, &v);
  return v;
}

void Policy::evaluate(Stage stage, Role role, std::string_view model, std::string_view text, PolicyScratch* scratch,
                      Verdict* out) const {
  evaluate_from(stage, role, model, text, 0, scratch, out);
}

void Policy::evaluate_from(Stage stage, Role role, std::string_view model, std::string_view text, std::size_t from,
                           PolicyScratch* scratch, Verdict* out) const {
  evaluate_impl(stage, role, model, text, from, scratch, out, nullptr);
}

void Policy::evaluate_partial(Stage stage, Role role, std::string_view model, std::string_view text, std::size_t from,
                              PolicyScratch* scratch, Verdict* out, std::size_t* hold) const {
  *hold = text.size();
  evaluate_impl(stage, role, model, text, from, scratch, out, hold);
  // Only matches that begin before the held part are final.
  std::erase_if(out->matches, [&](const Match& m) { return m.span.begin >= *hold; });
}

void Policy::evaluate_impl(Stage stage, Role role, std::string_view model, std::string_view text, std::size_t from,
                           PolicyScratch* scratch, Verdict* out, std::size_t* hold) const {
  out->clear();
  PolicyScratch::Impl& s = scratch->impl();
  const std::size_t n_rules = config_.rules.size();
  s.applicable.assign(n_rules, 0);
  bool any_phrases = false, any_spacing = false;
  for (std::uint32_t r = 0; r < n_rules; ++r) {
    if (!applies(r, stage, role, model)) continue;
    s.applicable[r] = 1;
    if (config_.rules[r].kind == RuleKind::kPhrases) {
      any_phrases = true;
      any_spacing |= config_.rules[r].spacing;
    }
  }
  pcre2_set_match_limit(s.match_context, config_.regex_match_limit);
  if (any_phrases) match_phrases(text, from, any_spacing, s, out, hold);
  match_regexes(text, from, s, out, hold);
  // Stable: two detectors of one rule may match the same span (an address that is also a secret
  // assignment's value); the one listed first in the rule keeps it however many matches there are
  // (std::sort's order of equal elements changed with the count, and the stream, which sees fewer
  // matches at a time, labelled the span otherwise than the whole text).
  std::stable_sort(out->matches.begin(), out->matches.end(), [](const Match& a, const Match& b) {
    if (a.span.begin != b.span.begin) return a.span.begin < b.span.begin;
    if (a.rule != b.rule) return a.rule < b.rule;
    return a.span.end < b.span.end;
  });
  out->matches.erase(std::unique(out->matches.begin(), out->matches.end(),
                                 [](const Match& a, const Match& b) { return a.rule == b.rule && a.span == b.span; }),
                     out->matches.end());
  drop_inside_masked_keys(out);
  if (out->truncated) {  // the action counts every match, the kept ones may not show it
    for (const Match& m : out->matches) out->action = std::max(out->action, m.action);
  }
}

void Policy::match_phrases(std::string_view text, std::size_t from, bool any_spacing, PolicyScratch::Impl& s,
                           Verdict* out, std::size_t* hold) const {
  const Compiled& c = *compiled_;
  Collector collect(config_, out);
  s.normalized.clear();
  TextNormalizer::instance().normalize(text, 0, &s.normalized);
  const NormalizedText& n = s.normalized;
  const std::size_t pending = c.phrases.scan(n.text, [&](std::uint32_t p, std::size_t end) {
    const std::uint32_t r = c.pattern_rule[p];
    const std::size_t begin = end - c.phrases.pattern_length(p);
    if (!s.applicable[r] || n.original_begin(begin) < from) return true;
    if (config_.rules[r].whole_words && !whole_word_at(n.text, begin, end)) return true;
    collect.add(r, Span{n.original_begin(begin), n.original_end(end)}, config_.rules[r].category);
    return true;
  });
  if (hold != nullptr && pending > 0) *hold = std::min<std::size_t>(*hold, n.original_begin(n.text.size() - pending));
  if (!any_spacing || !c.any_spacing) return;
  build_spaced_view(n, &s.spaced);
  const SpacedView& v = s.spaced;
  const std::size_t spaced_pending = c.phrases.scan(v.text, [&](std::uint32_t p, std::size_t end) {
    const std::uint32_t r = c.pattern_rule[p];
    const std::size_t begin = end - c.phrases.pattern_length(p);
    if (!s.applicable[r] || !config_.rules[r].spacing || v.src_begin[begin] < from) return true;
    collect.add(r, Span{v.src_begin[begin], v.src_end[end - 1]}, config_.rules[r].category);
    return true;
  });
  if (hold != nullptr && spaced_pending > 0) {
    *hold = std::min<std::size_t>(*hold, v.src_begin[v.text.size() - spaced_pending]);
  }
}

void Policy::match_regexes(std::string_view text, std::size_t from, PolicyScratch::Impl& s, Verdict* out,
                           std::size_t* hold) const {
  const Compiled& c = *compiled_;
  Collector collect(config_, out);
  std::size_t partial = std::string_view::npos;
  // A potential match held back at most `bound` bytes before the end.
  auto note_partial = [&](std::size_t bound) {
    if (hold == nullptr || partial == std::string_view::npos) return;
    const std::size_t floor = text.size() > bound ? text.size() - bound : 0;
    *hold = std::min(*hold, std::max(partial, floor));
  };
  std::size_t* want_partial = hold != nullptr ? &partial : nullptr;
  find_masked_keys(text, from, s);
  // A detector's match that begins inside a masked key block is part of the block (see
  // drop_inside_masked_keys): it must not hide a later match of the same detector either, as a
  // match before `from` (context) does not. So the stream and the whole text agree.
  const auto inside_key = [&s](std::size_t b) {
    for (const Span& k : s.key_blocks) {
      if (b > k.begin && b < k.end) return true;
    }
    return false;
  };
  for (std::uint32_t r = 0; r < config_.rules.size(); ++r) {
    if (!s.applicable[r]) continue;
    const RuleConfig& rule = config_.rules[r];
    if (rule.kind == RuleKind::kRegex) {
      out->regex_limit_hits += for_each_regex_match(
          *c.rules[r].regex, text, from, s,
          [&](std::size_t b, std::size_t e, auto...) {
            if (b < from) return true;
            collect.add(r, Span{static_cast<std::uint32_t>(b), static_cast<std::uint32_t>(e)}, rule.category);
            return true;
          },
          want_partial);
      note_partial(rule.max_match_bytes);
    } else if (rule.kind == RuleKind::kDetector) {
      for (const Detector d : rule.detectors) {
        const CompiledRegex& re = *c.detectors[static_cast<std::size_t>(d)];
        std::size_t last_end = 0;  // a match inside the previous one (a phone in a phone) is not another
        // From the window's start: a detector's match (group 1) may follow a key before `from`.
        out->regex_limit_hits += for_each_regex_match(
            re, text, 0, s,
            [&](std::size_t b, std::size_t e, std::size_t g1b, std::size_t g1e) {
              if (g1b != std::string_view::npos) b = g1b, e = g1e;
              if (b < last_end || !detector_accepts(d, text.substr(b, e - b))) return true;
              bool closed = true;
              if (d == Detector::kPrivateKey) e = private_key_block_end(text, e, &closed);
              if (b < from) return true;  // context: decided before, and may lack what came before it
              if (d != Detector::kPrivateKey && inside_key(b)) return true;
              last_end = e;
              collect.add(r, Span{static_cast<std::uint32_t>(b), static_cast<std::uint32_t>(e)}, detector_name(d),
                          !closed);
              return true;
            },
            want_partial);
        note_partial(detector_spec(d).max_match_bytes);
      }
    }
  }
}

void Policy::find_masked_keys(std::string_view text, std::size_t from, PolicyScratch::Impl& s) const {
  s.key_blocks.clear();
  bool any = false;
  for (std::uint32_t r = 0; r < config_.rules.size() && !any; ++r) {
    if (!s.applicable[r] || config_.rules[r].kind != RuleKind::kDetector || config_.rules[r].action != Action::kRedact)
      continue;
    for (const Detector d : config_.rules[r].detectors) any |= d == Detector::kPrivateKey;
  }
  if (!any) return;
  const CompiledRegex& re = *compiled_->detectors[static_cast<std::size_t>(Detector::kPrivateKey)];
  std::size_t last_end = 0;
  for_each_regex_match(re, text, 0, s, [&](std::size_t b, std::size_t e, std::size_t g1b, std::size_t g1e) {
    if (g1b != std::string_view::npos) b = g1b, e = g1e;
    if (b < last_end || !detector_accepts(Detector::kPrivateKey, text.substr(b, e - b))) return true;
    bool closed = true;
    e = private_key_block_end(text, e, &closed);
    last_end = e;
    // A block that begins in the context was decided before (its END line, if any, is before
    // `from`): only the blocks of the text being decided count.
    if (b >= from) s.key_blocks.push_back(Span{static_cast<std::uint32_t>(b), static_cast<std::uint32_t>(e)});
    return true;
  });
}

StreamBounds Policy::stream_bounds(Stage stage, Role role, std::string_view model) const {
  StreamBounds b;
  for (std::uint32_t r = 0; r < config_.rules.size(); ++r) {
    if (!applies(r, stage, role, model)) continue;
    b.any = true;
    const RuleConfig& rule = config_.rules[r];
    const CompiledRule& c = compiled_->rules[r];
    switch (rule.kind) {
      case RuleKind::kPhrases: {
        const std::size_t per_char = rule.spacing ? 1 + kSpacingMaxSeparatorBytes : 1;
        b.normalized_bytes = std::max(b.normalized_bytes, c.longest_phrase * per_char + kMaxCodePointBytes);
        break;
      }
      case RuleKind::kRegex:
        b.raw_bytes = std::max(b.raw_bytes, rule.max_match_bytes + kMaxCodePointBytes);
        b.context_bytes = std::max(b.context_bytes, c.regex->max_lookbehind * kMaxCodePointBytes);
        break;
      case RuleKind::kDetector:
        for (const Detector d : rule.detectors) {
          b.raw_bytes = std::max(b.raw_bytes, detector_spec(d).max_match_bytes + kMaxCodePointBytes);
          b.context_bytes = std::max(b.context_bytes, detector_spec(d).prefix_bytes);
          b.context_bytes = std::max(
              b.context_bytes, compiled_->detectors[static_cast<std::size_t>(d)]->max_lookbehind * kMaxCodePointBytes);
        }
        break;
    }
  }
  // Word boundaries and spelled-out runs look at the characters just before a match.
  b.context_bytes = std::max<std::size_t>(b.context_bytes, 4 * kMaxCodePointBytes);
  return b;
}

std::string redact(std::string_view text, const Verdict& verdict, Action at_least) {
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  for (std::size_t i = 0; i < verdict.matches.size(); ++i) {
    const Match& m = verdict.matches[i];
    if (m.span.begin >= text.size() || pos >= text.size()) break;  // (a verdict of a longer text)
    if (m.action < at_least || m.span.end <= pos) continue;
    const std::size_t begin = std::max<std::size_t>(m.span.begin, pos);
    std::size_t end = m.open_ended ? text.size() : std::min<std::size_t>(m.span.end, text.size());
    // Merge the spans that overlap this one.
    for (std::size_t j = i + 1; j < verdict.matches.size() && verdict.matches[j].span.begin < end; ++j) {
      if (verdict.matches[j].action >= at_least) {
        end = std::max<std::size_t>(end, verdict.matches[j].open_ended ? text.size() : verdict.matches[j].span.end);
      }
    }
    out.append(text.substr(pos, begin - pos));
    out += "[redacted:";
    out += m.label;
    out += ']';
    pos = std::min(end, text.size());
  }
  out.append(text.substr(std::min(pos, text.size())));
  return out;
}

}  // namespace parley::policy
