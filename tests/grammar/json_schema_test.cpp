// JSON Schema -> grammar, keyword by keyword: what is accepted and refused, strict-mode errors
// naming the keyword and its place, and the limits.
#include "grammar/json_schema.h"

#include <gtest/gtest.h>

#include "grammar_test_util.h"

namespace parley {
namespace {

using testing::compile_or_die;
using testing::matches;

JsonSchemaOptions compact() {
  JsonSchemaOptions o;
  o.whitespace = JsonWhitespace::kCompact;
  return o;
}

std::shared_ptr<const CompiledGrammar> schema(std::string_view text, JsonSchemaOptions o = compact()) {
  auto g = json_schema_grammar(text, o);
  CHECK(g.ok(), "{}", g.status().to_string());
  return compile_or_die(*g);
}

Status schema_error(std::string_view text, bool strict = true) {
  JsonSchemaOptions o = compact();
  o.strict = strict;
  auto g = json_schema_grammar(text, o);
  return g.ok() ? ok_status() : g.status();
}

TEST(JsonSchema, ScalarTypes) {
  const auto c = schema(R"({"type":["string","boolean","null"]})");
  for (const char* ok : {R"("hi")", R"("")", "true", "false", "null", R"("a\"b\\c\u00e9\n")", R"("é€😀")"}) {
    EXPECT_TRUE(matches(c, ok)) << ok;
  }
  for (const char* bad : {"1", R"("a)", "\"a\nb\"", R"("\x")", R"("\ud800")", "nul"})
    EXPECT_FALSE(matches(c, bad)) << bad;
}

TEST(JsonSchema, Numbers) {
  const auto num = schema(R"({"type":"number"})");
  for (const char* ok : {"0", "-0", "12.5", "-3e10", "1E+2", "0.001"}) EXPECT_TRUE(matches(num, ok)) << ok;
  for (const char* bad : {"01", "1.", ".5", "+1", "1e", "--1", "12345678901234567890"})
    EXPECT_FALSE(matches(num, bad)) << bad;
  const auto integer = schema(R"({"type":"integer"})");
  EXPECT_TRUE(matches(integer, "-42"));
  EXPECT_FALSE(matches(integer, "4.0"));
}

TEST(JsonSchema, IntegerRangesAreExact) {
  const auto c = schema(R"({"type":"integer","minimum":-15,"maximum":237})");
  for (int v = -40; v <= 300; ++v) EXPECT_EQ(matches(c, std::to_string(v)), v >= -15 && v <= 237) << v;
  const auto excl = schema(R"({"type":"integer","exclusiveMinimum":9,"exclusiveMaximum":1000})");
  for (int v = 0; v <= 1100; v += 1) EXPECT_EQ(matches(excl, std::to_string(v)), v > 9 && v < 1000) << v;
  const auto open = schema(R"({"type":"integer","minimum":95})");
  EXPECT_FALSE(matches(open, "94"));
  EXPECT_TRUE(matches(open, "95"));
  EXPECT_TRUE(matches(open, "100"));
  EXPECT_TRUE(matches(open, "9223372036854775807"));
  EXPECT_FALSE(matches(open, "-100"));
  const auto frac = schema(R"({"type":"integer","minimum":1.5,"maximum":3.5})");
  EXPECT_FALSE(matches(frac, "1"));
  EXPECT_TRUE(matches(frac, "2"));
  EXPECT_TRUE(matches(frac, "3"));
  EXPECT_FALSE(matches(frac, "4"));
  EXPECT_EQ(schema_error(R"({"type":"integer","minimum":5,"maximum":4})").code(), ErrorCode::kInvalidArgument);
}

TEST(JsonSchema, NumberBoundsNeverLetAnInvalidValueThrough) {
  const auto c = schema(R"({"type":"number","minimum":-2,"exclusiveMaximum":3})");
  for (const char* ok : {"-2", "-2.0", "-1.999", "0", "2.99", "-0.5"}) EXPECT_TRUE(matches(c, ok)) << ok;
  for (const char* bad : {"-2.01", "3", "3.0", "3.5", "-3", "1e2"}) EXPECT_FALSE(matches(c, bad)) << bad;
  const auto pos = schema(R"({"type":"number","exclusiveMinimum":0})");
  for (const char* ok : {"0.5", "1", "0.001"}) EXPECT_TRUE(matches(pos, ok)) << ok;
  for (const char* bad : {"0", "0.0", "-1", "-0.5"}) EXPECT_FALSE(matches(pos, bad)) << bad;
  const auto draft4 = schema(R"({"type":"number","minimum":1,"exclusiveMinimum":true})");
  EXPECT_FALSE(matches(draft4, "1"));
  EXPECT_TRUE(matches(draft4, "1.5"));
}

TEST(JsonSchema, StringLengthsCountCharactersAndEscapes) {
  const auto c = schema(R"({"type":"string","minLength":2,"maxLength":3})");
  for (const char* ok : {R"("ab")", R"("abc")", R"("éü")", R"("\n\"")", R"("a\u0041b")"})
    EXPECT_TRUE(matches(c, ok)) << ok;
  for (const char* bad : {R"("a")", R"("abcd")", R"("éüxy")"}) EXPECT_FALSE(matches(c, bad)) << bad;
}

// Under a maximum, no character beyond the Basic Multilingual Plane: an emoji is one code point
// (JSON Schema) but two UTF-16 units (zod's .max(), String.length), and "a😀b" with maxLength 3
// would pass one validator and fail the other. A minimum alone keeps them.
TEST(JsonSchema, BoundedStringsLeaveOutAstralCharactersSoEveryValidatorAgrees) {
  const auto bounded = schema(R"({"type":"string","maxLength":4})");
  EXPECT_TRUE(matches(bounded, R"("aé€b")"));
  EXPECT_FALSE(matches(bounded, R"("a😀b")"));
  const auto min_only = schema(R"({"type":"string","minLength":1})");
  EXPECT_TRUE(matches(min_only, R"("a😀b")"));
  EXPECT_TRUE(matches(schema(R"({"type":"string"})"), R"("😀")"));
}

TEST(JsonSchema, PatternsAndFormats) {
  const auto c = schema(R"({"type":"string","pattern":"^[A-Z]{2}-\\d{3}$"})");
  EXPECT_TRUE(matches(c, R"("AB-123")"));
  EXPECT_FALSE(matches(c, R"("AB-12")"));
  const auto date = schema(R"({"type":"string","format":"date"})");
  for (const char* ok : {R"("2024-02-29")", R"("2023-12-31")", R"("0001-01-01")", R"("2000-02-29")"}) {
    EXPECT_TRUE(matches(date, ok)) << ok;
  }
  for (const char* bad :
       {R"("2023-02-29")", R"("1900-02-29")", R"("2023-04-31")", R"("2023-13-01")", R"("0000-01-01")"}) {
    EXPECT_FALSE(matches(date, bad)) << bad;
  }
  const auto dt = schema(R"({"type":"string","format":"date-time"})");
  EXPECT_TRUE(matches(dt, R"("2024-05-01T23:59:59.123Z")"));
  EXPECT_TRUE(matches(dt, R"("2024-05-01T00:00:00+05:30")"));
  EXPECT_FALSE(matches(dt, R"("2024-05-01T24:00:00Z")"));
  const auto uuid = schema(R"({"format":"uuid"})");
  EXPECT_TRUE(matches(uuid, R"("123e4567-e89b-12d3-a456-426614174000")"));
  EXPECT_FALSE(matches(uuid, R"("123e4567e89b12d3a456426614174000")"));
  const auto email = schema(R"({"type":"string","format":"email"})");
  EXPECT_TRUE(matches(email, R"("first.last+tag@example.co.uk")"));
  EXPECT_FALSE(matches(email, R"("no-at-sign.example.com")"));
  const auto time = schema(R"({"type":"string","format":"time"})");
  EXPECT_TRUE(matches(time, R"("08:30:00Z")"));
  const auto ip = schema(R"({"type":"string","format":"ipv4"})");
  EXPECT_TRUE(matches(ip, R"("192.168.0.255")"));
  EXPECT_FALSE(matches(ip, R"("192.168.0.256")"));
  EXPECT_FALSE(matches(ip, R"("01.1.1.1")"));
}

TEST(JsonSchema, ObjectsKeepSchemaOrderAndRequiredProperties) {
  const auto c =
      schema(R"({"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"},"c":{"type":"boolean"}},
                           "required":["b"]})");
  for (const char* ok :
       {R"({"b":"x"})", R"({"a":1,"b":"x"})", R"({"a":1,"b":"x","c":true})", R"({"b":"","c":false})"}) {
    EXPECT_TRUE(matches(c, ok)) << ok;
  }
  for (const char* bad : {"{}", R"({"a":1})", R"({"b":"x","a":1})", R"({"b":"x","d":1})", R"({"b":"x",})"}) {
    EXPECT_FALSE(matches(c, bad)) << bad;
  }
}

TEST(JsonSchema, AdditionalProperties) {
  const auto open =
      schema(R"({"type":"object","properties":{"id":{"type":"integer"}},"additionalProperties":{"type":"string"}})");
  EXPECT_TRUE(matches(open, R"({"id":1,"x":"y","zz":""})"));
  EXPECT_TRUE(matches(open, R"({"x":"y"})"));
  EXPECT_FALSE(matches(open, R"({"id":1,"x":2})"));
  EXPECT_FALSE(matches(open, R"({"id":1,"id":"dup"})"));  // extra names differ from declared ones
  EXPECT_TRUE(matches(open, R"({"id":1,"idx":"ok","i":"ok"})"));
  const auto any = schema(R"({"type":"object"})");
  EXPECT_TRUE(matches(any, R"({"k":[1,{"n":null}],"s":"t"})"));
  EXPECT_TRUE(matches(any, "{}"));
  const auto closed = schema(R"({"type":"object","properties":{"a":{"const":1}}})");
  EXPECT_FALSE(matches(closed, R"({"a":1,"b":2})"));
}

TEST(JsonSchema, Arrays) {
  const auto c = schema(R"({"type":"array","items":{"type":"integer"},"minItems":1,"maxItems":3})");
  for (const char* ok : {"[1]", "[1,2,3]"}) EXPECT_TRUE(matches(c, ok)) << ok;
  for (const char* bad : {"[]", "[1,2,3,4]", "[1,]", R"(["a"])"}) EXPECT_FALSE(matches(c, bad)) << bad;
  const auto tuple = schema(R"({"type":"array","prefixItems":[{"type":"string"},{"type":"integer"}],"items":false})");
  for (const char* ok : {"[]", R"(["a"])", R"(["a",1])"}) EXPECT_TRUE(matches(tuple, ok)) << ok;
  for (const char* bad : {"[1]", R"(["a",1,2])"}) EXPECT_FALSE(matches(tuple, bad)) << bad;
  const auto draft7 =
      schema(R"({"type":"array","items":[{"const":"x"}],"additionalItems":{"type":"boolean"},"minItems":2})");
  EXPECT_TRUE(matches(draft7, R"(["x",true,false])"));
  EXPECT_FALSE(matches(draft7, R"(["x"])"));
}

TEST(JsonSchema, EnumConstAnyOfAllOf) {
  const auto e = schema(R"({"enum":["red",2,null,{"k":[1.5]}],"type":["string","object","null"]})");
  for (const char* ok : {R"("red")", "null", R"({"k":[1.5]})"}) EXPECT_TRUE(matches(e, ok)) << ok;
  EXPECT_FALSE(matches(e, "2"));  // filtered by type
  const auto any = schema(R"({"anyOf":[{"type":"integer"},{"type":"string","maxLength":1}]})");
  EXPECT_TRUE(matches(any, "5"));
  EXPECT_TRUE(matches(any, R"("x")"));
  EXPECT_FALSE(matches(any, R"("xy")"));
  const auto all = schema(R"({"allOf":[{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]},
                                       {"properties":{"b":{"type":"string"}},"required":["b"]}]})");
  EXPECT_TRUE(matches(all, R"({"a":1,"b":"x"})"));
  EXPECT_FALSE(matches(all, R"({"a":1})"));
  // additionalProperties in allOf keeps its meaning: it sees only its own schema's properties.
  const auto closed = schema(R"({"allOf":[{"properties":{"a":{"type":"integer"}},"additionalProperties":false},
                                          {"properties":{"a":{"minimum":5},"b":{"type":"string"}}}]})");
  EXPECT_TRUE(matches(closed, R"({"a":5})"));
  EXPECT_FALSE(matches(closed, R"({"a":4})"));
  EXPECT_FALSE(matches(closed, R"({"a":5,"b":"x"})"));
  EXPECT_NE(schema_error(R"({"type":"object","additionalProperties":false,
                             "allOf":[{"properties":{"id":{"type":"integer"}},"required":["id"]}]})")
                .message()
                .find("'id'"),
            std::string_view::npos);
  // anyOf beside other keywords: each branch is merged with them.
  const auto merged = schema(R"({"type":"object","properties":{"kind":{"type":"string"}},"required":["kind"],
                                 "anyOf":[{"properties":{"n":{"type":"integer"}},"required":["n"]},
                                          {"properties":{"s":{"type":"string"}},"required":["s"]}]})");
  EXPECT_TRUE(matches(merged, R"({"kind":"a","n":1})"));
  EXPECT_TRUE(matches(merged, R"({"kind":"a","s":"t"})"));
  EXPECT_FALSE(matches(merged, R"({"kind":"a"})"));
}

