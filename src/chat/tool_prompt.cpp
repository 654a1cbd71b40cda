#include "chat/tool_prompt.h"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <set>

#include "chat/json.h"

namespace parley::chat {
namespace {

// ---- small helpers on immutable values ----

const Value* get(const Value& v, std::string_view key) {
  if (!v.is_dict()) return nullptr;
  const Value* f = v.dict().find(key);
  return f != nullptr && !f->is_undefined() ? f : nullptr;
}

std::string get_string(const Value& v, std::string_view key) {
  const Value* f = get(v, key);
  return f != nullptr && f->is_string() ? f->str() : std::string();
}

// A copy of the dict `v` with `key` set to `value` (or removed, when `value` is undefined).
Value with(const Value& v, std::string_view key, const Value& value) {
  Dict d;
  bool done = false;
  for (const auto& [k, x] : v.dict().entries()) {
    if (k.is_string() && k.str() == key) {
      done = true;
      if (!value.is_undefined()) d.set(k, value);
    } else {
      d.set(k, x);
    }
  }
  if (!done && !value.is_undefined()) d.set(Value(std::string(key)), value);
  return Value::dict(std::move(d));
}

Value message(std::string_view role, std::string content) {
  Dict d;
  d.set(Value("role"), Value(std::string(role)));
  d.set(Value("content"), Value(std::move(content)));
  return Value::dict(std::move(d));
}

bool has_tool_calls(const Value& m) {
  const Value* tc = get(m, "tool_calls");
  return tc != nullptr && tc->is_sequence_list() && !tc->items().empty();
}

// ---- the probe ----

constexpr std::string_view kProbeTools = R"([{"type": "function", "function": {"name": "parley_probe_fn",
  "description": "parley probe description", "parameters": {"type": "object", "properties": {
  "parley_probe_arg": {"type": "string", "description": "parley probe argument"}}, "required": ["parley_probe_arg"]}}}])";
constexpr std::string_view kProbeArguments = R"({"parley_probe_arg": "parley probe value"})";
constexpr std::string_view kProbeArguments2 = R"({"parley_probe_arg": "parley probe second value"})";

Value parse(std::string_view text) {
  Result<Value> v = value_from_json(text);
  return v.ok() ? *v : Value();
}

std::tm probe_time() {
  std::tm t{};
  t.tm_year = 124;
  t.tm_mon = 8;
  t.tm_mday = 3;
  return t;
}

struct Probe {
  const ChatTemplate& tmpl;
  bool functions = false;

  Result<std::string> render(Value messages, const Value& tools = Value()) const {
    ChatInput in;
    in.messages = std::move(messages);
    in.tools = tools;
    in.add_generation_prompt = true;
    in.bos_token = "<s>";
    in.eos_token = "</s>";
    in.now = probe_time();
    ToolTemplateSupport s;
    s.functions_variable = functions;
    s.tools = true;
    s.tool_calls = true;
    s.parallel_calls = true;  // render the calls as built (no split into one call per turn)
    if (Status st = adapt_chat_input(s, &in); !st.ok()) return st;  // only adds the variables
    return tmpl.render(in);
  }
  bool shows(Value messages, const Value& tools, std::initializer_list<std::string_view> needles) const {
    Result<std::string> out = render(std::move(messages), tools);
    if (!out.ok()) return false;
    for (const std::string_view n : needles) {
      if (out->find(n) == std::string::npos) return false;
    }
    return true;
  }
};

