// The template language piece by piece, with expectations written out (no Python needed):
// whitespace control, expressions, filters, tests, loops, namespaces, macros, errors with
// positions, and the ChatTemplate API.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "chat/chat_template.h"
#include "chat/json.h"
#include "jinja_reference.h"
#include "tokenizer/vocab.h"

namespace parley::chat {
namespace {

// Renders `source` with the JSON object `context` as variables; "ERROR: <status>" on failure.
std::string render(std::string_view source, std::string_view context = "{}") {
  auto t = ChatTemplate::parse(source);
  if (!t.ok()) return "ERROR: " + t.status().to_string();
  auto ctx = value_from_json(context);
  CHECK(ctx.ok(), "{}", ctx.status().to_string());
  ChatInput input;
  for (const auto& [k, v] : ctx->dict().entries()) input.extra.emplace_back(k.str(), v);
  input.now = testing::fixed_now();
  auto out = t->render(input);
  return out.ok() ? *out : "ERROR: " + out.status().to_string();
}

Status render_status(std::string_view source, const RenderLimits& limits = {}) {
  auto t = ChatTemplate::parse(source);
  if (!t.ok()) return t.status();
  auto out = t->render(ChatInput{}, limits);
  return out.status();
}

TEST(ChatTemplateWhitespace, TrimBlocksAndLstripBlocks) {
  EXPECT_EQ(render("line1\n    {% if true %}\n    inner\n    {% endif %}\nline2\n"), "line1\n    inner\nline2");
  EXPECT_EQ(render("{% for m in [1,2] %}\n  {{ m }}\n{% endfor %}\n"), "  1\n  2\n");
  // Not at the start of a line: nothing to strip.
  EXPECT_EQ(render("x {% if true %}y{% endif %}\n  z"), "x y  z");
  // Comments are stripped like blocks.
  EXPECT_EQ(render("a\n\t {# c #}\nb"), "a\nb");
  // trim_blocks does not apply to {{ }}.
  EXPECT_EQ(render("{{ 'a' }}\n{{ 'b' }}"), "a\nb");
}

TEST(ChatTemplateWhitespace, ManualControl) {
  EXPECT_EQ(render("a  {{- ' b ' -}}  c  {{ 'd' }}  \n  {% if true %}  e  {% endif %}  \n  f"), "a b c  d  \n  e    \n  f");
  EXPECT_EQ(render("<\n  {%- if true %}\n    x\n  {%- endif %}\n>"), "<    x>");
  EXPECT_EQ(render("{% if true +%}\nkeep{% endif %}|  {%+ if true %}sp{% endif %}"), "\nkeep|  sp");
  EXPECT_EQ(render("{% macro m(x) %}\n  <{{ x }}>\n{% endmacro %}\n{{ m(1) }}{{ m(2) }}"), "  <1>\n  <2>\n");
}

TEST(ChatTemplateWhitespace, NewlinesAreNormalisedAndOneTrailingNewlineDropped) {
  EXPECT_EQ(render("a\r\nb\r\n{% if true %}\r\nc{% endif %}"), "a\nb\nc");
  EXPECT_EQ(render("x\n\n"), "x\n");
  EXPECT_EQ(render("{% raw %}{{ kept }}{% endraw %}"), "{{ kept }}");
}

TEST(ChatTemplateExpressions, LiteralsAndArithmetic) {
  EXPECT_EQ(render("{{ 1_000 }} {{ 0x1F }} {{ 1e3 }} {{ 10 / 4 }} {{ 10 // 4 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 2 ** 10 }}"),
            "1000 31 1000.0 2.5 2 -4 2 1024");
  EXPECT_EQ(render("{{ 0.1 + 0.2 }} {{ 1e16 }} {{ 1e-05 }} {{ 0.0001 }} {{ -0.0 }} {{ 3.0 }}"),
            "0.30000000000000004 1e+16 1e-05 0.0001 -0.0 3.0");
  EXPECT_EQ(render("{{ 'a' ~ 1 ~ none ~ true }} {{ 'ab' * 3 }} {{ [1] + [2] }} {{ (1,) }} {{ none }}"),
            "a1NoneTrue ababab [1, 2] (1,) None");
  EXPECT_EQ(render("{{ 'it\\'s' }} {{ \"q\\\"\" }} {{ '\\u00e9\\x41\\n' }}"), "it's q\" \xC3\xA9" "A\n");
  EXPECT_EQ(render("{{ {'a': [1, none, 'x']} }} {{ ['it\\'s'] }}"), "{'a': [1, None, 'x']} [\"it's\"]");
}

TEST(ChatTemplateExpressions, ComparisonsLogicAndConditionals) {
  EXPECT_EQ(render("{{ 1 < 2 < 3 }} {{ 1 == 1.0 }} {{ true == 1 }} {{ [1] == (1,) }} {{ 'b' > 'a' }}"),
            "True True True False True");
  EXPECT_EQ(render("{{ 0 or 'x' }} {{ 1 and 'y' }} {{ not none }} {{ 'a' in 'cat' }} {{ 3 not in [1, 2] }}"),
            "x y True True True");
  EXPECT_EQ(render("{{ 'y' if 0 else 'n' }}[{{ 'only' if false }}]"), "n[]");
}

TEST(ChatTemplateExpressions, AttributesItemsAndSlices) {
  const std::string_view ctx = R"({"m": {"role": "user", "items": 1}, "l": [1, 2, 3], "s": "héllo"})";
  EXPECT_EQ(render("{{ m.role }} {{ m['role'] }} {{ m.missing }}|{{ l[-1] }} {{ l[9] }}|", ctx), "user user |3 |");
  // Methods win over keys for attribute access, as in Python; subscription prefers keys.
  EXPECT_EQ(render("{{ m.items is callable }} {{ m['items'] }}", ctx), "True 1");
  EXPECT_EQ(render("{{ s[1] }} {{ s[::-1] }} {{ s[1:3] }} {{ l[::-1] }} {{ l[-2:] }} {{ s|length }}", ctx),
            "é olléh él [3, 2, 1] [2, 3] 5");
  EXPECT_EQ(render("{{ m.get('role') }} {{ m.get('x', 'd') }} {{ m.get('x') }}", ctx), "user d None");
}

TEST(ChatTemplateExpressions, UndefinedBehavesLikeJinja2) {
  EXPECT_EQ(render("[{{ nope }}] {{ nope is defined }} {{ nope|length }} {% for x in nope %}x{% endfor %}"),
            "[] False 0 ");
  EXPECT_EQ(render("{{ nope|default('d') }} {{ nope or 'o' }} {{ nope == nope }}"), "d o True");
  EXPECT_NE(render("{{ nope.attr }}").find("'nope' is undefined"), std::string::npos);
  EXPECT_NE(render("{{ nope + 1 }}").find("'nope' is undefined"), std::string::npos);
  EXPECT_NE(render("{{ {}.a.b }}").find("'dict object' has no attribute 'a'"), std::string::npos);
}

TEST(ChatTemplateFilters, Strings) {
  EXPECT_EQ(render("{{ '  x  '|trim }}|{{ 'xxaxx'|trim('x') }}|{{ 'aBc'|upper }}|{{ 'aBc'|lower }}|{{ 'hello WORLD'|capitalize }}"),
            "x|a|ABC|abc|Hello world");
  EXPECT_EQ(render("{{ \"they're-here (now)\"|title }} {{ 'a-b'|replace('-', '+') }} {{ 'aaa'|replace('a', 'b', 2) }}"),
            "They're-Here (Now) a+b bba");
  EXPECT_EQ(render("{{ 'a\\nb\\n'|indent }}|{{ '{\\n'|indent(4, first=true) }}|{{ 'a\\n\\nb'|indent(2, blank=true) }}"),
            "a\n    b\n|    {\n|a\n  \n  b");
  EXPECT_EQ(render("{{ 3|string }}{{ ' 7 '|int + 1 }} {{ 'x'|int(5) }} {{ '2.5'|float }} {{ 2.675|round(2) }} {{ 2.5|round }}"),
            "38 5 2.5 2.67 2.0");
  EXPECT_EQ(render("{{ '<a>'|e }} {{ '<a>'|safe }} {{ ('&'|safe) + '<' }} {{ 'one two'|wordcount }}"),
            "&lt;a&gt; <a> &&lt; 2");
  EXPECT_EQ(render("{{ '%s=%d' % ('n', 3) }} {{ '{}-{:>3}'.format('a', 1) }}"), "n=3 a-  1");
}

TEST(ChatTemplateFilters, Sequences) {
  const std::string_view ctx =
      R"({"people": [{"name": "Ann", "age": 30}, {"name": "bob", "age": 25, "admin": true}], "l": [3, 1, 2]})";
  EXPECT_EQ(render("{{ l|sort }} {{ l|sort(reverse=true) }} {{ l|first }} {{ l|last }} {{ l|join('-') }} {{ l|sum }}", ctx),
            "[1, 2, 3] [3, 2, 1] 3 2 3-1-2 6");
  EXPECT_EQ(render("{{ people|map(attribute='name')|join(',') }} {{ people|selectattr('admin')|map(attribute='name')|list }}", ctx),
            "Ann,bob ['bob']");
  EXPECT_EQ(render("{{ people|rejectattr('admin')|list|length }} {{ people|sort(attribute='age')|first }}", ctx),
            "1 {'name': 'bob', 'age': 25, 'admin': True}");
  EXPECT_EQ(render("{{ ['b', 'A', 'a']|unique|list }} {{ {'b': 1, 'a': 2}|dictsort }} {{ l|select('odd')|list }}", ctx),
            "['b', 'A'] [('a', 2), ('b', 1)] [3, 1]");
  EXPECT_EQ(render("{{ l|reverse|list }} {{ 'abc'|reverse }} {{ {'k': 'v'}|items|list }} {{ l|map('string')|list }}", ctx),
            "[2, 1, 3] cba [('k', 'v')] ['3', '1', '2']");
  // Generators cannot be measured or serialised, as in Jinja2.
  EXPECT_NE(render("{{ l|map('string')|length }}", ctx).find("has no len()"), std::string::npos);
  EXPECT_NE(render("{{ l|map('string')|tojson }}", ctx).find("not JSON serializable"), std::string::npos);
}

TEST(ChatTemplateFilters, ToJsonIsPythonsJsonDumps) {
  const std::string_view ctx = R"({"d": {"b": [1, 2.5, null, true], "a": "é\"\n"}})";
  EXPECT_EQ(render("{{ d|tojson }}", ctx), R"({"b": [1, 2.5, null, true], "a": "é\"\n"})");
  EXPECT_EQ(render("{{ d|tojson(indent=2) }}", ctx),
            "{\n  \"b\": [\n    1,\n    2.5,\n    null,\n    true\n  ],\n  \"a\": \"é\\\"\\n\"\n}");
  EXPECT_EQ(render("{{ d|tojson(sort_keys=true, ensure_ascii=true) }}", ctx), R"({"a": "\u00e9\"\n", "b": [1, 2.5, null, true]})");
  EXPECT_EQ(render("{{ d.b|tojson(separators=(',', ':')) }}", ctx), "[1,2.5,null,true]");
}

