#include <algorithm>
#include <cmath>
#include <set>

#include "grammar/json_schema_impl.h"

namespace parley {
namespace {

// Ignored everywhere: they describe, they do not constrain.
const std::set<std::string_view> kAnnotations = {
    "title",         "description", "default",      "examples",        "example",          "$schema",    "$id",
    "$comment",      "deprecated",  "readOnly",     "writeOnly",       "$anchor",          "$defs",      "definitions",
    "discriminator", "xml",         "externalDocs", "contentEncoding", "contentMediaType", "$vocabulary"};
const std::set<std::string_view> kSupported = {"type",
                                               "properties",
                                               "required",
                                               "additionalProperties",
                                               "enum",
                                               "const",
                                               "anyOf",
                                               "oneOf",
                                               "allOf",
                                               "$ref",
                                               "items",
                                               "prefixItems",
                                               "additionalItems",
                                               "minItems",
                                               "maxItems",
                                               "minLength",
                                               "maxLength",
                                               "pattern",
                                               "format",
                                               "minimum",
                                               "maximum",
                                               "exclusiveMinimum",
                                               "exclusiveMaximum",
                                               "nullable"};
const std::set<std::string_view> kUnsupported = {"not",
                                                 "if",
                                                 "then",
                                                 "else",
                                                 "dependentRequired",
                                                 "dependentSchemas",
                                                 "dependencies",
                                                 "patternProperties",
                                                 "propertyNames",
                                                 "minProperties",
                                                 "maxProperties",
                                                 "uniqueItems",
                                                 "contains",
                                                 "minContains",
                                                 "maxContains",
                                                 "multipleOf",
                                                 "unevaluatedProperties",
                                                 "unevaluatedItems",
                                                 "$dynamicRef",
                                                 "$dynamicAnchor",
                                                 "$recursiveRef",
                                                 "$recursiveAnchor"};

bool has_constraints(const json::object& o) {
  return std::any_of(o.begin(), o.end(), [](const json::key_value_pair& kv) {
    return kSupported.count(kv.key()) > 0 || kUnsupported.count(kv.key()) > 0;
  });
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto hex = [](char c) {
      return c >= '0' && c <= '9'   ? c - '0'
             : c >= 'a' && c <= 'f' ? c - 'a' + 10
             : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                    : -1;
    };
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

unsigned type_bit(std::string_view name) {
  if (name == "null") return kTypeNull;
  if (name == "boolean") return kTypeBoolean;
  if (name == "integer") return kTypeInteger;
  if (name == "number") return kTypeNumber;
  if (name == "string") return kTypeString;
  if (name == "array") return kTypeArray;
  if (name == "object") return kTypeObject;
  return 0;
}

json::array type_names(unsigned types) {
  json::array out;
  for (const char* n : {"null", "boolean", "integer", "number", "string", "array", "object"}) {
    if (types & type_bit(n)) out.emplace_back(n);
  }
  return out;
}

bool value_has_type(const json::value& v, unsigned types) {
  switch (v.kind()) {
    case json::kind::null:
      return types & kTypeNull;
    case json::kind::bool_:
      return types & kTypeBoolean;
    case json::kind::int64:
    case json::kind::uint64:
      return types & (kTypeInteger | kTypeNumber);
    case json::kind::double_: {
      const double d = v.get_double();
      return (types & kTypeNumber) || ((types & kTypeInteger) && d == static_cast<double>(static_cast<long long>(d)));
    }
    case json::kind::string:
      return types & kTypeString;
    case json::kind::array:
      return types & kTypeArray;
    case json::kind::object:
      return types & kTypeObject;
  }
  return false;
}

}  // namespace

std::optional<double> json_number(const json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  if (v.is_double()) return v.get_double();
  return std::nullopt;
}

SchemaWhere SchemaWhere::at(std::string_view key) const {
  std::string escaped;
  for (const char c : key) {
    if (c == '~') {
      escaped += "~0";
    } else if (c == '/') {
      escaped += "~1";
    } else {
      escaped += c;
    }
  }
  return {root, path + "/" + escaped};
}

Status JsonGrammarBuilder::Impl::check_size(const SchemaWhere& w) const {
  if (g.n_exprs() > lim.max_exprs)
    return fail(w, "the schema is too large (more than {} grammar expressions)", lim.max_exprs);
  return ok_status();
}

Result<ExprId> JsonGrammarBuilder::Impl::document(std::string_view text) {
  if (static_cast<std::int64_t>(text.size()) > lim.max_source_bytes) {
    return invalid_argument_error("the schema is larger than {} bytes", lim.max_source_bytes).with_detail("param", "/");
  }
  json::parse_options po;
  po.max_depth = static_cast<std::size_t>(lim.max_schema_depth) * 2 + 8;
  std::error_code ec;
  json::value v = json::parse(json::string_view(text.data(), text.size()), ec, json::storage_ptr(), po);
  if (ec) return invalid_argument_error("the schema is not valid JSON: {}", ec.message()).with_detail("param", "/");
  docs.push_back(std::move(v));
  const json::value& root = docs.back();
  return value(root, SchemaWhere{&root, ""}, 0);
}

Status JsonGrammarBuilder::Impl::check_keywords(const json::object& o, const SchemaWhere& w) const {
  if (!opt.strict) return ok_status();
  for (const auto& kv : o) {
    const std::string_view k = kv.key();
    if (k == "multipleOf") {
      const auto m = json_number(kv.value());
      const auto* t = o.if_contains("type");
      if (m && *m == 1 && t != nullptr && t->is_string() && t->get_string() == "integer") continue;
    }
    if (kUnsupported.count(k) > 0) return fail(w.at(k), "unsupported JSON Schema keyword '{}'", k);
  }
  return ok_status();
}

Result<const json::value*> JsonGrammarBuilder::Impl::resolve(std::string_view ref, const SchemaWhere& w) const {
  if (ref.empty() || ref[0] != '#') {
    return fail(w.at("$ref"), "only references within the schema (\"#/...\") are supported, got '{}'", ref);
  }
  const std::string pointer = percent_decode(ref.substr(1));
  std::error_code ec;
  const json::value* target = pointer.empty() ? w.root : w.root->find_pointer(pointer, ec);
  if (target == nullptr) return fail(w.at("$ref"), "$ref '{}' does not resolve", ref);
  return target;
}

Result<ExprId> JsonGrammarBuilder::Impl::ref(std::string_view ref_text, const SchemaWhere& w, int depth) {
  ASSIGN_OR_RETURN(const json::value* target, resolve(ref_text, w));
  const std::string pointer = percent_decode(ref_text.substr(1));
  const auto key = std::make_pair(w.root, pointer);
  if (const auto it = refs.find(key); it != refs.end()) return g.ref(it->second);
  if (ref_depth >= lim.max_ref_depth) return fail(w.at("$ref"), "$ref chains deeper than {}", lim.max_ref_depth);
  const RuleId rule = g.add_rule("ref" + pointer);
  refs.emplace(key, rule);
  ++ref_depth;
  Result<ExprId> body = value(*target, SchemaWhere{w.root, pointer}, depth + 1);
  --ref_depth;
  if (!body.ok()) return body.status();
  g.set_rule(rule, *body);
  return g.ref(rule);
}

Result<json::object> JsonGrammarBuilder::Impl::inline_refs(const json::object& o, const SchemaWhere& w, int depth) {
  if (depth > lim.max_ref_depth) return fail(w, "$ref chains deeper than {}", lim.max_ref_depth);
  const json::value* r = o.if_contains("$ref");
  if (r == nullptr) return o;
  if (!r->is_string()) return fail(w.at("$ref"), "$ref must be a string");
  ASSIGN_OR_RETURN(const json::value* target, resolve(r->get_string(), w));
  json::object rest = o;
  rest.erase("$ref");
  if (target->is_bool() && target->get_bool()) return rest;
  if (!target->is_object()) return fail(w.at("$ref"), "$ref must point to a schema object");
  ASSIGN_OR_RETURN(json::object resolved, inline_refs(target->get_object(), w, depth + 1));
  return merge(std::move(resolved), rest, w, depth + 1);
}

Result<json::object> JsonGrammarBuilder::Impl::merge(json::object into, const json::object& from_raw,
                                                     const SchemaWhere& w, int depth) {
  ASSIGN_OR_RETURN(const json::object from, inline_refs(from_raw, w, depth + 1));
  // additionalProperties applies to the properties its own schema does not declare: remembered
  // from both sides before the merge, applied to the merged properties after it.
  const auto declared = [](const json::object& o) {
    std::set<std::string> names;
    if (const json::value* p = o.if_contains("properties"); p != nullptr && p->is_object()) {
      for (const auto& kv : p->get_object()) names.emplace(kv.key());
    }
    return names;
  };
  const auto additional = [](const json::object& o) {
    const json::value* a = o.if_contains("additionalProperties");
    return a == nullptr || (a->is_bool() && a->get_bool()) ? json::value() : *a;
  };
  const std::set<std::string> into_names = declared(into), from_names = declared(from);
  const json::value into_extra = additional(into), from_extra = additional(from);
  for (const auto& kv : from) {
    const std::string_view k = kv.key();
    const json::value& v = kv.value();
    json::value* mine = into.if_contains(k);
    if (kAnnotations.count(k) > 0) continue;
    if (mine == nullptr) {
      into[k] = v;
      continue;
    }
    if (k == "type") {
      ASSIGN_OR_RETURN(const unsigned a, types_of(json::object{{"type", *mine}}, w));
      ASSIGN_OR_RETURN(const unsigned b, types_of(json::object{{"type", v}}, w));
      unsigned both = a & b;
      if (((a & kTypeNumber) && (b & kTypeInteger)) || ((b & kTypeNumber) && (a & kTypeInteger))) both |= kTypeInteger;
      if (both == 0) return fail(w.at("allOf"), "the merged schemas have no type in common");
      *mine = type_names(both);
    } else if (k == "required" && mine->is_array() && v.is_array()) {
      for (const json::value& name : v.get_array()) {
        auto& arr = mine->get_array();
        if (std::find(arr.begin(), arr.end(), name) == arr.end()) arr.push_back(name);
      }
    } else if ((k == "properties" || k == "$defs" || k == "definitions") && mine->is_object() && v.is_object()) {
      for (const auto& p : v.get_object()) {
        json::value* existing = mine->get_object().if_contains(p.key());
        if (existing != nullptr && existing->is_object() && p.value().is_object()) {
          ASSIGN_OR_RETURN(json::object m, merge(existing->get_object(), p.value().get_object(), w, depth + 1));
          *existing = std::move(m);
        } else if (existing == nullptr || (existing->is_bool() && existing->get_bool())) {
          mine->get_object()[p.key()] = p.value();
        }
      }
    } else if ((k == "items" || k == "additionalProperties") && mine->is_object() && v.is_object()) {
      ASSIGN_OR_RETURN(json::object m, merge(mine->get_object(), v.get_object(), w, depth + 1));
      *mine = std::move(m);
    } else if (k == "additionalProperties" && (v.is_bool() || mine->is_bool())) {
      if ((v.is_bool() && !v.get_bool()) || (mine->is_bool() && !mine->get_bool())) *mine = false;
      if (mine->is_bool() && mine->get_bool()) *mine = v;
    } else if ((k == "minimum" || k == "exclusiveMinimum" || k == "minLength" || k == "minItems") && json_number(v) &&
               json_number(*mine)) {
      if (*json_number(v) > *json_number(*mine)) *mine = v;
    } else if ((k == "maximum" || k == "exclusiveMaximum" || k == "maxLength" || k == "maxItems") && json_number(v) &&
               json_number(*mine)) {
      if (*json_number(v) < *json_number(*mine)) *mine = v;
    } else if (k == "enum" && mine->is_array() && v.is_array()) {
      json::array kept;
      for (const json::value& x : mine->get_array()) {
        if (std::find(v.get_array().begin(), v.get_array().end(), x) != v.get_array().end()) kept.push_back(x);
      }
      if (kept.empty()) return fail(w.at("allOf"), "the merged enums have no value in common");
      *mine = std::move(kept);
    } else if (*mine != v) {
      if (opt.strict) return fail(w.at("allOf"), "cannot merge two different '{}' (allOf)", k);
    }
  }
  if (json::value* props = into.if_contains("properties"); props != nullptr && props->is_object()) {
    std::vector<std::string> dropped;
    for (auto& kv : props->get_object()) {
      const std::string name(kv.key());
      for (const auto& [names, extra] : {std::pair{&into_names, &into_extra}, std::pair{&from_names, &from_extra}}) {
        if (names->count(name) > 0 || extra->is_null()) continue;
        if (extra->is_bool()) {
          dropped.push_back(name);
        } else if (extra->is_object() && kv.value().is_object()) {
          ASSIGN_OR_RETURN(json::object m, merge(kv.value().get_object(), extra->get_object(), w, depth + 1));
          kv.value() = std::move(m);
        }
      }
    }
    for (const std::string& name : dropped) {
      props->get_object().erase(name);
      if (const json::value* req = into.if_contains("required"); req != nullptr && req->is_array()) {
        const auto& arr = req->get_array();
        if (std::find(arr.begin(), arr.end(), json::value(name)) != arr.end()) {
          return fail(w.at("allOf"), "required property '{}' is not allowed by an additionalProperties of allOf", name);
        }
      }
    }
  }
  return into;
}

Result<unsigned> JsonGrammarBuilder::Impl::types_of(const json::object& o, const SchemaWhere& w) const {
  unsigned types = 0;
  if (const json::value* t = o.if_contains("type")) {
    const auto add = [&](const json::value& name) -> Status {
      const unsigned bit = name.is_string() ? type_bit(name.get_string()) : 0;
      if (bit == 0) return fail(w.at("type"), "unknown type {}", json::serialize(name));
      types |= bit;
      return ok_status();
    };
    if (t->is_array()) {
      for (const json::value& name : t->get_array()) RETURN_IF_ERROR(add(name));
    } else {
      RETURN_IF_ERROR(add(*t));
    }
  } else {
    for (const char* k : {"properties", "additionalProperties", "required"}) types |= o.contains(k) ? kTypeObject : 0;
    for (const char* k : {"items", "prefixItems", "minItems", "maxItems", "additionalItems"}) {
      types |= o.contains(k) ? kTypeArray : 0;
    }
    for (const char* k : {"minLength", "maxLength", "pattern", "format"}) types |= o.contains(k) ? kTypeString : 0;
    for (const char* k : {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}) {
      types |= o.contains(k) ? kTypeNumber : 0;
    }
    if (types == 0) types = kTypeAny;
  }
  if (const json::value* n = o.if_contains("nullable"); n != nullptr && n->is_bool() && n->get_bool())
    types |= kTypeNull;
  if (types & kTypeNumber) types &= ~static_cast<unsigned>(kTypeInteger);  // numbers include integers
  return types;
}

// Compact JSON text of a value, numbers in their shortest form (1.5, not 1.5E0).
static std::string compact_json(const json::value& v) {
  switch (v.kind()) {
    case json::kind::double_: {
      const double d = v.get_double();
      if (d == static_cast<double>(static_cast<long long>(d)) && std::abs(d) < 1e15) {
        return std::to_string(static_cast<long long>(d));
      }
      return fmt::format("{}", d);
    }
    case json::kind::array: {
      std::string out = "[";
      for (const json::value& x : v.get_array()) out += (out.size() > 1 ? "," : "") + compact_json(x);
      return out + "]";
    }
    case json::kind::object: {
      std::string out = "{";
      for (const auto& kv : v.get_object()) {
        out += (out.size() > 1 ? "," : "") + json::serialize(kv.key()) + ":" + compact_json(kv.value());
      }
      return out + "}";
    }
    default:
      return json::serialize(v);
  }
}

Result<ExprId> JsonGrammarBuilder::Impl::literal_of(const json::value& v) {
  return g.literal(compact_json(v));
}

Result<ExprId> JsonGrammarBuilder::Impl::one_of_values(const json::array& values, unsigned types,
                                                       const SchemaWhere& w) {
  std::vector<ExprId> branches;
  for (const json::value& v : values) {
    if (value_has_type(v, types)) {
      ASSIGN_OR_RETURN(const ExprId e, literal_of(v));
      branches.push_back(e);
    }
  }
  if (branches.empty()) return fail(w.at("enum"), "no value of the enum has an allowed type");
  return g.alt(std::move(branches));
}

Result<ExprId> JsonGrammarBuilder::Impl::value(const json::value& schema, const SchemaWhere& w, int depth) {
  if (depth > lim.max_schema_depth) return fail(w, "the schema is nested deeper than {}", lim.max_schema_depth);
  RETURN_IF_ERROR(check_size(w));
  if (schema.is_bool()) {
    if (schema.get_bool()) return any_value();
    return fail(w, "the schema false matches nothing");
  }
  if (!schema.is_object()) return fail(w, "a schema must be an object or a boolean");
  const json::object& o = schema.get_object();
  RETURN_IF_ERROR(check_keywords(o, w));
  if (const json::value* r = o.if_contains("$ref")) {
    if (!r->is_string()) return fail(w.at("$ref"), "$ref must be a string");
    json::object rest = o;
    rest.erase("$ref");
    if (!has_constraints(rest)) return ref(r->get_string(), w, depth);
    ASSIGN_OR_RETURN(json::object merged, inline_refs(o, w, depth));
    docs.emplace_back(std::move(merged));
    return value(docs.back(), w, depth + 1);
  }
  if (const json::value* all = o.if_contains("allOf")) {
    if (!all->is_array()) return fail(w.at("allOf"), "allOf must be an array");
    json::object merged = o;
    merged.erase("allOf");
    for (const json::value& member : all->get_array()) {
      if (member.is_bool()) {
        if (!member.get_bool()) return fail(w.at("allOf"), "allOf contains false");
        continue;
      }
      if (!member.is_object()) return fail(w.at("allOf"), "allOf members must be schemas");
      ASSIGN_OR_RETURN(merged, merge(std::move(merged), member.get_object(), w, depth));
    }
    docs.emplace_back(std::move(merged));
    return value(docs.back(), w, depth + 1);
  }
  for (const char* key : {"anyOf", "oneOf"}) {
    const json::value* any = o.if_contains(key);
    if (any == nullptr) continue;
    if (!any->is_array() || any->get_array().empty()) return fail(w.at(key), "{} must be a non-empty array", key);
    json::object rest = o;
    rest.erase(key);
    const bool combine = has_constraints(rest);
    if (combine && rest.contains(key[0] == 'a' ? "oneOf" : "anyOf") && opt.strict) {
      return fail(w.at(key), "anyOf together with oneOf is not supported");
    }
    std::vector<ExprId> branches;
    for (std::size_t i = 0; i < any->get_array().size(); ++i) {
      const json::value& b = any->get_array()[i];
      const SchemaWhere bw = w.at(key).at(std::to_string(i));
      if (combine && b.is_object()) {
        ASSIGN_OR_RETURN(json::object m, merge(rest, b.get_object(), bw, depth));
        m.erase(key);
        docs.emplace_back(std::move(m));
        ASSIGN_OR_RETURN(const ExprId e, value(docs.back(), bw, depth + 1));
        branches.push_back(e);
      } else {
        ASSIGN_OR_RETURN(const ExprId e, value(b, bw, depth + 1));
        branches.push_back(e);
      }
    }
    return g.alt(std::move(branches));
  }
  if (const json::value* c = o.if_contains("const")) return literal_of(*c);
  ASSIGN_OR_RETURN(const unsigned types, types_of(o, w));
  if (const json::value* e = o.if_contains("enum")) {
    if (!e->is_array() || e->get_array().empty()) return fail(w.at("enum"), "enum must be a non-empty array");
    return one_of_values(e->get_array(), types, w);
  }
  std::vector<ExprId> branches;
  for (unsigned bit = 1; bit <= kTypeObject; bit <<= 1) {
    if (!(types & bit)) continue;
    ASSIGN_OR_RETURN(const ExprId e, typed(bit, o, w, depth));
    branches.push_back(e);
  }
  return g.alt(std::move(branches));
}

JsonGrammarBuilder::JsonGrammarBuilder(Grammar& grammar, const JsonSchemaOptions& options, const GrammarLimits& limits)
    : impl_(std::make_unique<Impl>(grammar, options, limits)) {}
JsonGrammarBuilder::~JsonGrammarBuilder() = default;

Result<ExprId> JsonGrammarBuilder::schema(std::string_view schema_json) {
  return impl_->document(schema_json);
}
ExprId JsonGrammarBuilder::any_value() {
  return impl_->any_value();
}
ExprId JsonGrammarBuilder::any_object() {
  return impl_->any_object();
}
ExprId JsonGrammarBuilder::ws() {
  return impl_->ws();
}
ExprId JsonGrammarBuilder::string_literal(std::string_view text) {
  return impl_->string_literal(text);
}

Result<Grammar> json_schema_grammar(std::string_view schema_json, const JsonSchemaOptions& options,
                                    const GrammarLimits& limits) {
  Grammar g;
  const RuleId root = g.add_rule("root");
  JsonGrammarBuilder builder(g, options, limits);
  ASSIGN_OR_RETURN(const ExprId e, builder.schema(schema_json));
  g.set_rule(root, e);
  g.set_root(root);
  return g;
}

Grammar json_object_grammar(const JsonSchemaOptions& options) {
  Grammar g;
  const RuleId root = g.add_rule("root");
  JsonGrammarBuilder builder(g, options, {});
  g.set_rule(root, builder.any_object());
  g.set_root(root);
  return g;
}

}  // namespace parley