// A conversation with one call (or two, `parallel`) and its results.
Value probe_call_conversation(bool null_content, bool nine_char_id, bool object_arguments, bool parallel = false) {
  std::vector<Value> calls;
  std::vector<Value> messages = {message("user", "parley probe question")};
  for (int i = 0; i < (parallel ? 2 : 1); ++i) {
    const std::string id = nine_char_id ? fmt::format("a1b2c3d4{}", i) : fmt::format("call_parley_probe_{}", i);
    const std::string_view args = i == 0 ? kProbeArguments : kProbeArguments2;
    Dict fn;
    fn.set(Value("name"), Value("parley_probe_fn"));
    fn.set(Value("arguments"), object_arguments ? parse(args) : Value(args));
    Dict call;
    call.set(Value("id"), Value(id));
    call.set(Value("type"), Value("function"));
    call.set(Value("function"), Value::dict(std::move(fn)));
    calls.push_back(Value::dict(std::move(call)));
  }
  Dict assistant;
  assistant.set(Value("role"), Value("assistant"));
  assistant.set(Value("content"), null_content ? Value::none() : Value(""));
  assistant.set(Value("tool_calls"), Value::list(calls));
  messages.push_back(Value::dict(std::move(assistant)));
  for (std::size_t i = 0; i < calls.size(); ++i) {
    Dict tool;
    tool.set(Value("role"), Value("tool"));
    tool.set(Value("tool_call_id"), *get(calls[i], "id"));
    tool.set(Value("content"), Value(i == 0 ? "parley probe result" : "parley probe second result"));
    messages.push_back(Value::dict(std::move(tool)));
  }
  messages.push_back(message("assistant", "parley probe answer"));
  messages.push_back(message("user", "parley probe thanks"));
  return Value::list(std::move(messages));
}

// The arguments appear as JSON (not as a JSON string inside JSON), and the result appears.
bool shows_call(const Result<std::string>& out) {
  return out.ok() && out->find("parley probe value") != std::string::npos &&
         out->find("parley_probe_arg") != std::string::npos && out->find("\\\"parley_probe_arg") == std::string::npos &&
         out->find("parley probe result") != std::string::npos;
}

// ---- the rewrite ----

// 9 alphanumeric characters for Mistral's templates, the same for the same id.
std::string nine_char_id(const std::string& id, std::set<std::string>* used) {
  const auto alnum = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (id.size() == 9 && std::all_of(id.begin(), id.end(), alnum) && used->insert(id).second) return id;
  constexpr std::string_view kDigits = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  for (std::uint64_t salt = 0;; ++salt) {
    std::uint64_t h = 1469598103934665603ull ^ salt;
    for (const char c : id) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    std::string out;
    for (int i = 0; i < 9; ++i, h /= kDigits.size()) out += kDigits[h % kDigits.size()];
    if (used->insert(out).second) return out;
  }
}

struct Rewriter {
  const ToolTemplateSupport& support;
  std::map<std::string, std::string> ids;  // client id -> the template's
  std::set<std::string> used;

  Value id_of(const Value& id) {
    if (!support.nine_char_call_ids || !id.is_string()) return id;
    auto it = ids.find(id.str());
    if (it == ids.end()) it = ids.emplace(id.str(), nine_char_id(id.str(), &used)).first;
    return Value(it->second);
  }

  Value call_for_template(const Value& call) {
    Value out = call;
    if (const Value* id = get(call, "id")) out = with(out, "id", id_of(*id));
    const Value* fn = get(call, "function");
    if (fn == nullptr || !support.object_arguments) return out;
    const Value* args = get(*fn, "arguments");
    if (args == nullptr || !args->is_string()) return out;
    Result<Value> parsed = value_from_json(args->str());
    if (!parsed.ok() || !parsed->is_dict()) return out;  // not an object: as sent
    return with(out, "function", with(*fn, "arguments", *parsed));
  }

  Result<Value> assistant(const Value& m) {
    if (!support.tool_calls) {
      std::string text = get_string(m, "content");
      for (const Value& call : get(m, "tool_calls")->items()) {
        ASSIGN_OR_RETURN(std::string block, builtin_tool_call_text(call));
        if (!text.empty()) text += '\n';
        text += block;
      }
      return message("assistant", std::move(text));
    }
    std::vector<Value> calls;
    for (const Value& call : get(m, "tool_calls")->items()) calls.push_back(call_for_template(call));
    Value out = with(m, "tool_calls", Value::list(std::move(calls)));
    const Value* content = get(m, "content");
    if (support.empty_for_null_content && (content == nullptr || content->is_none())) out = with(out, "content", "");
    return out;
  }

