#include "policy/output_filter.h"

#include <gtest/gtest.h>

#include "policy_test_util.h"

namespace parley::policy {
namespace {

using testing::compile_or_die;
using testing::detector_rule;
using testing::phrase_rule;
using testing::regex_rule;

struct Streamed {
  std::string emitted;
  bool blocked = false;
  std::uint64_t cut = 0;
  std::vector<std::string> emitted_after_each;  // what was out after each call
};

// Feeds `text` cut at `cuts` (sorted offsets), then finishes.
Streamed stream(const std::shared_ptr<const Policy>& p, std::string_view text, const std::vector<std::size_t>& cuts) {
  OutputFilter f(p, Role::kAssistant, "m");
  Streamed s;
  std::size_t pos = 0;
  std::vector<std::size_t> ends = cuts;
  ends.push_back(text.size());
  for (const std::size_t end : ends) {
    if (f.feed(text.substr(pos, end - pos), &s.emitted) == OutputFilter::State::kBlocked) break;
    s.emitted_after_each.push_back(s.emitted);
    pos = end;
  }
  f.finish(&s.emitted);
  s.blocked = f.state() == OutputFilter::State::kBlocked;
  if (f.cut()) s.cut = *f.cut();
  return s;
}

// Every way of cutting the text once, and byte by byte.
std::vector<std::vector<std::size_t>> all_cuts(std::size_t n) {
  std::vector<std::vector<std::size_t>> out;
  for (std::size_t i = 0; i <= n; ++i) out.push_back({i});
  std::vector<std::size_t> every;
  for (std::size_t i = 1; i < n; ++i) every.push_back(i);
  out.push_back(every);
  return out;
}

// The stream, however cut, emits what the whole-text verdict says: the text before the first
// block match, or the redacted text; and never anything it takes back.
void expect_stream_matches_whole(const std::shared_ptr<const Policy>& p, std::string_view text) {
  const Verdict whole = p->evaluate(Stage::kOutput, Role::kAssistant, "m", text);
  std::string expected;
  bool expect_block = false;
  std::uint64_t expect_cut = 0;
  if (whole.action == Action::kBlock) {
    expect_block = true;
    for (const Match& m : whole.matches) {
      if (m.action == Action::kBlock) {
        expect_cut = m.span.begin;
        break;
      }
    }
    // Text before the cut, with the redactions that end before it.
    Verdict before = whole;
    std::erase_if(before.matches, [&](const Match& m) { return m.span.begin >= expect_cut; });
    expected = redact(text.substr(0, expect_cut), before);
  } else {
    expected = redact(text, whole);
  }
  for (const auto& cuts : all_cuts(text.size())) {
    const Streamed s = stream(p, text, cuts);
    const std::string where = "cut at " + (cuts.size() == 1 ? std::to_string(cuts[0]) : std::string("every byte"));
    EXPECT_EQ(s.emitted, expected) << where << " of: " << text;
    EXPECT_EQ(s.blocked, expect_block) << where << " of: " << text;
    if (expect_block) {
      EXPECT_EQ(s.cut, expect_cut) << where;
    }
    for (const std::string& partial : s.emitted_after_each) {
      EXPECT_EQ(expected.substr(0, partial.size()), partial) << where << ": emitted something it took back";
    }
  }
}

TEST(OutputFilter, ABlockedPhraseIsNeverEmittedAtAnySplit) {
  auto p = compile_or_die({phrase_rule("pw", {"password"})});
  for (const std::string_view text :
       {"Tell me the password now", "the pa\u200bssword", "ｐａｓｓｗｏｒｄ!", "password",
        "passwords are fine, passwor is fine, and then: Password.", "no match at all here, only pass and word"}) {
    expect_stream_matches_whole(p, text);
  }
  const Streamed s = stream(p, "Tell me the password now", {14});
  EXPECT_EQ(s.emitted, "Tell me the ");
  EXPECT_TRUE(s.blocked);
  EXPECT_EQ(s.cut, 12u);
}

TEST(OutputFilter, HoldsBackOnlyWhatCouldStillMatch) {
  auto p = compile_or_die({phrase_rule("pw", {"password"})});
  OutputFilter f(p, Role::kAssistant, "m");
  std::string out;
  f.feed("Hello there, my pass", &out);
  EXPECT_EQ(out, "Hello there, my ");  // "pass" could begin "password"
  f.feed("port is", &out);
  EXPECT_EQ(out, "Hello there, my passport is");
  f.feed(" ready", &out);
  EXPECT_EQ(out, "Hello there, my passport is ready");
  EXPECT_EQ(f.held_bytes(), 0u);
}

TEST(OutputFilter, RedactionsAtAnySplit) {
  auto p = compile_or_die(
      {detector_rule("pii", detectors_named("pii")), phrase_rule("s", {"secret sauce"}, Action::kRedact)});
  for (const std::string_view text :
       {"mail bob@example.com now", "call +44 20 7946 0958.", "card 4111 1111 1111 1111 ok", "the Secret  Sauce is é",
        "bob@example.com", "über bob@exämple.com"}) {
    expect_stream_matches_whole(p, text);
  }
}

TEST(OutputFilter, RegexRulesAtAnySplit) {
  auto p = compile_or_die({regex_rule("t", R"(INC-\d{6})", Action::kRedact), regex_rule("b", R"(\bDROP TABLE\b)")});
  for (const std::string_view text :
       {"ticket INC-123456 done", "INC-12345 is short", "then DROP TABLE users", "INC-000001INC-000002"}) {
    expect_stream_matches_whole(p, text);
  }
}

TEST(OutputFilter, SpacedOutPhrasesAtAnySplit) {
  RuleConfig r = phrase_rule("pw", {"password"});
  r.spacing = true;
  auto p = compile_or_die({r});
  expect_stream_matches_whole(p, "it is p a s s w o r d ok");
  expect_stream_matches_whole(p, "grasp as sword");
}

TEST(OutputFilter, PrivateKeysAreMaskedToTheirEndLine) {
  auto p = compile_or_die({detector_rule("keys", {Detector::kPrivateKey})});
  const std::string text =
      "key:\n-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\nbye";
  for (const auto& cuts : all_cuts(text.size())) {
    EXPECT_EQ(stream(p, text, cuts).emitted, "key:\n[redacted:private_key]\nbye");
  }
  const std::string open = "key:\n-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIIrY";
  for (const auto& cuts : all_cuts(open.size()))
    EXPECT_EQ(stream(p, open, cuts).emitted, "key:\n[redacted:private_key]");
}

TEST(OutputFilter, FlagsAreRecordedAndEmitted) {
  auto p = compile_or_die({phrase_rule("f", {"heads up"}, Action::kFlag)});
  OutputFilter f(p, Role::kAssistant, "m");
  std::string out;
  f.feed("a heads", &out);
  f.feed(" up!", &out);
  f.finish(&out);
  EXPECT_EQ(out, "a heads up!");
  ASSERT_EQ(f.matches().size(), 1u);
  EXPECT_EQ(f.matches()[0].span, (Span{2, 10}));
  EXPECT_EQ(f.action(), Action::kFlag);
}

TEST(OutputFilter, RulesForOtherStagesRolesOrModelsDoNotHoldAnything) {
  RuleConfig r = phrase_rule("pw", {"password"});
  r.stage = Stage::kInput;
  auto p = compile_or_die({r});
  OutputFilter f(p, Role::kAssistant, "m");
  std::string out;
  f.feed("pass", &out);
  EXPECT_EQ(out, "pass");
}

TEST(OutputFilter, ALongReplyKeepsASmallBuffer) {
  auto p = compile_or_die({phrase_rule("pw", {"password"}), detector_rule("pii", detectors_named("pii"))});
  OutputFilter f(p, Role::kAssistant, "m");
  std::string out;
  for (int i = 0; i < 20000; ++i) f.feed("token ", &out);
  EXPECT_LT(f.held_bytes(), 16u);
  f.finish(&out);
  EXPECT_EQ(out.size(), 6u * 20000);
}

TEST(OutputFilter, TooMuchHeldBackCutsTheStream) {
  PolicyConfig c;
  c.rules = {phrase_rule("pw", {"password"})};
  c.max_stream_holdback_bytes = 1024;
  auto p = *Policy::compile(c);
  OutputFilter f(p, Role::kAssistant, "m");
  std::string out;
  f.feed("ok pa", &out);
  for (int i = 0; i < 400 && f.state() == OutputFilter::State::kOpen; ++i) f.feed("\u200b", &out);
  EXPECT_EQ(f.state(), OutputFilter::State::kBlocked);
  EXPECT_EQ(out, "ok ");
}

}  // namespace
}  // namespace parley::policy