TEST(JsonSchema, RefsAndRecursion) {
  const auto c = schema(R"({"$ref":"#/$defs/node","$defs":{"node":{"type":"object","properties":{
      "v":{"type":"integer"},"kids":{"type":"array","items":{"$ref":"#/$defs/node"}}},"required":["v"]}}})");
  EXPECT_TRUE(matches(c, R"({"v":1,"kids":[{"v":2},{"v":3,"kids":[{"v":4,"kids":[]}]}]})"));
  EXPECT_FALSE(matches(c, R"({"v":1,"kids":[{"kids":[]}]})"));
  const auto defs = schema(R"({"type":"object","properties":{"p":{"$ref":"#/definitions/pos%20int"}},"required":["p"],
                               "definitions":{"pos int":{"type":"integer","minimum":1}}})");
  EXPECT_TRUE(matches(defs, R"({"p":7})"));
  EXPECT_FALSE(matches(defs, R"({"p":0})"));
  const auto root = schema(R"({"type":"array","items":{"anyOf":[{"type":"null"},{"$ref":"#"}]}})");
  EXPECT_TRUE(matches(root, "[null,[[],[null]]]"));
}

TEST(JsonSchema, FlexibleWhitespaceIsBounded) {
  JsonSchemaOptions o;
  o.max_indent = 4;
  const auto c = schema(R"({"type":"object","properties":{"a":{"type":"array","items":{"type":"integer"}}}})", o);
  EXPECT_TRUE(matches(c, "{\n  \"a\": [\n    1, 2\n  ]\n}"));
  EXPECT_TRUE(matches(c, "{ \"a\": [1,2] }"));
  EXPECT_FALSE(matches(c, "{\n      \"a\": []}"));  // indent beyond 4
  EXPECT_FALSE(matches(c, "{  \"a\": []}"));        // two spaces without a newline
  EXPECT_FALSE(matches(c, "{\"a\" : []}"));         // none before ':'
  EXPECT_FALSE(matches(c, "{\"a\": []} "));         // nothing after the value
}