TEST(ChatTemplateTests, BuiltinTests) {
  EXPECT_EQ(render("{{ 1 is number }} {{ 'a' is string }} {{ {} is mapping }} {{ [] is iterable }} {{ none is none }}"),
            "True True True True True");
  EXPECT_EQ(render("{{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ 'a' is equalto 'a' }} {{ 2 is gt 1 }}"),
            "True True True True True");
  EXPECT_EQ(render("{{ true is boolean }} {{ 1 is integer }} {{ 1.0 is float }} {{ x is not defined }} {{ 'ab' is lower }}"),
            "True True True True True");
}

TEST(ChatTemplateStatements, LoopsAndLoopVariable) {
  EXPECT_EQ(render("{% for x in [5, 6, 7] %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.first }}"
                   "{{ loop.last }}{{ loop.length }};{% endfor %}"),
            "103TrueFalse3;212FalseFalse3;321FalseTrue3;");
  EXPECT_EQ(render("{% for x in [1, 2, 3] %}{{ loop.previtem }}-{{ loop.nextitem }},{% endfor %}"), "-2,1-3,2-,");
  EXPECT_EQ(render("{% for x in [1, 2, 3, 4] if x is even %}{{ x }}/{{ loop.length }} {% else %}none{% endfor %}"), "2/2 4/2 ");
  EXPECT_EQ(render("{% for x in [] %}x{% else %}empty{% endfor %}"), "empty");
  EXPECT_EQ(render("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}{{ v }}{% endfor %}"), "a1b2");
  EXPECT_EQ(render("{% for x in range(10) %}{% if x == 1 %}{% continue %}{% endif %}{% if x > 3 %}{% break %}{% endif %}{{ x }}{% endfor %}"),
            "023");
  // Assignments in a loop body stay in the loop, as in Jinja2.
  EXPECT_EQ(render("{% set x = 0 %}{% for i in [1, 2] %}{% set x = i %}{% endfor %}{{ x }}"), "0");
}

