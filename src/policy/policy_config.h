// PolicyConfig: the moderation rules and abuse thresholds an operator configures ([moderation] in
// parley.toml, docs/moderation.md), as typed values. Policy::compile (policy/policy.h) checks and
// compiles them; policy/policy_config_toml.h reads them from TOML.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "policy/detectors.h"

namespace parley::policy {

// Where a rule applies: the request's messages before generation, or the generated reply.
enum class Stage : unsigned char { kInput = 1, kOutput = 2, kBoth = 3 };
std::string_view stage_name(Stage stage);  // "input", "output", "both"

// The role of the text being checked (a message's role; the reply is kAssistant).
enum class Role : unsigned char { kUser, kSystem, kTool, kAssistant };
inline constexpr std::size_t kRoleCount = 4;
std::string_view role_name(Role role);  // "user", "system", "tool", "assistant"

// Ordered by severity: a verdict's action is the most severe of its matches.
enum class Action : unsigned char { kNone, kFlag, kRedact, kBlock };
std::string_view action_name(Action action);  // "none", "flag", "redact", "block"

enum class RuleKind : unsigned char { kPhrases, kRegex, kDetector };
std::string_view rule_kind_name(RuleKind kind);  // "phrases", "regex", "detector"

struct RuleConfig {
  std::string name;      // unique among the rules; in audit events and metrics
  std::string category;  // /v1/moderations category; default: the name
  RuleKind kind = RuleKind::kPhrases;
  Stage stage = Stage::kBoth;
  std::array<bool, kRoleCount> roles = {true, true, true, true};  // default: every role
  std::vector<std::string> models;                                // empty: every model
  Action action = Action::kFlag;

  // kPhrases
  std::vector<std::string> phrases;
  bool whole_words = true;  // a phrase must not begin or end inside a word ("ass" not in "class")
  bool spacing = false;     // also match the phrase spelled out with single separators: "p a s s"

  // kRegex (PCRE2, UTF mode, on the original text)
  std::string pattern;
  bool case_insensitive = false;
  std::size_t max_match_bytes = 256;  // longest match the streaming filter waits for

  // kDetector
  std::vector<Detector> detectors;
};

// The kinds of event that count towards a subject's violation score.
enum class ViolationKind : unsigned char {
  kBlocked,
  kFlagged,
  kRateLimited,
  kQuotaExceeded,
  kFailedLogin,
  kMalformedRequest,
};
inline constexpr std::size_t kViolationKindCount = 6;
std::string_view violation_kind_name(ViolationKind kind);

struct AbuseConfig {
  bool enabled = true;
  // Points per event, by ViolationKind.
  std::array<double, kViolationKindCount> weights = {5.0, 1.0, 0.5, 0.5, 1.0, 0.2};
  double half_life_s = 3600;          // a score halves in this time
  double suspend_threshold = 50;      // a score reaching it suspends the subject ...
  std::int64_t suspend_s = 3600;      // ... for this long
  std::size_t max_subjects = 100000;  // subjects tracked in memory (least recently seen go first)
  // Seconds between re-reads of the stored suspensions (lifts by `parley admin moderation lift`,
  // suspensions and lifts of other gateways sharing the store); 0: only at start-up.
  std::int64_t sync_s = 10;
};

struct AuditConfig {
  std::int64_t retention_days = 90;      // events older than this are deleted
  std::size_t excerpt_bytes = 0;         // redacted context kept around a match (0: none, the default)
  std::int64_t purge_interval_s = 3600;  // seconds between retention purges; 0: only at start-up
};

struct PolicyConfig {
  std::vector<RuleConfig> rules;
  std::uint32_t regex_match_limit = 100000;       // PCRE2 match limit per regex call
  std::size_t max_matches = 1024;                 // matches kept per verdict
  std::size_t max_stream_holdback_bytes = 65536;  // the output filter cuts the stream beyond this
  AbuseConfig abuse;
  AuditConfig audit;
};

}  // namespace parley::policy