TEST(JsonSchema, StrictModeNamesTheUnsupportedKeywordAndWhere) {
  const Status s = schema_error(R"({"type":"object","properties":{"age":{"type":"integer","multipleOf":5}}})");
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(s.message().find("'multipleOf'"), std::string_view::npos) << s.message();
  EXPECT_EQ(s.detail("param"), "/properties/age/multipleOf");
  for (const char* kw : {"not", "if", "patternProperties", "propertyNames", "minProperties", "uniqueItems", "contains",
                         "dependentRequired", "unevaluatedProperties"}) {
    const std::string text = fmt::format(R"({{"type":"object","{}":{{}}}})", kw);
    const Status e = schema_error(text);
    EXPECT_NE(e.message().find(std::string("'") + kw + "'"), std::string_view::npos) << kw << ": " << e.message();
    EXPECT_TRUE(schema_error(text, /*strict=*/false).ok()) << kw;  // ignored without strict
  }
  EXPECT_NE(schema_error(R"({"type":"string","format":"hostname"})").message().find("unsupported format"),
            std::string_view::npos);
  EXPECT_TRUE(schema_error(R"({"type":"string","format":"hostname"})", false).ok());
  EXPECT_TRUE(schema_error(R"({"type":"integer","multipleOf":1})").ok());
  EXPECT_TRUE(schema_error(R"({"title":"t","description":"d","default":1,"examples":[1],"type":"integer"})").ok());
}