TEST(ChatTemplateStatements, NamespacesSetBlocksAndFilters) {
  EXPECT_EQ(render("{% set ns = namespace(n=0, seen=[]) %}{% for i in [1, 2, 3] %}{% set ns.n = ns.n + i %}"
                   "{% set ns.seen = ns.seen + [i] %}{% endfor %}{{ ns.n }} {{ ns.seen }}"),
            "6 [1, 2, 3]");
  EXPECT_EQ(render("{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set t %}[{{ a }}]{% endset %}{{ t }}"), "12[1]");
  EXPECT_EQ(render("{% filter upper %}hi {{ 'there' }}{% endfilter %}"), "HI THERE");
  EXPECT_NE(render("{% set x = 1 %}{% set x.y = 2 %}").find("non-namespace"), std::string::npos);
  // The immutable sandbox: lists cannot be changed in place.
  EXPECT_NE(render("{% set l = [] %}{{ l.append(1) }}").find("unsafe"), std::string::npos);
}

TEST(ChatTemplateStatements, MacrosAndCallBlocks) {
  EXPECT_EQ(render("{% macro g(name, greeting='Hello') %}{{ greeting }}, {{ name }}!{% endmacro %}{{ g('Ann') }} {{ g('Bob', greeting='Hi') }}"),
            "Hello, Ann! Hi, Bob!");
  EXPECT_EQ(render("{% macro f(k) %}{% if k > 0 %}{{ k }}{{ f(k - 1) }}{% endif %}{% endmacro %}{{ f(3) }}"), "321");
  EXPECT_EQ(render("{% macro w() %}<{{ caller() }}>{% endmacro %}{% call w() %}in{% endcall %}"), "<in>");
  EXPECT_EQ(render("{% macro each(xs) %}{% for x in xs %}{{ caller(x) }}{% endfor %}{% endmacro %}"
                   "{% call(v) each([1, 2]) %}({{ v }}){% endcall %}"),
            "(1)(2)");
  EXPECT_EQ(render("{% macro v() %}{{ varargs }}{{ kwargs }}{% endmacro %}{{ v(1, k=2) }}"), "(1,){'k': 2}");
  EXPECT_NE(render("{% macro f(a) %}{% endmacro %}{{ f(1, 2) }}").find("takes not more than 1 argument"), std::string::npos);
}

