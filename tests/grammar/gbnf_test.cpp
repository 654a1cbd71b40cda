// The GBNF front end: syntax, escapes, classes, comments, multi-line rules, errors.
#include "grammar/gbnf.h"

#include <gtest/gtest.h>

#include "grammar_test_util.h"

namespace parley {
namespace {

using testing::compile_or_die;
using testing::matches;

std::shared_ptr<const CompiledGrammar> gbnf(std::string_view text) {
  auto g = gbnf_grammar(text);
  CHECK(g.ok(), "{}", g.status().to_string());
  return compile_or_die(*g);
}

TEST(Gbnf, LlamaCppStyleJsonSubset) {
  const auto c = gbnf(R"(
# a small JSON-like grammar
root   ::= object
object ::=
  "{" ws (
    string ":" ws value
    ("," ws string ":" ws value)*
  )? "}"
value  ::= object | string | number | ("true" | "false" | "null")
string ::= "\"" ( [^"\\\x00-\x1F] | "\\" ["\\/bfnrt] )* "\""
number ::= "-"? [0-9]+ ("." [0-9]+)?
ws     ::= [ \t\n]{0,4}
)");
  EXPECT_TRUE(matches(c, R"({"a": 1,"b":{"c": "d\n"},"e":true})"));
  EXPECT_TRUE(matches(c, "{}"));
  EXPECT_FALSE(matches(c, R"({"a" 1})"));
  EXPECT_FALSE(matches(c, R"({"a":1,})"));
}

TEST(Gbnf, EscapesClassesAndRepeats) {
  const auto c = gbnf(R"(root ::= "\x41\u00e9\n" [^a-z]{2,3} . "\"")");
  EXPECT_TRUE(matches(c, "Aé\nXY😀\""));
  EXPECT_TRUE(matches(c, "Aé\n123z\""));
  EXPECT_FALSE(matches(c, "Aé\nabz\""));
}

TEST(Gbnf, SpecialTokensById) {
  auto g = gbnf_grammar(R"(root ::= "call:" <[151644]>)");
  ASSERT_TRUE(g.ok()) << g.status().to_string();
  const auto c = compile_or_die(*g, "qwen2");
  GrammarMatcher m(c, false);
  ASSERT_TRUE(m.accept_bytes("call:"));
  EXPECT_TRUE(m.accept(151644));
  EXPECT_TRUE(m.is_complete());
}

TEST(Gbnf, Errors) {
  for (const char* bad :
       {"", "x ::= \"a\"", "root ::= \"a", "root ::= [a-", "root ::= (\"a\"", "root ::= a",
        "root ::= \"a\"\nroot ::= \"b\"", "root ::= root \"a\"", "root ::= \"a\"{3,1}", "root := \"a\""}) {
    auto g = gbnf_grammar(bad);
    const Status s = g.ok() ? Pda::build(*g, {}).status() : g.status();
    EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument) << bad;
  }
  EXPECT_NE(gbnf_grammar("root ::= \"a\"\n\nfoo ::= [b-").status().message().find("line 3"), std::string_view::npos);
}

}  // namespace
}  // namespace parley
