// One grammar expression per JSON type, with the keywords of that type (see json_schema.h).
#include <algorithm>

#include "base/utf8.h"
#include "grammar/json_schema_impl.h"
#include "grammar/regex.h"

namespace parley {
namespace {

// Reads a non-negative integer keyword; nullopt when absent.
Result<std::optional<std::int64_t>> count_keyword(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return std::optional<std::int64_t>();
  const auto n = json_number(*v);
  if (!n || *n < 0 || *n != static_cast<double>(static_cast<std::int64_t>(*n))) {
    return invalid_argument_error("{} must be a non-negative integer", key);
  }
  return std::optional<std::int64_t>(static_cast<std::int64_t>(*n));
}

// Names that a plain (escape-free) key could spell, as code points.
std::vector<std::u32string> plain_names(const std::vector<std::string>& names) {
  std::vector<std::u32string> out;
  for (const std::string& n : names) {
    std::u32string cps;
    bool plain = utf8_is_valid(n);
    for (std::size_t i = 0; plain && i < n.size();) {
      const char32_t c = utf8_decode(n, &i);
      plain = c >= 0x20 && c != '"' && c != '\\';
      cps.push_back(c);
    }
    if (plain) out.push_back(std::move(cps));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// Plain strings other than the names in [begin, end), which share their first `d` characters.
ExprId not_in(Grammar& g, const std::vector<std::u32string>& names, std::size_t begin, std::size_t end, std::size_t d) {
  std::vector<ExprId> branches;
  if (names[begin].size() != d) branches.push_back(g.empty());  // the prefix itself is not a name
  std::vector<CodepointRange> taken = {{0, 0x1F}, {'"', '"'}, {'\\', '\\'}};
  for (std::size_t i = begin; i < end;) {
    if (names[i].size() <= d) {
      ++i;
      continue;
    }
    const char32_t c = names[i][d];
    std::size_t j = i;
    while (j < end && names[j].size() > d && names[j][d] == c) ++j;
    const CodepointRange one{c, c};
    branches.push_back(g.seq({g.codepoints(std::span(&one, 1)), not_in(g, names, i, j, d + 1)}));
    taken.push_back(one);
    i = j;
  }
  const ExprId other = g.codepoints(taken, /*negate=*/true);
  branches.push_back(g.seq({other, g.star(json_plain_char(g))}));
  return g.alt(std::move(branches));
}

}  // namespace

ExprId JsonGrammarBuilder::Impl::ws() {
  if (opt.whitespace == JsonWhitespace::kCompact) return g.empty();
  // Inline rather than one shared rule: a rule that may end anywhere makes every token after it
  // depend on the caller (uncertain), which costs more, at compile and at run time, than the
  // extra nodes.
  return g.alt({g.empty(), g.byte(' '),
                g.seq({g.byte('\n'), g.repeat(g.bytes(ByteSet::of(' ') | ByteSet::of('\t')), 0, opt.max_indent)})});
}

ExprId JsonGrammarBuilder::Impl::string_literal(std::string_view text) {
  return g.literal(json::serialize(json::string(json::string_view(text.data(), text.size()))));
}

ExprId JsonGrammarBuilder::Impl::plain_string() {
  return cached_rule("string", [&] { return json_string_expr(g, 0, -1); });
}

ExprId JsonGrammarBuilder::Impl::any_value() {
  if (value_rule < 0) {
    value_rule = g.add_rule("value");
    const RuleId object_rule = g.add_rule("object");
    const RuleId array_rule = g.add_rule("array");
    rules.emplace("object", object_rule);
    const ExprId sep = g.seq({g.byte(','), ws()});
    const ExprId member = g.seq({plain_string(), g.byte(':'), ws(), g.ref(value_rule)});
    g.set_rule(
        object_rule,
        g.alt({g.literal("{}"), g.seq({g.byte('{'), ws(), member, g.star(g.seq({sep, member})), ws(), g.byte('}')})}));
    const ExprId element = g.ref(value_rule);
    g.set_rule(array_rule, g.alt({g.literal("[]"), g.seq({g.byte('['), ws(), element, g.star(g.seq({sep, element})),
                                                          ws(), g.byte(']')})}));
    const ExprId number = *json_number_expr(g, std::nullopt, std::nullopt);
    g.set_rule(value_rule, g.alt({g.ref(object_rule), g.ref(array_rule), plain_string(), number, g.literal("true"),
                                  g.literal("false"), g.literal("null")}));
  }
  return g.ref(value_rule);
}

ExprId JsonGrammarBuilder::Impl::any_object() {
  any_value();
  return g.ref(rules.at("object"));
}

Result<ExprId> JsonGrammarBuilder::Impl::typed(unsigned type, const json::object& o, const SchemaWhere& w, int depth) {
  switch (type) {
    case kTypeNull:
      return g.literal("null");
    case kTypeBoolean:
      return g.alt({g.literal("true"), g.literal("false")});
    case kTypeInteger:
      return number(o, w, true);
    case kTypeNumber:
      return number(o, w, false);
    case kTypeString:
      return string(o, w);
    case kTypeArray:
      return array(o, w, depth);
    default:
      return object(o, w, depth);
  }
}

Result<ExprId> JsonGrammarBuilder::Impl::number(const json::object& o, const SchemaWhere& w, bool integer) {
  std::optional<NumberBound> lo, hi;
  const auto bound = [&](const char* key, bool lower, bool exclusive) -> Status {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || v->is_bool()) return ok_status();  // draft-4 booleans are read below
    const auto n = json_number(*v);
    if (!n) return fail(w.at(key), "{} must be a number", key);
    bool excl = exclusive;
    if (!exclusive) {
      const json::value* flag = o.if_contains(lower ? "exclusiveMinimum" : "exclusiveMaximum");
      excl = flag != nullptr && flag->is_bool() && flag->get_bool();
    }
    std::optional<NumberBound>& b = lower ? lo : hi;
    const bool tighter =
        !b || (lower ? (*n > b->value || (*n == b->value && excl)) : (*n < b->value || (*n == b->value && excl)));
    if (tighter) b = NumberBound{*n, excl};
    return ok_status();
  };
  RETURN_IF_ERROR(bound("minimum", true, false));
  RETURN_IF_ERROR(bound("exclusiveMinimum", true, true));
  RETURN_IF_ERROR(bound("maximum", false, false));
  RETURN_IF_ERROR(bound("exclusiveMaximum", false, true));
  Result<ExprId> e = integer ? json_integer_expr(g, lo, hi) : json_number_expr(g, lo, hi);
  if (!e.ok()) return fail(w, "{}", e.status().message());
  return e;
}

Result<ExprId> JsonGrammarBuilder::Impl::string(const json::object& o, const SchemaWhere& w) {
  Result<std::optional<std::int64_t>> min_len = count_keyword(o, "minLength");
  if (!min_len.ok()) return fail(w.at("minLength"), "{}", min_len.status().message());
  Result<std::optional<std::int64_t>> max_len = count_keyword(o, "maxLength");
  if (!max_len.ok()) return fail(w.at("maxLength"), "{}", max_len.status().message());
  const json::value* pattern = o.if_contains("pattern");
  const json::value* format = o.if_contains("format");
  if (pattern != nullptr && !pattern->is_string()) return fail(w.at("pattern"), "pattern must be a string");
  if (format != nullptr && !format->is_string()) return fail(w.at("format"), "format must be a string");
  std::optional<std::string> regex;
  std::string key;
  if (pattern != nullptr) {
    if (format != nullptr && opt.strict) return fail(w.at("format"), "format together with pattern is not supported");
    regex = std::string(pattern->get_string());
    key = "pattern:" + *regex;
  } else if (format != nullptr) {
    regex = json_format_regex(format->get_string());
    if (!regex) {
      if (opt.strict) return fail(w.at("format"), "unsupported format '{}'", std::string_view(format->get_string()));
    } else {
      key = "format:" + std::string(format->get_string());
    }
  }
  if (regex) {
    if ((*min_len || *max_len) && opt.strict) {
      return fail(w.at(*max_len ? "maxLength" : "minLength"),
                  "minLength/maxLength together with pattern or format are not supported");
    }
    if (const auto it = rules.find(key); it != rules.end()) return g.ref(it->second);
    RegexOptions ro;
    ro.json_string = true;
    Result<ExprId> body = regex_expr(g, *regex, ro, lim);
    if (!body.ok()) return fail(w.at(pattern != nullptr ? "pattern" : "format"), "{}", body.status().message());
    const RuleId r = g.add_rule(key);
    rules.emplace(key, r);
    g.set_rule(r, g.seq({g.byte('"'), *body, g.byte('"')}));
    return g.ref(r);
  }
  std::int64_t lo = min_len->value_or(0), hi = max_len->value_or(-1);
  if (hi >= 0 && lo > hi) return fail(w, "minLength is larger than maxLength");
  if (lo > lim.max_repeat || hi > lim.max_repeat) {
    if (opt.strict || lo > lim.max_repeat) {
      return fail(w.at(lo > lim.max_repeat ? "minLength" : "maxLength"), "string lengths above {} are not supported",
                  lim.max_repeat);
    }
    hi = -1;  // not enforced (documented)
  }
  if (lo == 0 && hi < 0) return plain_string();
  return cached_rule(fmt::format("string{{{},{}}}", lo, hi),
                     [&] { return json_string_expr(g, static_cast<std::int32_t>(lo), static_cast<std::int32_t>(hi)); });
}

Result<ExprId> JsonGrammarBuilder::Impl::array(const json::object& o, const SchemaWhere& w, int depth) {
  Result<std::optional<std::int64_t>> min_items = count_keyword(o, "minItems");
  if (!min_items.ok()) return fail(w.at("minItems"), "{}", min_items.status().message());
  Result<std::optional<std::int64_t>> max_items = count_keyword(o, "maxItems");
  if (!max_items.ok()) return fail(w.at("maxItems"), "{}", max_items.status().message());
  std::vector<ExprId> prefix;
  const json::value* rest = nullptr;  // schema of the items after the prefix (nullptr: any)
  SchemaWhere rest_where = w.at("items");
  const json::value* items = o.if_contains("items");
  const json::value* prefix_items = o.if_contains("prefixItems");
  const json::value* tuple =
      prefix_items != nullptr ? prefix_items : (items != nullptr && items->is_array() ? items : nullptr);
  if (tuple != nullptr) {
    if (!tuple->is_array()) return fail(w.at("prefixItems"), "prefixItems must be an array");
    const SchemaWhere tw = w.at(prefix_items != nullptr ? "prefixItems" : "items");
    for (std::size_t i = 0; i < tuple->get_array().size(); ++i) {
      ASSIGN_OR_RETURN(const ExprId e, value(tuple->get_array()[i], tw.at(std::to_string(i)), depth + 1));
      prefix.push_back(e);
    }
    rest = prefix_items != nullptr ? items : o.if_contains("additionalItems");
    rest_where = w.at(prefix_items != nullptr ? "items" : "additionalItems");
  } else {
    rest = items;
  }
  const auto n_prefix = static_cast<std::int64_t>(prefix.size());
  const bool rest_allowed = rest == nullptr || !rest->is_bool() || rest->get_bool();
  std::int64_t lo = min_items->value_or(0);
  std::int64_t hi = max_items->value_or(-1);
  if (!rest_allowed) hi = hi < 0 ? n_prefix : std::min(hi, n_prefix);
  if (hi >= 0 && lo > hi) return fail(w, "no array satisfies minItems/maxItems and the items allowed");
  if (lo > lim.max_repeat) return fail(w.at("minItems"), "minItems above {} is not supported", lim.max_repeat);
  if (hi > lim.max_repeat) {
    if (opt.strict) return fail(w.at("maxItems"), "maxItems above {} is not supported", lim.max_repeat);
    hi = -1;
  }
  ExprId item = -1;
  if (hi < 0 || hi > n_prefix) {
    if (rest == nullptr || rest->is_bool()) {
      item = any_value();
    } else {
      ASSIGN_OR_RETURN(item, value(*rest, rest_where, depth + 1));
    }
  }
  const ExprId sep = g.seq({g.byte(','), ws()});
  // Elements from index i on, i of them already written; at least `need` in all.
  const std::int64_t need = std::max<std::int64_t>(lo, 1);
  ExprId tail;
  {
    const std::int64_t t_lo = std::max<std::int64_t>(0, need - n_prefix);
    const std::int64_t t_hi = hi < 0 ? -1 : hi - n_prefix;
    const auto bound = [](std::int64_t v) { return v < 0 ? kUnbounded : static_cast<std::int32_t>(v); };
    if (t_hi == 0) {
      tail = g.empty();
    } else if (n_prefix > 0) {
      tail = g.repeat(g.seq({sep, item}), static_cast<std::int32_t>(t_lo), bound(t_hi));
    } else {
      const ExprId more = g.repeat(g.seq({sep, item}), static_cast<std::int32_t>(std::max<std::int64_t>(t_lo - 1, 0)),
                                   t_hi < 0 ? kUnbounded : static_cast<std::int32_t>(t_hi - 1));
      tail = t_lo > 0 ? g.seq({item, more}) : g.optional(g.seq({item, more}));
    }
  }
  ExprId elems = tail;
  for (std::int64_t i = n_prefix - 1; i >= 0; --i) {
    const ExprId present = i > 0 ? g.seq({sep, prefix[static_cast<std::size_t>(i)], elems})
                                 : g.seq({prefix[static_cast<std::size_t>(i)], elems});
    elems = i < need ? present : g.optional(present);
  }
  std::vector<ExprId> forms;
  if (lo == 0) forms.push_back(g.literal("[]"));
  if (hi != 0) forms.push_back(g.seq({g.byte('['), ws(), elems, ws(), g.byte(']')}));
  return g.alt(std::move(forms));
}

Result<ExprId> JsonGrammarBuilder::Impl::object(const json::object& o, const SchemaWhere& w, int depth) {
  const json::value* props = o.if_contains("properties");
  if (props != nullptr && !props->is_object()) return fail(w.at("properties"), "properties must be an object");
  std::vector<std::string> required;
  if (const json::value* r = o.if_contains("required")) {
    if (!r->is_array()) return fail(w.at("required"), "required must be an array");
    for (const json::value& name : r->get_array()) {
      if (!name.is_string()) return fail(w.at("required"), "required must list strings");
      required.emplace_back(name.get_string());
    }
  }
  const json::value* additional = o.if_contains("additionalProperties");
  const bool extras = additional == nullptr ? props == nullptr || props->get_object().empty()
                                            : !(additional->is_bool() && !additional->get_bool());
  const auto is_required = [&](std::string_view n) {
    return std::find(required.begin(), required.end(), n) != required.end();
  };
  std::vector<SeparatedItem> items;
  std::vector<std::string> names;
  const auto member = [&](std::string_view name, ExprId v) {
    return g.seq({string_literal(name), g.byte(':'), ws(), v});
  };
  if (props != nullptr) {
    for (const auto& kv : props->get_object()) {
      const std::string name(kv.key());
      ASSIGN_OR_RETURN(const ExprId v, value(kv.value(), w.at("properties").at(name), depth + 1));
      items.push_back({member(name, v), is_required(name) ? 1 : 0, 1});
      names.push_back(name);
    }
  }
  ExprId extra_value = -1;
  if (extras) {
    if (additional == nullptr || additional->is_bool()) {
      extra_value = any_value();
    } else {
      ASSIGN_OR_RETURN(extra_value, value(*additional, w.at("additionalProperties"), depth + 1));
    }
  }
  for (const std::string& name : required) {
    if (std::find(names.begin(), names.end(), name) != names.end()) continue;
    if (!extras) return fail(w.at("required"), "required property '{}' is not allowed by additionalProperties", name);
    items.push_back({member(name, extra_value), 1, 1});
    names.push_back(name);
  }
  if (extras) {
    const std::vector<std::u32string> taken = plain_names(names);
    const ExprId key_body = taken.empty() ? g.star(json_plain_char(g)) : not_in(g, taken, 0, taken.size(), 0);
    const ExprId key = g.seq({g.byte('"'), key_body, g.byte('"')});
    items.push_back({g.seq({key, g.byte(':'), ws(), extra_value}), 0, kUnbounded});
  }
  RETURN_IF_ERROR(check_size(w));
  const bool can_be_empty = std::all_of(items.begin(), items.end(), [](const SeparatedItem& i) { return i.min == 0; });
  std::vector<ExprId> forms;
  if (can_be_empty) forms.push_back(g.literal("{}"));
  if (!items.empty()) {
    const ExprId body = g.separated(std::move(items), g.seq({g.byte(','), ws()}), /*nonempty=*/true);
    forms.push_back(g.seq({g.byte('{'), ws(), body, ws(), g.byte('}')}));
  }
  return g.alt(std::move(forms));
}

}  // namespace parley
