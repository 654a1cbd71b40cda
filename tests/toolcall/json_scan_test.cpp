#include "toolcall/json_scan.h"

#include <gtest/gtest.h>

namespace parley {
namespace {

TEST(JsonScan, WholeValues) {
  for (const char* ok : {"{}", "[]", "{\"a\": 1}", " [1, 2.5, -3e+2, true, false, null, \"x\"] ", "\"\\u00e9\\n\"", "0",
                         "-0.5E-3", "{\"a\": {\"b\": [{}]}}", "[[], {}]", "\"\"", "123 "}) {
    EXPECT_TRUE(is_json_value(ok)) << ok;
  }
  for (const char* bad : {"", "{", "{\"a\"}", "{\"a\": }", "[1,]", "{,}", "01", "1.", "-", "tru", "\"a\nb\"", "\"\\x\"",
                          "{} {}", "{\"a\": 1,}", "[1 2]", "{'a': 1}", "\"\\u12\"", "nul", "1e"}) {
    EXPECT_FALSE(is_json_value(bad)) << bad;
  }
}

TEST(JsonScan, TellsWhereAValueEnds) {
  JsonScanner s;
  const std::string text = R"({"a": [1, "}"]}</tool_call>)";
  std::size_t i = 0;
  JsonScanner::Step st = JsonScanner::Step::kMore;
  while (i < text.size() && (st = s.feed(text[i])) == JsonScanner::Step::kMore) ++i;
  EXPECT_EQ(st, JsonScanner::Step::kDone);
  EXPECT_EQ(text.substr(0, i + 1), R"({"a": [1, "}"]})");

  JsonScanner n;  // a number ends before the character after it, which is not consumed
  EXPECT_EQ(n.feed('4'), JsonScanner::Step::kMore);
  EXPECT_EQ(n.feed('2'), JsonScanner::Step::kMore);
  EXPECT_TRUE(n.complete_at_end());
  EXPECT_EQ(n.feed('}'), JsonScanner::Step::kEnded);
}

TEST(JsonScan, DepthIsBounded) {
  JsonScanner s;
  JsonScanner::Step st = JsonScanner::Step::kMore;
  for (std::size_t i = 0; i <= JsonScanner::kMaxDepth && st == JsonScanner::Step::kMore; ++i) st = s.feed('[');
  EXPECT_EQ(st, JsonScanner::Step::kError);
}

TEST(JsonScan, DecodesAndQuotesStrings) {
  std::string out;
  ASSERT_TRUE(decode_json_string(R"("a\"b\\c\/\n\u00e9\ud83d\ude00")", &out));
  EXPECT_EQ(out, "a\"b\\c/\n\xC3\xA9\xF0\x9F\x98\x80");
  ASSERT_TRUE(decode_json_string(R"("\ud800")", &out));
  EXPECT_EQ(out, "\xEF\xBF\xBD");  // a lone surrogate
  EXPECT_FALSE(decode_json_string(R"("abc\")", &out));
  EXPECT_FALSE(decode_json_string("abc", &out));
  EXPECT_FALSE(decode_json_string(R"("\q")", &out));
  EXPECT_EQ(json_quote("a\"b\\\n\x01"), R"("a\"b\\\n\u0001")");
  ASSERT_TRUE(decode_json_string(json_quote("x\ty\"z"), &out));
  EXPECT_EQ(out, "x\ty\"z");
}

}  // namespace
}  // namespace parley
