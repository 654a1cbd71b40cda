// Hostile templates: every one must fail with a clear limit error, quickly and without
// unbounded memory, never crash or hang.
#include <gtest/gtest.h>

#include <chrono>

#include "chat/chat_template.h"
#include "chat/json.h"

namespace parley::chat {
namespace {

// (No timing assertions: the limits must stop a render, which the status shows; ctest's timeout
// catches a render that does not stop.)
struct Outcome {
  Status status;
};

Outcome run(std::string_view source, const RenderLimits& limits = {}, const ParseLimits& parse_limits = {}) {
  Outcome o;
  auto t = ChatTemplate::parse(source, parse_limits);
  if (!t.ok()) {
    o.status = t.status();
  } else {
    o.status = t->render(ChatInput{}, limits).status();
  }
  return o;
}

void expect_limit(const Outcome& o, std::string_view what) {
  EXPECT_FALSE(o.status.ok());
  EXPECT_NE(o.status.message().find(what), std::string_view::npos) << o.status.to_string();
}

std::string repeat(std::string_view s, std::size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (std::size_t i = 0; i < n; ++i) out += s;
  return out;
}

TEST(ChatTemplateLimits, TemplateSize) {
  const std::string huge(std::size_t{1} << 21, 'x');
  const Outcome o = run(huge);
  EXPECT_EQ(o.status.code(), ErrorCode::kResourceExhausted);
  // Just under the limit is fine.
  EXPECT_TRUE(run(std::string((std::size_t{1} << 20) - 16, 'x')).status.ok());
}

TEST(ChatTemplateLimits, DeepNesting) {
  expect_limit(run(repeat("{% if true %}", 5000) + "x" + repeat("{% endif %}", 5000)), "blocks nested deeper");
  expect_limit(run("{{ " + repeat("(", 100000) + "1" + repeat(")", 100000) + " }}"), "nested deeper");
  expect_limit(run("{{ " + repeat("[", 100000) + repeat("]", 100000) + " }}"), "nested deeper");
  expect_limit(run("{{ " + repeat("-", 100000) + "1 }}"), "nested deeper");
  expect_limit(run("{{ " + repeat("not ", 100000) + "1 }}"), "nested deeper");
  expect_limit(run("{{ 1" + repeat(" + 1", 100000) + " }}"), "chained operations");
  expect_limit(run("{{ 'x'" + repeat("|trim", 100000) + " }}"), "chained operations");
  expect_limit(run("{{ x" + repeat(".a", 100000) + " }}"), "chained operations");
  expect_limit(run("{{ 1 if x else " + repeat("2 if x else ", 50000) + "3 }}"), "nested deeper");
}

TEST(ChatTemplateLimits, ManyNodes) {
  ParseLimits small;
  small.nodes_max = 1000;
  expect_limit(run("{{ [" + repeat("1, ", 5000) + "1] }}", {}, small), "more than 1000 nodes");
}

TEST(ChatTemplateLimits, HugeLoopsFailFast) {
  expect_limit(run("{% for i in range(10**9) %}x{% endfor %}"), "MAX_RANGE");
  // 10^10 iterations: whichever of the step or allocation budgets runs out first stops it.
  for (const char* src : {"{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
                          "{% for i in range(100000) %}{% for j in range(100000) %}{{ j|string|length }}{% endfor %}{% endfor %}",
                          "{% for i in range(100000) %}{% for j in [1, 2, 3, 4, 5, 6, 7, 8] * 10000 %}{% endfor %}{% endfor %}"}) {
    const Outcome o = run(src);
    EXPECT_EQ(o.status.code(), ErrorCode::kResourceExhausted) << o.status.to_string();
  }
  RenderLimits fast;
  fast.time_max = std::chrono::milliseconds(50);
  fast.steps_max = UINT64_MAX;
  const Outcome o = run("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", fast);
  expect_limit(o, "longer than 50 ms");
}

TEST(ChatTemplateLimits, OutputAndStringSizes) {
  expect_limit(run("{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}"), "output larger than");
  expect_limit(run("{% set ns = namespace(s='xx') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}"),
               "over the limit");
  expect_limit(run("{% set ns = namespace(s='xx') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% endfor %}"),
               "exceed");
  expect_limit(run("{{ 'x' * 10**12 }}"), "exceed");
  expect_limit(run("{{ 'abc'|replace('', 'x' * 3000000) }}"), "over the limit");
  expect_limit(run("{{ 'a'|center(10**10) }}"), "over the limit");
  expect_limit(run("{{ ('a\\n' * 1000000)|indent(1000) }}"), "over the limit");
  expect_limit(run("{% set s = 'x' * 4000000 %}{{ [s, s, s]|join }}"), "over the limit");
}

TEST(ChatTemplateLimits, ContainerGrowth) {
  expect_limit(run("{% set ns = namespace(l=[1]) %}{% for i in range(64) %}{% set ns.l = ns.l + ns.l %}{% endfor %}"),
               "exceed");
  // Many lists, each within the size limit, run into the allocation budget.
  RenderLimits budget;
  budget.alloc_bytes_max = 1 << 20;
  expect_limit(run("{% for i in range(1000) %}{% set l = range(1000)|list %}{% endfor %}", budget), "allocated more than");
  expect_limit(run("{% set ns = namespace(l=[]) %}{% for i in range(1000) %}{% set ns.l = [ns.l] %}{% endfor %}{{ ns.l }}"),
               "nested deeper than 100");
  expect_limit(run("{{ [1] * 10**9 }}"), "exceed");
}

TEST(ChatTemplateLimits, Recursion) {
  expect_limit(run("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}"), "macro calls nested deeper than 64");
  expect_limit(run("{% macro f(n) %}{{ f(n) ~ f(n) }}{% endmacro %}{{ f(1) }}"), "macro calls nested deeper than 64");
}

TEST(ChatTemplateLimits, CyclicNamespacesAreHarmless) {
  // A namespace that contains itself prints with bounded depth and is freed after the render
  // (LeakSanitizer checks the latter in sanitizer builds).
  auto t = ChatTemplate::parse("{% set ns = namespace(a=1) %}{% set ns.me = ns %}{% set ns.l = [ns, ns] %}{{ ns }}");
  ASSERT_TRUE(t.ok());
  auto out = t->render(ChatInput{});
  ASSERT_TRUE(out.ok()) << out.status().to_string();
  EXPECT_EQ(*out, "<Namespace {'a': 1, 'me': <Namespace {...}>, 'l': [<Namespace {...}>, <Namespace {...}>]}>");
  // Sharing without cycles can still describe an exponentially large text: it is cut off and
  // refused by the string limit, not built.
  std::string src = "{% set n0 = namespace(x=1) %}";
  for (int i = 1; i <= 60; ++i) src += fmt::format("{{% set n{} = namespace(a=n{}, b=n{}) %}}", i, i - 1, i - 1);
  expect_limit(run(src + "{{ n60|string }}"), "over the limit");
}

TEST(ChatTemplateLimits, JsonInput) {
  JsonLimits limits;
  limits.depth_max = 8;
  EXPECT_EQ(value_from_json(repeat("[", 9) + repeat("]", 9), limits).status().code(), ErrorCode::kResourceExhausted);
  EXPECT_TRUE(value_from_json(repeat("[", 8) + repeat("]", 8), limits).ok());
  EXPECT_EQ(value_from_json(repeat("[", 1000000)).status().code(), ErrorCode::kResourceExhausted);
  limits.bytes_max = 10;
  EXPECT_EQ(value_from_json("[1, 2, 3, 4, 5]", limits).status().code(), ErrorCode::kResourceExhausted);
}

}  // namespace
}  // namespace parley::chat