TEST(JsonSchema, BadSchemasAreClearErrors) {
  EXPECT_NE(schema_error("{not json").message().find("not valid JSON"), std::string_view::npos);
  EXPECT_NE(schema_error(R"({"type":"banana"})").message().find("unknown type"), std::string_view::npos);
  EXPECT_NE(schema_error(R"({"$ref":"#/$defs/missing"})").message().find("does not resolve"), std::string_view::npos);
  EXPECT_NE(schema_error(R"({"$ref":"http://example.com/s.json"})").message().find("within the schema"),
            std::string_view::npos);
  EXPECT_NE(schema_error("false").message().find("matches nothing"), std::string_view::npos);
  EXPECT_NE(
      schema_error(R"({"type":"object","properties":{"a":false},"required":["a"]})").message().find("matches nothing"),
      std::string_view::npos);
  EXPECT_EQ(schema_error(R"({"enum":[]})").code(), ErrorCode::kInvalidArgument);
}

TEST(JsonSchema, LimitsBoundUntrustedSchemas) {
  std::string deep = R"({"type":"integer"})";
  for (int i = 0; i < 100; ++i) deep = R"({"type":"array","items":)" + deep + "}";
  const Status d = schema_error(deep);
  EXPECT_EQ(d.code(), ErrorCode::kInvalidArgument);
  GrammarLimits limits;
  limits.max_source_bytes = 100;
  EXPECT_NE(json_schema_grammar(std::string(200, ' ') + "{}", {}, limits).status().message().find("larger than"),
            std::string_view::npos);
  // A chain of definitions that doubles at every step: refused for its size, never a crash.
  std::string defs = R"({"$defs":{"d0":{"type":"integer"})";
  for (int i = 1; i < 12; ++i) {
    defs +=
        fmt::format(R"(,"d{}":{{"type":"array","prefixItems":[{{"$ref":"#/$defs/d{}"}},{{"$ref":"#/$defs/d{}"}}]}})", i,
                    i - 1, i - 1);
  }
  defs += R"(},"$ref":"#/$defs/d11"})";
  // Definitions are rules, shared: 2^11 integers, compiled at the size of the text.
  auto g = json_schema_grammar(defs);
  ASSERT_TRUE(g.ok()) << g.status().to_string();
  const auto shared = compile_grammar(*g, testing::grammar_vocab("llama-spm"));
  EXPECT_TRUE(shared.ok()) << shared.status().to_string();
  // Inline repetition that multiplies is refused for its size.
  auto big = json_schema_grammar(R"({"type":"array","maxItems":3000,"items":{"type":"array","maxItems":3000,
                                     "items":{"type":"integer","minimum":0,"maximum":99}}})");
  ASSERT_TRUE(big.ok());
  const auto compiled = compile_grammar(*big, testing::grammar_vocab("llama-spm"));
  ASSERT_FALSE(compiled.ok());
  EXPECT_NE(compiled.status().message().find("too large"), std::string_view::npos) << compiled.status().message();
  EXPECT_EQ(schema_error(R"({"type":"string","maxLength":100000})").code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace parley
