// Helpers of the policy suite: rules written in a line.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "policy/policy.h"

namespace parley::policy::testing {

inline RuleConfig phrase_rule(std::string name, std::vector<std::string> phrases, Action action = Action::kBlock) {
  RuleConfig r;
  r.name = std::move(name);
  r.kind = RuleKind::kPhrases;
  r.phrases = std::move(phrases);
  r.action = action;
  return r;
}

inline RuleConfig regex_rule(std::string name, std::string pattern, Action action = Action::kBlock) {
  RuleConfig r;
  r.name = std::move(name);
  r.kind = RuleKind::kRegex;
  r.pattern = std::move(pattern);
  r.action = action;
  return r;
}

inline RuleConfig detector_rule(std::string name, std::vector<Detector> detectors, Action action = Action::kRedact) {
  RuleConfig r;
  r.name = std::move(name);
  r.kind = RuleKind::kDetector;
  r.detectors = std::move(detectors);
  r.action = action;
  return r;
}

inline std::shared_ptr<const Policy> compile_or_die(std::vector<RuleConfig> rules) {
  PolicyConfig c;
  c.rules = std::move(rules);
  auto p = Policy::compile(std::move(c));
  EXPECT_TRUE(p.ok()) << p.status().message();
  return p.ok() ? *p : nullptr;
}

// The original bytes of every match, in order.
inline std::vector<std::string> matched_texts(const Verdict& v, std::string_view text) {
  std::vector<std::string> out;
  for (const Match& m : v.matches) out.emplace_back(text.substr(m.span.begin, m.span.end - m.span.begin));
  return out;
}

}  // namespace parley::policy::testing
