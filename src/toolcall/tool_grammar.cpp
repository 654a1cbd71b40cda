#include "toolcall/tool_grammar.h"

#include <fmt/format.h>

#include <functional>

#include "grammar/json_schema.h"
#include "toolcall/markers.h"

namespace parley {
namespace {

// The pieces every family's syntax is made of.
class Builder {
 public:
  Builder(Grammar& g, const ControlMarkers& controls, const GrammarLimits& limits)
      : g_(g), controls_(controls), json_(g, {.strict = false}, limits) {}

  // Text, or the control token it is in this vocabulary.
  ExprId lit(std::string_view text) {
    const auto it = controls_.find(text);
    return it != controls_.end() ? g_.special_token(it->second) : g_.literal(text);
  }
  ExprId name_string(const ToolSpec& t) { return json_.string_literal(t.name); }
  ExprId name_raw(const ToolSpec& t) { return g_.literal(t.name); }
  Result<ExprId> args(const ToolSpec& t) {
    const std::string_view s = t.parameters_json;
    if (s.find_first_not_of(" \t\r\n{}") == std::string_view::npos) return json_.any_object();
    Result<ExprId> e = json_.schema(s);
    if (!e.ok()) return with_tool(e.status(), t);
    return e;
  }
  // {"<name_key>": "f", "<args_key>": {...}}, with `prefix` inside the brace first.
  Result<ExprId> object(const ToolSpec& t, std::string_view name_key, std::string_view args_key,
                        std::optional<ExprId> prefix = std::nullopt) {
    ASSIGN_OR_RETURN(const ExprId a, args(t));
    std::vector<ExprId> items = {g_.literal("{")};
    if (prefix) items.push_back(*prefix);
    items.insert(items.end(), {g_.literal(fmt::format("\"{}\": ", name_key)), name_string(t),
                               g_.literal(fmt::format(", \"{}\": ", args_key)), a, g_.literal("}")});
    return g_.seq(std::move(items));
  }
  // A rule choosing among the tools, each written by `body`.
  Result<ExprId> choice(const std::vector<ToolSpec>& tools,
                        const std::function<Result<ExprId>(const ToolSpec&)>& body) {
    std::vector<ExprId> alts;
    for (const ToolSpec& t : tools) {
      ASSIGN_OR_RETURN(const ExprId e, body(t));
      alts.push_back(e);
    }
    const RuleId rule = g_.add_rule(fmt::format("call{}", n_rules_++));
    g_.set_rule(rule, g_.alt(std::move(alts)));
    return g_.ref(rule);
  }
  // first (sep item)* when parallel, else first.
  ExprId list(ExprId first, std::string_view sep, ExprId item, bool parallel) {
    if (!parallel) return first;
    return g_.seq({first, g_.star(sep.empty() ? item : g_.seq({lit(sep), item}))});
  }
  Grammar& g() { return g_; }

 private:
  static Status with_tool(const Status& st, const ToolSpec& t) {
    return Status(st.code(), fmt::format("tool '{}': {}", t.name, st.message()))
        .with_detail("param", fmt::format("tools[{}]{}", t.name, st.detail("param")));
  }