  // For a template that takes one call per turn: an assistant turn with several calls, followed
  // by their results, becomes a turn per call followed by that call's results (in the calls'
  // order; results that match no call come last). `i` is the assistant turn; returns the index
  // after the results it consumed.
  Result<std::size_t> split_calls(const std::vector<Value>& items, std::size_t i, std::vector<Value>* out) {
    const Value& m = items[i];
    std::size_t end = i + 1;
    while (end < items.size() && get_string(items[end], "role") == "tool") ++end;
    std::vector<bool> used(end, false);
    bool first = true;
    for (const Value& call : get(m, "tool_calls")->items()) {
      Value one = with(m, "tool_calls", Value::list({call}));
      if (!first) one = with(one, "content", Value::none());
      first = false;
      ASSIGN_OR_RETURN(Value a, assistant(one));
      out->push_back(std::move(a));
      const std::string id = get_string(call, "id");
      for (std::size_t j = i + 1; j < end; ++j) {
        if (!used[j] && get_string(items[j], "tool_call_id") == id) {
          used[j] = true;
          out->push_back(tool(items[j]));
        }
      }
    }
    for (std::size_t j = i + 1; j < end; ++j) {
      if (!used[j]) out->push_back(tool(items[j]));
    }
    return end;
  }

  Value tool(const Value& m) {
    const Value* id = get(m, "tool_call_id");
    return id != nullptr ? with(m, "tool_call_id", id_of(*id)) : m;
  }

  Result<Value> messages(const Value& list) {
    std::vector<Value> out;
    std::string responses;  // tool results waiting to become one user turn (built-in format)
    const auto flush = [&] {
      if (!responses.empty()) out.push_back(message("user", std::move(responses)));
      responses.clear();
    };
    const std::vector<Value>& items = list.items();
    for (std::size_t i = 0; i < items.size(); ++i) {
      const Value& m = items[i];
      const std::string role = get_string(m, "role");
      if (role == "tool" && !support.tool_calls) {
        if (!responses.empty()) responses += '\n';
        responses += "<tool_response>\n" + get_string(m, "content") + "\n</tool_response>";
        continue;
      }
      flush();
      if (role == "assistant" && has_tool_calls(m)) {
        if (support.tool_calls && !support.parallel_calls && get(m, "tool_calls")->items().size() > 1) {
          ASSIGN_OR_RETURN(const std::size_t end, split_calls(items, i, &out));
          i = end - 1;
          continue;
        }
        ASSIGN_OR_RETURN(Value a, assistant(m));
        out.push_back(std::move(a));
      } else if (role == "tool") {
        out.push_back(tool(m));
      } else {
        out.push_back(m);
      }
    }
    flush();
    return Value::list(std::move(out));
  }
};

// The tool definitions into the first system message (or a new one).
Value inject_tools_block(const Value& messages, const std::string& block) {
  std::vector<Value> out = messages.items();
  if (!out.empty() && get_string(out.front(), "role") == "system") {
    const std::string content = get_string(out.front(), "content");
    out.front() = with(out.front(), "content", Value(content.empty() ? block : content + "\n\n" + block));
  } else {
    out.insert(out.begin(), message("system", block));
  }
  return Value::list(std::move(out));
}

// The first system message's text at the head of the first user message (or as a user message).
Value fold_system_message(const Value& messages) {
  const std::vector<Value>& items = messages.items();
  if (items.empty() || get_string(items.front(), "role") != "system") return messages;
  const std::string system = get_string(items.front(), "content");
  std::vector<Value> out(items.begin() + 1, items.end());
  if (!out.empty() && get_string(out.front(), "role") == "user") {
    const std::string user = get_string(out.front(), "content");
    out.front() = with(out.front(), "content", Value(user.empty() ? system : system + "\n\n" + user));
  } else {
    out.insert(out.begin(), message("user", system));
  }
  return Value::list(std::move(out));
}

Status add_functions_variables(const ChatInput& in, std::vector<std::pair<std::string, Value>>* extra) {
  std::vector<Value> functions;
  if (in.tools.is_sequence_list()) {
    for (const Value& t : in.tools.items()) {
      if (const Value* f = get(t, "function")) functions.push_back(*f);
    }
  }
  ASSIGN_OR_RETURN(std::string text, to_json(Value::list(std::move(functions)), {.indent = std::string(4, ' ')}));
  std::tm now{};
  if (in.now) {
    now = *in.now;
  } else {
    const std::time_t t = std::time(nullptr);
    localtime_r(&t, &now);
  }
  char date[64];
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S", &now);
  extra->emplace_back("functions", Value(std::move(text)));
  extra->emplace_back("datetime", Value(std::string(date)));
  return ok_status();
}

}  // namespace

