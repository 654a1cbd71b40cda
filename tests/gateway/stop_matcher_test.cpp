#include "gateway/stop_matcher.h"

#include <gtest/gtest.h>

namespace parley {
namespace {

std::string run(StopMatcher& m, const std::vector<std::string>& pieces, std::vector<std::string>* emitted = nullptr) {
  std::string out;
  for (const auto& p : pieces) {
    const std::string e = m.feed(p);
    if (emitted) emitted->push_back(e);
    out += e;
  }
  return out + m.flush();
}

TEST(StopMatcher, StopsAcrossTokenBoundariesWithoutLeaking) {
  StopMatcher m({"</end>"});
  std::vector<std::string> emitted;
  EXPECT_EQ(run(m, {"Hello <", "/e", "nd> world"}, &emitted), "Hello ");
  EXPECT_TRUE(m.stopped());
  EXPECT_EQ(emitted[0], "Hello ");  // "<" held back: it may start the stop string
  EXPECT_EQ(emitted[1], "");
  EXPECT_EQ(emitted[2], "");
}

TEST(StopMatcher, ReleasesHeldTextWhenItCannotMatch) {
  StopMatcher m({"STOP"});
  std::vector<std::string> emitted;
  EXPECT_EQ(run(m, {"a S", "T", "x and more"}, &emitted), "a STx and more");
  EXPECT_FALSE(m.stopped());
  EXPECT_EQ(emitted[0], "a ");
  EXPECT_EQ(emitted[1], "");
  EXPECT_EQ(emitted[2], "STx and more");
}

TEST(StopMatcher, EarliestOfSeveralStopsWins) {
  StopMatcher m({"world", "lo w"});
  EXPECT_EQ(run(m, {"hello world"}), "hel");
  StopMatcher held({"\n\n"});
  EXPECT_EQ(run(held, {"line\n", "\nnext"}), "line");
}

TEST(StopMatcher, FlushReturnsHeldPrefixAtTheEnd) {
  StopMatcher m({"###"});
  EXPECT_EQ(m.feed("done #"), "done ");
  EXPECT_EQ(m.flush(), "#");
}

TEST(StopMatcher, NoStopsPassesThroughAndEmptyStopsAreIgnored) {
  StopMatcher m({"", ""});
  EXPECT_EQ(m.feed("abc"), "abc");
  EXPECT_EQ(m.flush(), "");
}

TEST(StopMatcher, NeverSplitsUtf8) {
  StopMatcher m({"\xC3\xA9X"});  // "éX"
  const std::string out = m.feed("caf\xC3\xA9");
  EXPECT_EQ(out, "caf");  // "é" is held whole as a possible start of the stop string
  EXPECT_EQ(m.feed("!"), "\xC3\xA9!");
}

}  // namespace
}  // namespace parley