namespace parley::policy {
namespace {

// Texts made of fragments that start, continue or break matches, each streamed at every split.
TEST(OutputFilter, RandomTextsStreamLikeTheWholeText) {
  RuleConfig spaced = testing::phrase_rule("sp", {"secret"}, Action::kRedact);
  spaced.spacing = true;
  auto p = testing::compile_or_die({testing::phrase_rule("pw", {"password", "pass phrase"}), spaced,
                                    testing::phrase_rule("fl", {"word"}, Action::kFlag),
                                    testing::detector_rule("pii", {Detector::kEmail, Detector::kPaymentCard}),
                                    testing::regex_rule("t", R"(T-\d{3}\b)", Action::kRedact)});
  const std::vector<std::string> fragments = {"pass", "word", " ",   "ｐａｓｓ",     "\u200b",     "s e c r e t",
                                              "é",    "日本", "bob", "@example.com", "4111 1111 ", "1111 1111",
                                              "T-12", "3",    ".",   "phrase",       "  ",         "Ｗ",
                                              "o",    "rd",   "x"};
  std::uint32_t seed = 12345;
  auto next = [&] { return seed = seed * 1664525u + 1013904223u; };
  for (int t = 0; t < 150; ++t) {
    std::string text;
    const int n = 2 + static_cast<int>(next() % 7);
    for (int i = 0; i < n; ++i) text += fragments[next() % fragments.size()];
    expect_stream_matches_whole(p, text);
  }
}

}  // namespace
}  // namespace parley::policy
