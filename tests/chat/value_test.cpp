// The value model (Python semantics), Python string helpers, and JSON in and out.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "chat/json.h"
#include "chat/py_string.h"
#include "chat/value.h"

namespace parley::chat {
namespace {

Value json(std::string_view text) {
  auto v = value_from_json(text);
  CHECK(v.ok(), "{}", v.status().to_string());
  return *v;
}

TEST(ChatValue, PythonEqualityAndOrder) {
  EXPECT_TRUE(equals(Value(1), Value(1.0)));
  EXPECT_TRUE(equals(Value(true), Value(1)));
  EXPECT_FALSE(equals(Value("1"), Value(1)));
  EXPECT_FALSE(equals(Value::list({Value(1)}), Value::tuple({Value(1)})));
  EXPECT_TRUE(equals(json(R"({"a": 1, "b": [2]})"), json(R"({"b": [2.0], "a": true})")));
  EXPECT_TRUE(equals(Value(), Value()));
  EXPECT_FALSE(equals(Value(), Value::none()));
  EXPECT_TRUE(equals(Value(std::int64_t{9007199254740993}), Value(std::int64_t{9007199254740993})));
  EXPECT_FALSE(equals(Value(std::int64_t{9007199254740993}), Value(9007199254740992.0)));
  bool ok = true;
  EXPECT_LT(compare(Value("a"), Value("b"), &ok), 0);
  EXPECT_LT(compare(Value("z"), Value("\xC3\xA9"), &ok), 0);  // by code point
  EXPECT_GT(compare(json("[1, 3]"), json("[1, 2, 9]"), &ok), 0);
  compare(Value(1), Value("a"), &ok);
  EXPECT_FALSE(ok);
}

TEST(ChatValue, TruthinessAndTypeNames) {
  EXPECT_FALSE(Value().truthy());
  EXPECT_FALSE(Value::none().truthy());
  EXPECT_FALSE(Value("").truthy());
  EXPECT_FALSE(Value::list({}).truthy());
  EXPECT_TRUE(Value::iterator({}).truthy());  // a generator is always true
  EXPECT_TRUE(Value(std::nan("")).truthy());
  EXPECT_EQ(Value::markup("x").type_name(), "Markup");
  EXPECT_EQ(Value::tuple({}).type_name(), "tuple");
  EXPECT_EQ(Value::none().type_name(), "NoneType");
}

TEST(ChatValue, StrAndRepr) {
  EXPECT_EQ(to_str(json(R"([1, 2.5, "it's", "q\"", null, true, {"k": "v\n"}])")),
            R"([1, 2.5, "it's", 'q"', None, True, {'k': 'v\n'}])");
  EXPECT_EQ(repr(Value("a'b\"c\\")), R"('a\'b"c\\')");
  EXPECT_EQ(repr(Value("\x01\t\xC2\xA0\xE6\x97\xA5")), "'\\x01\\t\\xa0\xE6\x97\xA5'");
  EXPECT_EQ(repr(Value::markup("<b>")), "Markup('<b>')");
  EXPECT_EQ(repr(Value::tuple({Value(1)})), "(1,)");
  EXPECT_EQ(to_str(Value()), "");
  EXPECT_EQ(repr(Value()), "Undefined");
}

TEST(ChatValue, FloatReprMatchesPython) {
  const std::pair<double, const char*> cases[] = {
      {0.1, "0.1"},          {1e16, "1e+16"},       {1e15, "1000000000000000.0"},
      {1e-5, "1e-05"},       {0.0001, "0.0001"},    {123456789.125, "123456789.125"},
      {-0.0, "-0.0"},        {3.0, "3.0"},          {1.5e300, "1.5e+300"},
      {2.5e-320, "2.5e-320"}, {1.0 / 3, "0.3333333333333333"},
      {std::numeric_limits<double>::infinity(), "inf"}, {std::nan(""), "nan"},
  };
  for (const auto& [d, want] : cases) EXPECT_EQ(py::float_repr(d), want) << d;
}

TEST(ChatValue, DictKeepsInsertionOrderAndPythonKeys) {
  Dict d;
  d.set(Value("b"), Value(1));
  d.set(Value("a"), Value(2));
  d.set(Value("b"), Value(3));  // replaced in place
  d.set(Value(1), Value("int"));
  d.set(Value(1.0), Value("float"));  // same key as 1
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(to_str(Value::dict(d)), "{'b': 3, 'a': 2, 1: 'float'}");
  EXPECT_EQ(d.find(Value(true))->str(), "float");
  EXPECT_EQ(d.find("a")->as_int(), 2);
  EXPECT_EQ(d.find("zz"), nullptr);
}

TEST(ChatPyString, SplitStripAndCase) {
  using V = std::vector<std::string>;
  EXPECT_EQ(py::split("  a  b ", std::nullopt, -1), (V{"a", "b"}));
  EXPECT_EQ(py::split("  a b c  ", std::nullopt, 1), (V{"a", "b c  "}));
  EXPECT_EQ(py::rsplit("  a b c  ", std::nullopt, 1), (V{"  a b", "c"}));
  EXPECT_EQ(py::split("a,,b", std::string(","), -1), (V{"a", "", "b"}));
  EXPECT_EQ(py::rsplit("a,b,c", std::string(","), 1), (V{"a,b", "c"}));
  EXPECT_EQ(py::splitlines("a\r\nb\rc\n", false), (V{"a", "b", "c"}));
  EXPECT_EQ(py::strip("\xE3\x80\x80 x \t", std::nullopt, true, true), "x");  // U+3000 is whitespace
  EXPECT_EQ(py::title("hello wORLD 1st they're"), "Hello World 1St They'Re");
  EXPECT_EQ(py::jinja_title("hello wORLD-x (y)"), "Hello World-X (Y)");
  EXPECT_EQ(py::capitalize("hELLO"), "Hello");
  EXPECT_EQ(py::upper("stra\xC3\x9F" "e \xC3\xA9"), "STRASSE \xC3\x89");
  EXPECT_EQ(py::lower("\xD0\x9F\xD0\xA0\xCE\xA3"), "\xD0\xBF\xD1\x80\xCF\x83");  // ПРΣ -> прσ
  EXPECT_EQ(py::replace("abc", "", "-", -1), "-a-b-c-");
  EXPECT_EQ(py::find("h\xC3\xA9llo", "l", std::nullopt, std::nullopt, false), 2);
}

TEST(ChatPyString, SliceBounds) {
  const auto indexes = [](std::int64_t n, std::optional<std::int64_t> a, std::optional<std::int64_t> b,
                          std::optional<std::int64_t> c) {
    const py::SliceBounds s = py::slice_bounds(n, a, b, c);
    std::vector<std::int64_t> out;
    for (std::int64_t i = 0, j = s.start; i < s.count; ++i, j += s.step) out.push_back(j);
    return out;
  };
  using V = std::vector<std::int64_t>;
  EXPECT_EQ(indexes(5, std::nullopt, std::nullopt, -1), (V{4, 3, 2, 1, 0}));
  EXPECT_EQ(indexes(5, 1, -1, std::nullopt), (V{1, 2, 3}));
  EXPECT_EQ(indexes(5, -100, 100, 2), (V{0, 2, 4}));
  EXPECT_EQ(indexes(5, 10, 2, -2), (V{4}));
  EXPECT_EQ(indexes(5, 3, 3, std::nullopt), (V{}));
}

TEST(ChatJson, ParsesLikePythonJsonLoads) {
  const Value v = json(R"( {"s": "a\u00e9\ud83d\ude00\n\/", "i": -12, "f": 1.5e2, "big": 123456789012345678901,
                            "t": true, "n": null, "l": [], "o": {}, "nan": NaN, "inf": -Infinity} )");
  const Dict& d = v.dict();
  EXPECT_EQ(d.find("s")->str(), "a\xC3\xA9\xF0\x9F\x98\x80\n/");
  EXPECT_TRUE(d.find("i")->is_int());
  EXPECT_TRUE(d.find("f")->is_float());
  EXPECT_TRUE(d.find("big")->is_float());  // beyond int64 (Python would keep an exact int)
  EXPECT_TRUE(std::isnan(d.find("nan")->as_float()));
  EXPECT_EQ(d.find("inf")->as_float(), -std::numeric_limits<double>::infinity());
  // A repeated key keeps its first position and takes the last value.
  EXPECT_EQ(to_str(json(R"({"a": 1, "b": 2, "a": 3})")), "{'a': 3, 'b': 2}");
  EXPECT_EQ(json(R"("\ud800x")").str(), "\xEF\xBF\xBDx");  // lone surrogate
}

TEST(ChatJson, RejectsBadInputWithOffsets) {
  const auto err = [](std::string_view s) { return value_from_json(s).status().to_string(); };
  EXPECT_EQ(err("[1, 2"), "invalid_argument: JSON: unterminated array at byte 5");
  EXPECT_EQ(err("{\"a\" 1}"), "invalid_argument: JSON: expected ':' at byte 5");
  EXPECT_EQ(err("[01]"), "invalid_argument: JSON: expected ',' or ']' at byte 2");
  EXPECT_EQ(err("\"a\x01\""), "invalid_argument: JSON: control character in a string at byte 2");
  EXPECT_EQ(err("\"\xC3\x28\""), "invalid_argument: JSON: invalid UTF-8 in a string at byte 1");
  EXPECT_EQ(err("[1] x"), "invalid_argument: JSON: unexpected data after the JSON value at byte 4");
  EXPECT_EQ(err("\"\\q\""), "invalid_argument: JSON: invalid escape at byte 2");
  EXPECT_FALSE(value_from_json("").ok());
  EXPECT_FALSE(value_from_json("[1,]").ok());
  EXPECT_FALSE(value_from_json("tru").ok());
}

TEST(ChatJson, DumpsLikePythonJsonDumps) {
  const Value v = json(R"({"b": [1, 2.0, "x\u0001\u00e9"], "a": {}, "c": [], "d": null})");
  EXPECT_EQ(*to_json(v), R"({"b": [1, 2.0, "x\u0001é"], "a": {}, "c": [], "d": null})");
  JsonFormat f;
  f.indent = "  ";
  EXPECT_EQ(*to_json(v, f), "{\n  \"b\": [\n    1,\n    2.0,\n    \"x\\u0001é\"\n  ],\n  \"a\": {},\n  \"c\": [],\n  \"d\": null\n}");
  f = JsonFormat{};
  f.sort_keys = true;
  f.ensure_ascii = true;
  EXPECT_EQ(*to_json(v, f), R"({"a": {}, "b": [1, 2.0, "x\u0001\u00e9"], "c": [], "d": null})");
  EXPECT_EQ(*to_json(Value("\xF0\x9F\x98\x80"), f), R"("\ud83d\ude00")");
  EXPECT_EQ(*to_json(Value(std::numeric_limits<double>::infinity())), "Infinity");
  EXPECT_FALSE(to_json(Value()).ok());
  EXPECT_FALSE(to_json(Value::iterator({})).ok());
  EXPECT_EQ(*to_json(Value::tuple({Value(1), Value::markup("<")})), R"([1, "<"])");
}

}  // namespace
}  // namespace parley::chat