  Grammar& g_;
  const ControlMarkers& controls_;
  JsonGrammarBuilder json_;
  int n_rules_ = 0;
};

// Everything after the opening marker `open` when `after`, else `open` and all.
ExprId opened(Builder& b, std::string_view open, ExprId body, bool after) {
  return after ? body : b.g().seq({b.lit(open), body});
}

Result<ExprId> family_calls(Builder& b, const ToolGrammarOptions& o) {
  Grammar& g = b.g();
  const bool par = o.parallel && family_allows_parallel(o.family);
  const auto& tools = o.tools;
  const auto json_obj = [&](std::string_view name_key, std::string_view args_key) {
    return b.choice(tools, [&, name_key, args_key](const ToolSpec& t) { return b.object(t, name_key, args_key); });
  };
  switch (o.family) {
    case ToolFamily::kLlama3: {
      ASSIGN_OR_RETURN(const ExprId obj, json_obj("name", "parameters"));
      return obj;  // after <|python_tag|> too: the same JSON
    }
    case ToolFamily::kMistral:
    case ToolFamily::kFireFunction:
    case ToolFamily::kGeneric: {
      ASSIGN_OR_RETURN(const ExprId obj, json_obj("name", "arguments"));
      const ExprId items = b.list(obj, ", ", obj, par);
      if (o.family == ToolFamily::kMistral) {
        return opened(b, markers::kMistralCalls, g.seq({g.literal("["), items, g.literal("]")}), o.after_trigger);
      }
      if (o.family == ToolFamily::kFireFunction)
        return g.seq({b.lit(markers::kFireFunctionCalls), items, g.literal("]")});
      return g.seq({g.literal("{\"tool_calls\": ["), items, g.literal("]}")});
    }
    case ToolFamily::kCommandR:
    case ToolFamily::kCommandR7B: {
      const bool r7b = o.family == ToolFamily::kCommandR7B;
      std::optional<ExprId> id;
      if (r7b) {
        id = g.seq(
            {g.literal("\"tool_call_id\": \""), g.repeat(g.bytes(ByteSet::range('0', '9')), 1, 3), g.literal("\", ")});
      }
      ASSIGN_OR_RETURN(const ExprId obj,
                       b.choice(tools, [&](const ToolSpec& t) { return b.object(t, "tool_name", "parameters", id); }));
      const ExprId items = g.seq({g.literal("[\n    "), b.list(obj, ",\n    ", obj, par), g.literal("\n]")});
      if (r7b)
        return g.seq({opened(b, markers::kR7BActionOpen, items, o.after_trigger), b.lit(markers::kR7BActionClose)});
      return g.seq({b.lit(markers::kCommandRAction), g.literal("\n"), b.lit(markers::kCodeFenceJson), g.literal("\n"),
                    items, g.literal("\n"), b.lit(markers::kCodeFence)});
    }
    case ToolFamily::kFunctionaryV31: {
      ASSIGN_OR_RETURN(const ExprId body, b.choice(tools, [&](const ToolSpec& t) -> Result<ExprId> {
        ASSIGN_OR_RETURN(const ExprId a, b.args(t));
        return g.seq({b.name_raw(t), g.literal(">"), a, b.lit(markers::kFunctionClose)});
      }));
      const ExprId call = g.seq({b.lit(markers::kFunctionOpen), body});
      return b.list(opened(b, markers::kFunctionOpen, body, o.after_trigger), "", call, par);
    }
    case ToolFamily::kFunctionaryV32: {  // the prompt ends with ">>>"
      ASSIGN_OR_RETURN(const ExprId body, b.choice(tools, [&](const ToolSpec& t) -> Result<ExprId> {
        ASSIGN_OR_RETURN(const ExprId a, b.args(t));
        return g.seq({b.name_raw(t), g.literal("\n"), a});
      }));
      return b.list(body, markers::kRecipient, body, par);
    }
    case ToolFamily::kDeepSeekR1: {
      ASSIGN_OR_RETURN(const ExprId call, b.choice(tools, [&](const ToolSpec& t) -> Result<ExprId> {
        ASSIGN_OR_RETURN(const ExprId a, b.args(t));
        return g.seq({b.lit(markers::kR1CallBegin), g.literal("function"), b.lit(markers::kR1Sep), b.name_raw(t),
                      g.literal("\n"), b.lit(markers::kCodeFenceJson), g.literal("\n"), a, g.literal("\n"),
                      b.lit(markers::kCodeFence), b.lit(markers::kR1CallEnd)});
      }));
      return g.seq({opened(b, markers::kR1CallsBegin, b.list(call, "\n", call, par), o.after_trigger),
                    b.lit(markers::kR1CallsEnd)});
    }
    case ToolFamily::kHermes:
    case ToolFamily::kBuiltin:
      break;
  }
  ASSIGN_OR_RETURN(const ExprId obj, json_obj("name", "arguments"));
  const ExprId tail = g.seq({g.literal("\n"), obj, g.literal("\n"), b.lit(markers::kHermesClose)});
  const ExprId call = g.seq({b.lit(markers::kHermesOpen), tail});
  return b.list(opened(b, markers::kHermesOpen, tail, o.after_trigger), "\n", call, par);
}

}  // namespace

Result<Grammar> build_tool_grammar(const ToolGrammarOptions& o, const ControlMarkers& controls,
                                   const GrammarLimits& limits) {
  if (o.tools.empty()) return invalid_argument_error("no tools to call");
  for (const ToolSpec& t : o.tools) {
    if (!t.strict) continue;
    // Strict schemas must be compiled exactly: an unsupported keyword is an error here.
    Result<Grammar> check =
        json_schema_grammar(t.parameters_json.empty() ? "{}" : t.parameters_json, {.strict = true}, limits);
    if (!check.ok()) {
      return Status(check.status().code(), fmt::format("tool '{}': {}", t.name, check.status().message()))
          .with_detail("param", fmt::format("tools[{}]{}", t.name, check.status().detail("param")));
    }
  }
  Grammar g;
  const RuleId root = g.add_rule("root");
  Builder b(g, controls, limits);
  ASSIGN_OR_RETURN(ExprId calls, family_calls(b, o));
  if (o.close_thinking && !o.after_trigger) calls = g.seq({b.lit(markers::kThinkClose), g.literal("\n\n"), calls});
  g.set_rule(root, calls);
  g.set_root(root);
  return g;
}

std::string tool_grammar_key(const ToolGrammarOptions& o) {
  std::string key = fmt::format("tools/{}/{}{}{}", tool_family_name(o.family), o.parallel ? 'p' : '1',
                                o.after_trigger ? 't' : 's', o.close_thinking ? 'c' : 'o');
  for (const ToolSpec& t : o.tools) {
    // Lengths first: no choice of names and schemas can make two keys equal.
    key += fmt::format("/{}:{}:{}:{}{}", t.name.size(), t.parameters_json.size(), t.strict ? 's' : 'l', t.name,
                       t.parameters_json);
  }
  return key;
}

}  // namespace parley