Result<std::string> builtin_tools_block(const Value& tools) {
  std::string out =
      "# Tools\n\nYou may call one or more functions to help with the request. Their signatures are inside "
      "<tools></tools>, one JSON object per line:\n<tools>";
  if (tools.is_sequence_list()) {
    for (const Value& t : tools.items()) {
      out += '\n';
      RETURN_IF_ERROR(append_json(out, t, {}));
    }
  }
  out +=
      "\n</tools>\n\nTo call a function, write a JSON object with its name and its arguments inside "
      "<tool_call></tool_call> tags, one pair of tags per call:\n<tool_call>\n{\"name\": <function-name>, "
      "\"arguments\": <arguments-object>}\n</tool_call>";
  return out;
}

Result<std::string> builtin_tool_call_text(const Value& call) {
  const Value* fn = get(call, "function");
  const Value& f = fn != nullptr ? *fn : call;
  std::string out = "<tool_call>\n{\"name\": \"" + get_string(f, "name") + "\", \"arguments\": ";
  const Value* args = get(f, "arguments");
  if (args != nullptr && args->is_string()) {
    out += args->str();
  } else {
    RETURN_IF_ERROR(append_json(out, args != nullptr ? *args : Value::none(), {}));
  }
  out += "}\n</tool_call>";
  return out;
}

ToolTemplateSupport probe_tool_template(const ChatTemplate& tmpl) {
  ToolTemplateSupport s;
  Probe p{tmpl};
  const Value user = Value::list({message("user", "parley probe question")});
  if (!p.render(user).ok()) {
    p.functions = true;
    if (p.render(user).ok()) s.functions_variable = true;
    p.functions = s.functions_variable;
  }
  const Value tools = parse(kProbeTools);
  s.system_role =
      p.shows(Value::list({message("system", "parley probe system"), message("user", "parley probe question")}),
              Value(), {"parley probe system"});
  s.tools = p.shows(
      s.system_role ? Value::list({message("system", "parley probe system"), message("user", "parley probe question")})
                    : user,
      tools, {"parley_probe_fn", "parley probe description"});
  for (const bool null_content : {true, false}) {
    for (const bool nine : {false, true}) {
      for (const bool object : {false, true}) {
        if (shows_call(p.render(probe_call_conversation(null_content, nine, object), s.tools ? tools : Value()))) {
          s.tool_calls = true;
          s.empty_for_null_content = !null_content;
          s.nine_char_call_ids = nine;
          s.object_arguments = object;
          const Result<std::string> two =
              p.render(probe_call_conversation(null_content, nine, object, true), s.tools ? tools : Value());
          s.parallel_calls = shows_call(two) && two->find("parley probe second value") != std::string::npos &&
                             two->find("parley probe second result") != std::string::npos;
          return s;
        }
      }
    }
  }
  return s;
}

Status adapt_chat_input(const ToolTemplateSupport& support, ChatInput* input) {
  if (support.functions_variable) RETURN_IF_ERROR(add_functions_variables(*input, &input->extra));
  const bool tools = input->tools.is_sequence_list() && !input->tools.items().empty();
  if (tools && !support.tools) {
    ASSIGN_OR_RETURN(const std::string block, builtin_tools_block(input->tools));
    if (input->messages.is_sequence_list()) {
      input->messages = inject_tools_block(input->messages, block);
    }
    input->tools = Value();
  }
  if (!input->messages.is_sequence_list()) return ok_status();
  if (!support.system_role) input->messages = fold_system_message(input->messages);
  bool any = false;
  for (const Value& m : input->messages.items()) any = any || has_tool_calls(m) || get_string(m, "role") == "tool";
  if (!any) return ok_status();
  Rewriter rewriter{support, {}, {}};
  ASSIGN_OR_RETURN(input->messages, rewriter.messages(input->messages));
  return ok_status();
}

}  // namespace parley::chat
