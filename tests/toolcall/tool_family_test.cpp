// Family detection from the real chat templates of ../shared/templates.
#include "toolcall/tool_family.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace parley {
namespace {

TemplateTraits traits_of(const std::string& file) {
  const std::string src = testing::read_file(testing::shared_dir() + "/templates/" + file);
  EXPECT_FALSE(src.empty()) << file;
  return detect_template_traits(src);
}

struct Case {
  const char* file;
  ToolFamily family;
  ReasoningSyntax reasoning;
};

TEST(ToolFamily, DetectedFromEveryReferenceTemplate) {
  const Case cases[] = {
      {"NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja", ToolFamily::kHermes, ReasoningSyntax::kNone},
      {"NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja", ToolFamily::kHermes, ReasoningSyntax::kNone},
      {"Qwen-Qwen2.5-7B-Instruct.jinja", ToolFamily::kHermes, ReasoningSyntax::kNone},
      {"meta-llama-Llama-3.1-8B-Instruct.jinja", ToolFamily::kLlama3, ReasoningSyntax::kNone},
      {"meta-llama-Llama-3.2-3B-Instruct.jinja", ToolFamily::kLlama3, ReasoningSyntax::kNone},
      {"meta-llama-Llama-3.3-70B-Instruct.jinja", ToolFamily::kLlama3, ReasoningSyntax::kNone},
      {"mistralai-Mistral-Nemo-Instruct-2407.jinja", ToolFamily::kMistral, ReasoningSyntax::kNone},
      {"meetkai-functionary-medium-v3.1.jinja", ToolFamily::kFunctionaryV31, ReasoningSyntax::kNone},
      {"meetkai-functionary-medium-v3.2.jinja", ToolFamily::kFunctionaryV32, ReasoningSyntax::kNone},
      {"CohereForAI-c4ai-command-r-plus-tool_use.jinja", ToolFamily::kCommandR, ReasoningSyntax::kNone},
      {"CohereForAI-c4ai-command-r7b-12-2024-tool_use.jinja", ToolFamily::kCommandR7B, ReasoningSyntax::kCommandR7B},
      {"fireworks-ai-llama-3-firefunction-v2.jinja", ToolFamily::kFireFunction, ReasoningSyntax::kNone},
      {"llama-cpp-deepseek-r1.jinja", ToolFamily::kDeepSeekR1, ReasoningSyntax::kThinkTags},
      // Templates that never show tool definitions get the built-in format (the gateway writes
      // them into the system prompt), whatever markers they hold.
      {"deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja", ToolFamily::kBuiltin, ReasoningSyntax::kThinkTags},
      {"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", ToolFamily::kBuiltin, ReasoningSyntax::kThinkTags},
      {"google-gemma-2-2b-it.jinja", ToolFamily::kBuiltin, ReasoningSyntax::kNone},
      {"microsoft-Phi-3.5-mini-instruct.jinja", ToolFamily::kBuiltin, ReasoningSyntax::kNone},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file);
    const TemplateTraits t = traits_of(c.file);
    EXPECT_EQ(tool_family_name(t.family), tool_family_name(c.family));
    EXPECT_EQ(t.reasoning, c.reasoning);
    EXPECT_EQ(t.renders_tools, c.family != ToolFamily::kBuiltin);
  }
}

TEST(ToolFamily, AnUnknownTemplateThatRendersToolsIsGeneric) {
  const TemplateTraits t = detect_template_traits(
      "{% for m in messages %}{{ m.content }}{% endfor %}{% if tools %}{{ tools | tojson }}{% endif %}");
  EXPECT_EQ(t.family, ToolFamily::kGeneric);
  EXPECT_TRUE(t.renders_tools);
}

TEST(ToolFamily, VariablesAreFoundInCodeOnly) {
  EXPECT_TRUE(template_uses_variable("{{ tools }}", "tools"));
  EXPECT_TRUE(template_uses_variable("{%- for t in tools -%}{%- endfor %}", "tools"));
  EXPECT_TRUE(template_uses_variable("{% if x and tools is defined %}{% endif %}", "tools"));
  // Text, string literals, comments and attributes do not count.
  EXPECT_FALSE(template_uses_variable("You have tools. <tools></tools>", "tools"));
  EXPECT_FALSE(template_uses_variable("{{ 'tools' + \"tools\" }}", "tools"));
  EXPECT_FALSE(template_uses_variable("{# tools #}{{ message.tools }}", "tools"));
  EXPECT_FALSE(template_uses_variable("{{ tool_calls }}{{ mytools }}", "tools"));
  // A string with an escaped quote ends where it should.
  EXPECT_TRUE(template_uses_variable("{{ 'it\\'s' ~ tools }}", "tools"));
}

TEST(ToolFamily, NamesRoundTrip) {
  for (const ToolFamily f :
       {ToolFamily::kBuiltin, ToolFamily::kHermes, ToolFamily::kLlama3, ToolFamily::kMistral,
        ToolFamily::kFunctionaryV31, ToolFamily::kFunctionaryV32, ToolFamily::kCommandR, ToolFamily::kCommandR7B,
        ToolFamily::kFireFunction, ToolFamily::kDeepSeekR1, ToolFamily::kGeneric}) {
    EXPECT_EQ(tool_family_from_name(tool_family_name(f)), f);
  }
  EXPECT_FALSE(tool_family_from_name("gpt").has_value());
  EXPECT_FALSE(family_allows_parallel(ToolFamily::kLlama3));
  EXPECT_TRUE(family_allows_parallel(ToolFamily::kHermes));
}

}  // namespace
}  // namespace parley
