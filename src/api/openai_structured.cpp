// The structured-output and tool fields of OpenAI requests: response_format, tools, tool_choice,
// parallel_tool_calls and the reasoning_format extension (api/openai_request.h has the types).
#include "api/openai_structured.h"

#include <fmt/format.h>

#include "api/json_fields.h"

namespace parley::api_json {
namespace {

// OpenAI's rule for function and schema names.
bool valid_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (const char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Status check_name(std::string_view param, std::string_view name) {
  if (valid_name(name)) return ok_status();
  return invalid_param(param, fmt::format("Invalid '{}': '{}'. Names are 1 to 64 characters of a-z, A-Z, 0-9, "
                                          "underscores and dashes.",
                                          param, name.substr(0, 80)));
}

// A nested string field, with the error naming its full path.
Status get_string_at(const json::object& o, std::string_view key, std::string_view param, std::string* out,
                     bool required = false) {
  const json::value* v = field(o, key);
  if (v == nullptr) {
    if (required) return invalid_param(param, fmt::format("'{}' is required.", param));
    return ok_status();
  }
  if (!v->is_string()) return type_error(param, "a string", *v);
  *out = std::string(v->as_string());
  return ok_status();
}

Status get_bool_at(const json::object& o, std::string_view key, std::string_view param, bool* out) {
  const json::value* v = field(o, key);
  if (v == nullptr) return ok_status();
  if (!v->is_bool()) return type_error(param, "a boolean", *v);
  *out = v->as_bool();
  return ok_status();
}

// A JSON Schema: an object or a boolean, serialized.
Status get_schema_at(const json::object& o, std::string_view key, std::string_view param, std::string* out) {
  const json::value* v = field(o, key);
  if (v == nullptr) return ok_status();
  if (!v->is_object() && !v->is_bool()) return type_error(param, "an object (a JSON Schema)", *v);
  *out = json::serialize(*v);
  return ok_status();
}

Status parse_json_schema_format(const json::object& rf, ResponseFormat* out) {
  const json::value* js = field(rf, "json_schema");
  if (js == nullptr) {
    return invalid_param("response_format.json_schema",
                         "'response_format.json_schema' is required when 'response_format.type' is 'json_schema'.");
  }
  if (!js->is_object()) return type_error("response_format.json_schema", "an object", *js);
  const json::object& o = js->as_object();
  RETURN_IF_ERROR(get_string_at(o, "name", "response_format.json_schema.name", &out->name));
  if (!out->name.empty()) RETURN_IF_ERROR(check_name("response_format.json_schema.name", out->name));
  RETURN_IF_ERROR(get_schema_at(o, "schema", "response_format.json_schema.schema", &out->schema_json));
  return get_bool_at(o, "strict", "response_format.json_schema.strict", &out->strict);
}

Status parse_tool(const json::value& v, std::string_view p, ToolDef* out) {
  if (!v.is_object()) return type_error(p, "an object", v);
  const json::object& t = v.as_object();
  std::string type;
  RETURN_IF_ERROR(get_string_at(t, "type", fmt::format("{}.type", p), &type, true));
  if (type != "function") {
    return invalid_param(fmt::format("{}.type", p),
                         fmt::format("Tools of type '{}' are not supported; only 'function' is.", type.substr(0, 80)));
  }
  const std::string fp = fmt::format("{}.function", p);
  const json::value* f = field(t, "function");
  if (f == nullptr) return invalid_param(fp, fmt::format("'{}' is required.", fp));
  if (!f->is_object()) return type_error(fp, "an object", *f);
  const json::object& fo = f->as_object();
  RETURN_IF_ERROR(get_string_at(fo, "name", fp + ".name", &out->name, true));
  RETURN_IF_ERROR(check_name(fp + ".name", out->name));
  RETURN_IF_ERROR(get_string_at(fo, "description", fp + ".description", &out->description));
  out->parameters_json = "{}";
  RETURN_IF_ERROR(get_schema_at(fo, "parameters", fp + ".parameters", &out->parameters_json));
  return get_bool_at(fo, "strict", fp + ".strict", &out->strict);
}

Status parse_tool_choice(const json::object& o, const std::vector<ToolDef>& tools, ToolChoice* out) {
  out->mode = tools.empty() ? ToolChoice::Mode::kNone : ToolChoice::Mode::kAuto;
  const json::value* v = field(o, "tool_choice");
  if (v == nullptr) return ok_status();
  if (v->is_string()) {
    const std::string_view s = v->as_string();
    if (s == "none") {
      out->mode = ToolChoice::Mode::kNone;
    } else if (s == "auto") {
      // "auto" without tools is "none" (as OpenAI's default): nothing to call.
    } else if (s == "required") {
      if (tools.empty()) return invalid_param("tool_choice", "'tool_choice' 'required' needs 'tools'.");
      out->mode = ToolChoice::Mode::kRequired;
    } else {
      return invalid_param("tool_choice", fmt::format("Invalid 'tool_choice': '{}'. Expected 'none', 'auto', "
                                                      "'required' or a named function.",
                                                      s.substr(0, 80)));
    }
    return ok_status();
  }
  if (!v->is_object()) return type_error("tool_choice", "a string or an object", *v);
  const json::object& c = v->as_object();
  std::string type;
  RETURN_IF_ERROR(get_string_at(c, "type", "tool_choice.type", &type, true));
  if (type != "function") {
    return invalid_param("tool_choice.type",
                         fmt::format("Invalid 'tool_choice.type': '{}'. Expected 'function'.", type.substr(0, 80)));
  }
  const json::value* f = field(c, "function");
  if (f == nullptr) return invalid_param("tool_choice.function", "'tool_choice.function' is required.");
  if (!f->is_object()) return type_error("tool_choice.function", "an object", *f);
  RETURN_IF_ERROR(get_string_at(f->as_object(), "name", "tool_choice.function.name", &out->function, true));
  for (const ToolDef& t : tools) {
    if (t.name == out->function) {
      out->mode = ToolChoice::Mode::kFunction;
      return ok_status();
    }
  }
  return invalid_param(
      "tool_choice.function.name",
      fmt::format("'tool_choice' names the function '{}', which is not among 'tools'.", out->function.substr(0, 80)));
}

}  // namespace

Status parse_response_format(const json::object& o, std::optional<ResponseFormat>* out) {
  const json::value* v = field(o, "response_format");
  if (v == nullptr) return ok_status();
  if (!v->is_object()) return type_error("response_format", "an object", *v);
  const json::object& rf = v->as_object();
  std::string type;
  RETURN_IF_ERROR(get_string_at(rf, "type", "response_format.type", &type, true));
  ResponseFormat f;
  if (type == "text") {
    f.type = ResponseFormat::Type::kText;
  } else if (type == "json_object") {
    f.type = ResponseFormat::Type::kJsonObject;
  } else if (type == "json_schema") {
    f.type = ResponseFormat::Type::kJsonSchema;
    RETURN_IF_ERROR(parse_json_schema_format(rf, &f));
  } else {
    return invalid_param("response_format.type",
                         fmt::format("Invalid 'response_format.type': '{}'. Expected 'text', 'json_object' or "
                                     "'json_schema'.",
                                     type.substr(0, 80)));
  }
  *out = std::move(f);
  return ok_status();
}

Status parse_tools(const json::object& o, ChatCompletionRequest* r) {
  if (const json::value* tools = field(o, "tools")) {
    if (!tools->is_array()) return type_error("tools", "an array", *tools);
    const json::array& a = tools->as_array();
    for (std::size_t i = 0; i < a.size(); ++i) {
      ToolDef t;
      RETURN_IF_ERROR(parse_tool(a[i], fmt::format("tools[{}]", i), &t));
      for (const ToolDef& u : r->tools) {
        if (u.name == t.name) {
          return invalid_param(fmt::format("tools[{}].function.name", i),
                               fmt::format("Two tools are named '{}'.", t.name));
        }
      }
      r->tools.push_back(std::move(t));
    }
    if (!a.empty()) r->tools_json = json::serialize(*tools);
  }
  RETURN_IF_ERROR(parse_tool_choice(o, r->tools, &r->tool_choice));
  RETURN_IF_ERROR(get_bool(o, "parallel_tool_calls", &r->parallel_tool_calls));
  std::string reasoning = "separate";
  RETURN_IF_ERROR(get_string(o, "reasoning_format", &reasoning));
  if (reasoning == "separate") {
    r->reasoning_format = ChatCompletionRequest::ReasoningFormat::kSeparate;
  } else if (reasoning == "inline") {
    r->reasoning_format = ChatCompletionRequest::ReasoningFormat::kInline;
  } else {
    return invalid_param("reasoning_format", fmt::format("Invalid 'reasoning_format': '{}'. Expected 'separate' or "
                                                         "'inline'.",
                                                         reasoning.substr(0, 80)));
  }
  return ok_status();
}

}  // namespace parley::api_json
