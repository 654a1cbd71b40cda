// Policy: moderation rules compiled once (when the config loads) and evaluated on request text.
//
//   auto policy = Policy::compile(config);              // Result<std::shared_ptr<const Policy>>
//   Verdict v = (*policy)->evaluate(Stage::kInput, Role::kUser, "llama-3.2-1b", text);
//   if (v.action == Action::kBlock) ... 400 content_policy_violation
//   if (v.action == Action::kRedact) text = redact(text, v);   // "[redacted:email]"
//
// Phrase rules match the normalized text (policy/text_normalizer.h) through one automaton of
// every phrase (policy/phrase_matcher.h); regex rules and detectors (policy/detectors.h) run
// PCRE2, JIT-compiled, on the original text with a match limit per call, so evaluation time is
// bounded by the text's length. Spans are byte offsets in the original text, so a redaction
// masks exactly the bytes a match came from (zero-width characters inside it included).
//
// Thread safety: a Policy is immutable; evaluate() may be called from any number of threads at
// once. A PolicyScratch holds one thread's buffers: evaluate() without one uses a thread-local
// scratch, so that a call allocates nothing but the matches it returns (after warm-up).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "policy/phrase_matcher.h"
#include "policy/policy_config.h"

namespace parley::policy {

struct Span {
  std::uint32_t begin = 0;  // bytes of the original text, [begin, end)
  std::uint32_t end = 0;
  bool operator==(const Span&) const = default;
};

struct Match {
  std::uint32_t rule = 0;  // index into Policy::config().rules
  Action action = Action::kNone;
  Span span;
  std::string_view label;   // "email", or the rule's category; lives as long as the Policy
  bool open_ended = false;  // a private key block without its END line: runs to the text's end
};

struct Verdict {
  Action action = Action::kNone;       // the most severe action of the matches
  std::vector<Match> matches;          // by span.begin, then rule; at most config().max_matches
  bool truncated = false;              // more matches than max_matches (action still counts them all)
  std::uint32_t regex_limit_hits = 0;  // regex calls stopped by the match limit (no match assumed)

  void clear() {
    action = Action::kNone;
    matches.clear();
    truncated = false;
    regex_limit_hits = 0;
  }
};

class PolicyScratch {
 public:
  PolicyScratch();
  ~PolicyScratch();
  PolicyScratch(const PolicyScratch&) = delete;
  PolicyScratch& operator=(const PolicyScratch&) = delete;
  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

// How much of a stream the output filter must hold back for the rules that apply to it.
struct StreamBounds {
  std::size_t normalized_bytes = 0;  // phrases: normalized bytes a match (and its boundary) can need
  std::size_t raw_bytes = 0;         // regexes and detectors: original bytes a match can need
  std::size_t context_bytes = 0;     // original bytes kept before the emitted point (lookbehind)
  bool any = false;                  // some rule applies at all
};

class Policy {
 public:
  // Checks and compiles the rules: kInvalidArgument naming the rule ("rules[2] (name): ...") for
  // a bad pattern, an unknown detector, a regex that matches the empty string or backtracks
  // catastrophically on probe inputs (it hits the match limit), duplicate names...
  static Result<std::shared_ptr<const Policy>> compile(PolicyConfig config);

  ~Policy();
  const PolicyConfig& config() const { return config_; }
  bool empty() const { return config_.rules.empty(); }
  bool applies(std::uint32_t rule, Stage stage, Role role, std::string_view model) const;

  Verdict evaluate(Stage stage, Role role, std::string_view model, std::string_view text) const;
  void evaluate(Stage stage, Role role, std::string_view model, std::string_view text, PolicyScratch* scratch,
                Verdict* out) const;
  // Only matches that begin at or after `from`; the bytes before it are context (lookbehind,
  // word boundaries). For the streaming filter.
  void evaluate_from(Stage stage, Role role, std::string_view model, std::string_view text, std::size_t from,
                     PolicyScratch* scratch, Verdict* out) const;

  // For the streaming filter: like evaluate_from, but a match that more text could still extend
  // or complete is left out, and *hold is set to the earliest offset where such a potential match
  // begins (text.size() when there is none): the bytes from there on must not be shown yet. A
  // regex or detector holds back at most its max_match_bytes.
  void evaluate_partial(Stage stage, Role role, std::string_view model, std::string_view text, std::size_t from,
                        PolicyScratch* scratch, Verdict* out, std::size_t* hold) const;

  StreamBounds stream_bounds(Stage stage, Role role, std::string_view model) const;

  struct Compiled;  // PCRE2 codes and the phrase automaton (policy.cpp)

 private:
  Policy();
  void evaluate_impl(Stage stage, Role role, std::string_view model, std::string_view text, std::size_t from,
                     PolicyScratch* scratch, Verdict* out, std::size_t* hold) const;
  void match_phrases(std::string_view text, std::size_t from, bool any_spacing, PolicyScratch::Impl& s, Verdict* out,
                     std::size_t* hold) const;
  void match_regexes(std::string_view text, std::size_t from, PolicyScratch::Impl& s, Verdict* out,
                     std::size_t* hold) const;
  // The private key blocks a redact rule masks that begin at or after `from` (into s.key_blocks).
  void find_masked_keys(std::string_view text, std::size_t from, PolicyScratch::Impl& s) const;
  PolicyConfig config_;
  std::unique_ptr<Compiled> compiled_;
};

// `text` with the spans of the verdict's matches of at least `at_least` replaced by
// "[redacted:<label>]"; overlapping spans merge. An open-ended match masks to the end.
std::string redact(std::string_view text, const Verdict& verdict, Action at_least = Action::kRedact);

}  // namespace parley::policy