TEST(ChatTemplateGlobals, RangeDictStrftimeAndRaise) {
  EXPECT_EQ(render("{{ range(3)|list }} {{ range(1, 7, 2)|list }} {{ dict(a=1) }}"), "[0, 1, 2] [1, 3, 5] {'a': 1}");
  EXPECT_EQ(render("{{ strftime_now('%d %b %Y') }}"), "03 Sep 2024");
  const Status s = render_status("{% if true %}\n  {{ raise_exception('Roles must alternate') }}\n{% endif %}");
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "chat template error at line 2, column 6: Roles must alternate");
}

TEST(ChatTemplateErrors, SyntaxErrorsNameLineAndColumn) {
  const auto err = [](std::string_view src) { return ChatTemplate::parse(src).status(); };
  EXPECT_EQ(err("ab\n{% if x %}\n{{ 1 + }}").message(),
            "chat template syntax error at line 3, column 8: unexpected end of print statement");
  EXPECT_EQ(err("{% for x in y %}").message(),
            "chat template syntax error at line 1, column 17: unexpected end of template, expected 'endfor' or 'else'");
  EXPECT_EQ(err("x\n  {% frobnicate %}").message(), "chat template syntax error at line 2, column 6: unknown tag 'frobnicate'");
  EXPECT_EQ(err("{{ 'open }}").message(), "chat template syntax error at line 1, column 4: unterminated string");
  EXPECT_EQ(err("{# no end").message(), "chat template syntax error at line 1, column 1: missing end of comment tag");
  EXPECT_EQ(err("{% break %}").message(), "chat template syntax error at line 1, column 4: 'break' outside loop");
  EXPECT_EQ(err("{{ (1 ]}}").message(), "chat template syntax error at line 1, column 7: unexpected ']'");
  EXPECT_EQ(err("{% macro m(a=1, b) %}{% endmacro %}").code(), ErrorCode::kInvalidArgument);
}

