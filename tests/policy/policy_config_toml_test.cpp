#include "policy/policy_config_toml.h"

#include <gtest/gtest.h>

#include "policy/policy.h"

namespace parley::policy {
namespace {

constexpr std::string_view kExample = R"toml(
[moderation]
regex_match_limit = 50000

[[moderation.rules]]
name = "secrets-out"
kind = "detector"
detectors = ["secrets", "email"]
stage = "output"
action = "block"
category = "secrets"

[[moderation.rules]]
name = "words"
kind = "phrases"
phrases = ["password", "secret sauce"]
roles = ["user", "tool"]
models = ["llama-3.2-1b"]
action = "redact"
spacing = true
whole_words = false

[[moderation.rules]]
name = "tickets"
kind = "regex"
pattern = 'INC-\d{6}'
case_insensitive = true
max_match_bytes = 16

[moderation.abuse]
half_life_s = 600
suspend_threshold = 20
suspend_s = 900
max_subjects = 1000
weights = { blocked = 4, failed_login = 2.5 }

[moderation.audit]
retention_days = 30
excerpt_bytes = 80
)toml";

TEST(PolicyConfigToml, ReadsEveryKey) {
  auto c = parse_policy_config(kExample, "parley.toml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->regex_match_limit, 50000u);
  ASSERT_EQ(c->rules.size(), 3u);
  const RuleConfig& d = c->rules[0];
  EXPECT_EQ(d.kind, RuleKind::kDetector);
  EXPECT_EQ(d.stage, Stage::kOutput);
  EXPECT_EQ(d.action, Action::kBlock);
  EXPECT_EQ(d.category, "secrets");
  EXPECT_EQ(d.detectors.size(), kDetectorCount - 4 + 1);
  const RuleConfig& p = c->rules[1];
  EXPECT_EQ(p.phrases.size(), 2u);
  EXPECT_EQ(p.roles, (std::array<bool, kRoleCount>{true, false, true, false}));
  EXPECT_EQ(p.models, std::vector<std::string>{"llama-3.2-1b"});
  EXPECT_EQ(p.stage, Stage::kBoth);
  EXPECT_TRUE(p.spacing);
  EXPECT_FALSE(p.whole_words);
  const RuleConfig& r = c->rules[2];
  EXPECT_EQ(r.pattern, "INC-\\d{6}");
  EXPECT_TRUE(r.case_insensitive);
  EXPECT_EQ(r.max_match_bytes, 16u);
  EXPECT_EQ(r.action, Action::kFlag);  // the default
  EXPECT_EQ(c->abuse.half_life_s, 600);
  EXPECT_EQ(c->abuse.suspend_threshold, 20);
  EXPECT_EQ(c->abuse.suspend_s, 900);
  EXPECT_EQ(c->abuse.max_subjects, 1000u);
  EXPECT_EQ(c->abuse.weights[static_cast<std::size_t>(ViolationKind::kBlocked)], 4);
  EXPECT_EQ(c->abuse.weights[static_cast<std::size_t>(ViolationKind::kFailedLogin)], 2.5);
  EXPECT_EQ(c->abuse.weights[static_cast<std::size_t>(ViolationKind::kFlagged)], 1);  // default kept
  EXPECT_EQ(c->audit.retention_days, 30);
  EXPECT_EQ(c->audit.excerpt_bytes, 80u);
  EXPECT_TRUE(Policy::compile(*c).ok());
}

TEST(PolicyConfigToml, AnEmptyDocumentIsTheDefault) {
  auto c = parse_policy_config("", "x.toml");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->rules.empty());
}

struct BadCase {
  std::string_view toml;
  std::string_view message;  // a part of the error
};

TEST(PolicyConfigToml, ErrorsNameTheKeyAndLine) {
  const BadCase cases[] = {
      {"[moderation]\nregex_limit = 3", "x.toml:2:15: unknown key 'moderation.regex_limit'"},
      {"[moderation]\nmax_matches = 0", "moderation.max_matches must be an integer in [1, 1000000]"},
      {"[moderation]\nmax_matches = \"10\"", "moderation.max_matches must be an integer"},
      {"[[moderation.rules]]\nkind = \"phrases\"\nphrases = [\"a\"]", "moderation.rules[0] needs a name"},
      {"[[moderation.rules]]\nname = \"a\"\nphrases = [\"a\"]", "moderation.rules[0] needs a kind"},
      {"[[moderation.rules]]\nname = \"a\"\nkind = \"word\"",
       "x.toml:3:8: moderation.rules[0].kind must be one of: phrases, regex, detector"},
      {"[[moderation.rules]]\nname = \"a\"\nkind = \"phrases\"\nphrases = [\"a\"]\naction = \"ban\"",
       "moderation.rules[0].action must be one of: flag, redact, block"},
      {"[[moderation.rules]]\nname = \"a\"\nkind = \"phrases\"\nphrases = [\"a\"]\nstage = \"in\"",
       "moderation.rules[0].stage must be one of: input, output, both"},
      {"[[moderation.rules]]\nname = \"a\"\nkind = \"phrases\"\nphrases = [\"a\"]\nroles = [\"admin\"]",
       "moderation.rules[0].roles must be a list of: user, system, tool, assistant"},
      {"[[moderation.rules]]\nname = \"a\"\nkind = \"phrases\"\nphrases = [\"a\", 3]",
       "moderation.rules[0].phrases must be a list of strings"},
      {"[[moderation.rules]]\nname = \"a\"\nkind = \"phrases\"\nphrases = []",
       "moderation.rules[0].phrases must list at least one"},
      {"[[moderation.rules]]\nname = \"a\"\nkind = \"phrases\"\nphrases = [\"a\"]\npattern = \"x\"",
       "unknown key 'moderation.rules[0].pattern'"},
      {"[[moderation.rules]]\nname = \"a\"\nkind = \"regex\"", "moderation.rules[0].pattern is missing"},
      {"[[moderation.rules]]\nname = \"a\"\nkind = \"regex\"\npattern = \"x\"\nmax_match_bytes = 0",
       "moderation.rules[0].max_match_bytes must be an integer in [1, 65536]"},
      {"[[moderation.rules]]\nname = \"a\"\nkind = \"detector\"\ndetectors = [\"ssn\"]",
       "moderation.rules[0].detectors must be a list of: pii, secrets, email"},
      {"[moderation.abuse]\nhalf_life_s = 0", "moderation.abuse.half_life_s must be a number in [1,"},
      {"[moderation.abuse]\nweights = { blocked = -1 }", "moderation.abuse.weights.blocked must be a number in [0,"},
      {"[moderation.abuse]\nweights = { banned = 1 }", "unknown key 'moderation.abuse.weights.banned'"},
      {"[moderation.audit]\nretention_days = 0", "moderation.audit.retention_days must be an integer in [1, 36500]"},
      {"[moderation.audit]\nexcerpt = 3", "unknown key 'moderation.audit.excerpt'"},
      {"[moderation]\nrules = 3", "moderation.rules must be an array of tables"},
      {"moderation = 3", "moderation must be a table"},
      {"[server]\nport = 1", "unknown key 'server'"},
      {"[moderation\n", "x.toml:1:"},
  };
  for (const BadCase& c : cases) {
    auto r = parse_policy_config(c.toml, "x.toml");
    ASSERT_FALSE(r.ok()) << c.toml;
    EXPECT_NE(r.status().message().find(c.message), std::string::npos) << c.toml << "\n -> " << r.status().message();
  }
}

TEST(PolicyConfigToml, CompileErrorsNameTheRule) {
  auto c = parse_policy_config("[[moderation.rules]]\nname = \"slow\"\nkind = \"regex\"\npattern = '(a+)+$'", "x.toml");
  ASSERT_TRUE(c.ok());
  auto p = Policy::compile(*c);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("moderation.rules[0] (slow): pattern"), std::string::npos)
      << p.status().message();
}

}  // namespace
}  // namespace parley::policy