TEST(ChatTemplateErrors, RuntimeErrorsNameTheirPosition) {
  EXPECT_EQ(render_status("line one\n{{ 'a' + 1 }}").message(),
            "chat template error at line 2, column 8: can only concatenate str (not \"int\") to str");
  EXPECT_EQ(render_status("{% for x in 5 %}{% endfor %}").message(),
            "chat template error at line 1, column 13: 'int' object is not iterable");
  EXPECT_EQ(render_status("{{ [1]|nosuchfilter }}").message(), "chat template error at line 1, column 8: no filter named 'nosuchfilter'");
  // Errors inside macros point into the macro body.
  EXPECT_EQ(render_status("{% macro m() %}\n{{ 1 // 0 }}{% endmacro %}{{ m() }}").message(),
            "chat template error at line 2, column 6: integer division or modulo by zero");
}

TEST(ChatTemplateApi, RendersMessagesAndStandardVariables) {
  auto t = ChatTemplate::parse(builtin_chatml_template());
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  const ChatMessage conv[] = {{"system", "Be brief."}, {"user", "Hi"}};
  ChatInput in;
  in.messages = messages_value(conv);
  in.add_generation_prompt = true;
  auto out = t->render(in);
  ASSERT_TRUE(out.ok()) << out.status().to_string();
  EXPECT_EQ(*out, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");

  auto t2 = ChatTemplate::parse("{{ bos_token }}{{ tools is defined }}{{ tools|length }}{{ eos_token }}{{ extra }}");
  ASSERT_TRUE(t2.ok());
  in.bos_token = "<s>";
  in.eos_token = "</s>";
  in.extra = {{"extra", Value("!")}};
  EXPECT_EQ(*t2->render(in), "<s>False0</s>!");
  in.tools = *value_from_json(R"([{"type": "function"}])");
  in.extra = {{"eos_token", Value("[override]")}};
  EXPECT_EQ(*t2->render(in), "<s>True1[override]");
}

TEST(ChatTemplateApi, ChatTemplateForVocab) {
  Vocab vocab;
  auto builtin = chat_template_for(vocab);
  ASSERT_TRUE(builtin.ok());
  EXPECT_EQ(builtin->source(), builtin_chatml_template());

  vocab.chat_template = "{{ messages[0]['content'] }}";
  auto own = chat_template_for(vocab);
  ASSERT_TRUE(own.ok());
  ChatInput in;
  const ChatMessage conv[] = {{"user", "hey"}};
  in.messages = messages_value(conv);
  EXPECT_EQ(*own->render(in), "hey");

  vocab.chat_template = "{% if %}";
  auto bad = chat_template_for(vocab);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("tokenizer.chat_template"), std::string::npos);
}

TEST(ChatTemplateApi, ConcurrentRendersShareOneTemplate) {
  auto t = ChatTemplate::parse("{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.n }}");
  ASSERT_TRUE(t.ok());
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      std::vector<ChatMessage> conv(static_cast<std::size_t>(i + 1), ChatMessage{"user", "x"});
      ChatInput in;
      in.messages = messages_value(conv);
      for (int k = 0; k < 200; ++k) {
        auto out = t->render(in);
        if (!out.ok() || *out != std::to_string(i + 1)) ++bad;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace parley::chat
