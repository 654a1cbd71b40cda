// Jinja2's filters over sequences. Those that are generators in Jinja2 (map, select, reject,
// selectattr, rejectattr, unique, items, batch, reverse of a list) return iterator values, so
// that |length or |tojson on them fails as it does there.
#include <algorithm>
#include <numeric>
#include <unordered_set>

#include "chat/builtins.h"
#include "chat/builtins_internal.h"
#include "chat/py_string.h"

namespace parley::chat::detail {

Result<std::int64_t> int_arg(const Value* v, std::int64_t fallback, std::string_view what) {
  if (v == nullptr || v->is_none()) return fallback;
  if (!v->is_integral()) return type_error(fmt::format("{} must be an integer, not {}", what, v->type_name()));
  return v->as_int();
}

Result<std::optional<std::string>> str_arg(const Value* v, std::string_view what) {
  if (v == nullptr || v->is_none()) return std::optional<std::string>();
  if (!v->is_string()) return type_error(fmt::format("{} must be a string, not {}", what, v->type_name()));
  return std::optional<std::string>(v->str());
}

bool bool_arg(const Value* v, bool fallback) { return v == nullptr ? fallback : v->truthy(); }

Result<Value> get_path(Interpreter& in, Value item, const Value& path, const Value* default_value) {
  if (path.is_string()) {
    std::string_view rest = path.str();
    while (true) {
      const std::size_t dot = rest.find('.');
      const std::string_view part = rest.substr(0, dot);
      const bool digits = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
      Value key = Value(std::string(part));
      if (digits && part.size() < 18) key = Value(static_cast<std::int64_t>(std::stoll(std::string(part))));
      ASSIGN_OR_RETURN(item, in.getitem(item, key));
      if (dot == std::string_view::npos) break;
      rest.remove_prefix(dot + 1);
    }
  } else {
    ASSIGN_OR_RETURN(item, in.getitem(item, path));
  }
  if (default_value != nullptr && !default_value->is_none() && item.is_undefined()) return *default_value;
  return item;
}

Value ignore_case(const Value& v) { return v.is_string() ? Value(py::lower(v.str())) : v; }

Result<std::int64_t> python_len(const Value& v) {
  switch (v.kind()) {
    case ValueKind::kUndefined: return std::int64_t{0};
    case ValueKind::kString: return static_cast<std::int64_t>(py::length(v.str()));
    case ValueKind::kList:
      if (!v.is_iterator()) return static_cast<std::int64_t>(v.items().size());
      break;
    case ValueKind::kDict: return static_cast<std::int64_t>(v.dict().size());
    case ValueKind::kObject:
      if (const auto* loop = v.object_as<LoopObject>()) return loop->get_attr("length").as_int();
      break;
    default: break;
  }
  return type_error(fmt::format("object of type '{}' has no len()", v.type_name()));
}

Result<Value> filter_length(Interpreter& /*in*/, const Value& input, const CallArgs& args) {
  PARLEY_BIND_ARGS(b, "length", args);
  ASSIGN_OR_RETURN(std::int64_t n, python_len(input));
  return Value(n);
}

Result<Value> filter_map(Interpreter& in, const Value& input, const CallArgs& args) {
  // Jinja2 maps and selects only over a true value: None | map(...) is empty.
  if (!input.truthy()) return Value::iterator({});
  ASSIGN_OR_RETURN(Value list, in.iterate(input));
  std::vector<Value> out;
  out.reserve(list.items().size());
  if (args.positional.empty()) {
    const Value* attribute = nullptr;
    const Value* default_value = nullptr;
    for (const auto& [k, v] : args.keyword) {
      if (k == "attribute") {
        attribute = &v;
      } else if (k == "default") {
        default_value = &v;
      } else {
        return type_error(fmt::format("map: unexpected keyword argument '{}'", k));
      }
    }
    if (attribute == nullptr) return type_error("map requires a filter argument");
    for (const Value& item : list.items()) {
      ASSIGN_OR_RETURN(Value v, get_path(in, item, *attribute, default_value));
      out.push_back(std::move(v));
    }
    return Value::iterator(std::move(out));
  }
  if (!args.positional[0].is_string()) return type_error("map: the filter name must be a string");
  const std::string name = args.positional[0].str();
  CallArgs rest;
  rest.positional.assign(args.positional.begin() + 1, args.positional.end());
  rest.keyword = args.keyword;
  for (const Value& item : list.items()) {
    RETURN_IF_ERROR(in.tick());
    ASSIGN_OR_RETURN(Value v, in.apply_filter(name, item, rest));
    out.push_back(std::move(v));
  }
  return Value::iterator(std::move(out));
}

namespace {
Result<Value> select_or_reject(Interpreter& in, const Value& input, const CallArgs& args, bool lookup_attr,
                               bool keep_when) {
  if (!input.truthy()) return Value::iterator({});
  ASSIGN_OR_RETURN(Value list, in.iterate(input));
  std::size_t off = 0;
  const Value* attr = nullptr;
  if (lookup_attr) {
    if (args.positional.empty()) return type_error("missing parameter for attribute name");
    attr = &args.positional[0];
    off = 1;
  }
  std::optional<std::string> test;
  CallArgs rest;
  if (args.positional.size() > off) {
    if (!args.positional[off].is_string()) return type_error("the test name must be a string");
    test = args.positional[off].str();
    rest.positional.assign(args.positional.begin() + static_cast<std::ptrdiff_t>(off) + 1, args.positional.end());
    rest.keyword = args.keyword;
  }
  std::vector<Value> out;
  for (const Value& item : list.items()) {
    RETURN_IF_ERROR(in.tick());
    Value probe = item;
    if (attr != nullptr) {
      ASSIGN_OR_RETURN(probe, get_path(in, item, *attr, nullptr));
    }
    bool r;
    if (test) {
      ASSIGN_OR_RETURN(r, in.apply_test(*test, probe, rest));
    } else {
      r = probe.truthy();
    }
    if (r == keep_when) out.push_back(item);
  }
  return Value::iterator(std::move(out));
}
}  // namespace

Result<Value> filter_select(Interpreter& in, const Value& input, const CallArgs& args) {
  return select_or_reject(in, input, args, false, true);
}
Result<Value> filter_reject(Interpreter& in, const Value& input, const CallArgs& args) {
  return select_or_reject(in, input, args, false, false);
}
Result<Value> filter_selectattr(Interpreter& in, const Value& input, const CallArgs& args) {
  return select_or_reject(in, input, args, true, true);
}
Result<Value> filter_rejectattr(Interpreter& in, const Value& input, const CallArgs& args) {
  return select_or_reject(in, input, args, true, false);
}

namespace {
// Sorts `items` by `keys` as Python's sorted(): stable, reverse keeps equal items in order.
Status sort_by_keys(Interpreter& in, std::vector<Value>& items, const std::vector<Value>& keys, bool reverse) {
  std::vector<std::size_t> order(items.size());
  std::iota(order.begin(), order.end(), 0);
  bool ok = true;
  std::string bad;
  RETURN_IF_ERROR(in.tick(items.size() * 4));
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    bool cmp_ok = true;
    const int c = reverse ? compare(keys[b], keys[a], &cmp_ok) : compare(keys[a], keys[b], &cmp_ok);
    if (!cmp_ok && ok) {
      ok = false;
      bad = fmt::format("'<' not supported between instances of '{}' and '{}'", keys[a].type_name(), keys[b].type_name());
    }
    return cmp_ok && c < 0;
  });
  if (!ok) return type_error(bad);
  std::vector<Value> sorted;
  sorted.reserve(items.size());
  for (std::size_t i : order) sorted.push_back(items[i]);
  items = std::move(sorted);
  return ok_status();
}
}  // namespace

Result<Value> filter_sort(Interpreter& in, const Value& input, const CallArgs& args) {
  PARLEY_BIND_ARGS(b, "sort", args, "reverse", "case_sensitive", "attribute");
  ASSIGN_OR_RETURN(Value list, in.iterate(input));
  std::vector<Value> items = list.items();
  const bool case_sensitive = bool_arg(b.get(1), false);
  std::vector<Value> keys;
  keys.reserve(items.size());
  for (const Value& item : items) {
    Value key = item;
    if (b.has(2) && !b.get(2)->is_none()) {
      const Value& attr = *b.get(2);
      if (attr.is_string() && attr.str().find(',') != std::string::npos) {
        std::vector<Value> parts;
        for (const std::string& p : py::split(attr.str(), std::string(","), -1)) {
          ASSIGN_OR_RETURN(Value v, get_path(in, item, Value(p), nullptr));
          parts.push_back(case_sensitive ? v : ignore_case(v));
        }
        key = Value::list(std::move(parts));
      } else {
        ASSIGN_OR_RETURN(key, get_path(in, item, attr, nullptr));
      }
    }
    keys.push_back(case_sensitive ? key : ignore_case(key));
  }
  RETURN_IF_ERROR(sort_by_keys(in, items, keys, bool_arg(b.get(0), false)));
  return Value::list(std::move(items));
}

Result<Value> filter_dictsort(Interpreter& in, const Value& input, const CallArgs& args) {
  PARLEY_BIND_ARGS(b, "dictsort", args, "case_sensitive", "by", "reverse");
  if (!input.is_dict()) return type_error("dictsort: the value must be a mapping");
  ASSIGN_OR_RETURN(std::optional<std::string> by, str_arg(b.get(1), "by"));
  int pos = 0;
  if (by && *by == "value") {
    pos = 1;
  } else if (by && *by != "key") {
    return type_error("you can only sort by either 'key' or 'value'");
  }
  const bool case_sensitive = bool_arg(b.get(0), false);
  std::vector<Value> items;
  std::vector<Value> keys;
  for (const auto& [k, v] : input.dict().entries()) {
    items.push_back(Value::tuple({k, v}));
    const Value& key = pos == 0 ? k : v;
    keys.push_back(case_sensitive ? key : ignore_case(key));
  }
  RETURN_IF_ERROR(sort_by_keys(in, items, keys, bool_arg(b.get(2), false)));
  return Value::list(std::move(items));
}

Result<Value> filter_unique(Interpreter& in, const Value& input, const CallArgs& args) {
  PARLEY_BIND_ARGS(b, "unique", args, "case_sensitive", "attribute");
  ASSIGN_OR_RETURN(Value list, in.iterate(input));
  const bool case_sensitive = bool_arg(b.get(0), false);
  std::unordered_set<std::string> seen_strings;
  std::vector<Value> seen_other;
  std::vector<Value> out;
  for (const Value& item : list.items()) {
    RETURN_IF_ERROR(in.tick());
    Value key = item;
    if (b.has(1) && !b.get(1)->is_none()) {
      ASSIGN_OR_RETURN(key, get_path(in, item, *b.get(1), nullptr));
    }
    if (!case_sensitive) key = ignore_case(key);
    if (!hashable(key)) return type_error(fmt::format("unhashable type: '{}'", key.type_name()));
    bool fresh;
    if (key.is_string()) {
      fresh = seen_strings.insert(key.str()).second;
    } else {
      RETURN_IF_ERROR(in.tick(seen_other.size() / 16));
      fresh = std::none_of(seen_other.begin(), seen_other.end(), [&](const Value& s) { return equals(s, key); });
      if (fresh) seen_other.push_back(key);
    }
    if (fresh) out.push_back(item);
  }
  return Value::iterator(std::move(out));
}

Result<Value> filter_join(Interpreter& in, const Value& input, const CallArgs& args) {
  PARLEY_BIND_ARGS(b, "join", args, "d", "attribute");
  ASSIGN_OR_RETURN(Value list, in.iterate(input));
  const std::string sep = b.has(0) ? to_str(*b.get(0)) : std::string();
  std::string out;
  bool first = true;
  for (const Value& item : list.items()) {
    if (!first) out += sep;
    first = false;
    if (b.has(1) && !b.get(1)->is_none()) {
      ASSIGN_OR_RETURN(Value v, get_path(in, item, *b.get(1), nullptr));
      append_str(out, v);
    } else {
      append_str(out, item);
    }
    RETURN_IF_ERROR(in.check_string_size(out.size()));
  }
  return Value(std::move(out));
}

Result<Value> filter_first(Interpreter& in, const Value& input, const CallArgs& args) {
  PARLEY_BIND_ARGS(b, "first", args);
  ASSIGN_OR_RETURN(Value list, in.iterate(input));
  if (list.items().empty()) return Value::undefined("No first item, sequence was empty.");
  return list.items().front();
}

Result<Value> filter_last(Interpreter& in, const Value& input, const CallArgs& args) {
  PARLEY_BIND_ARGS(b, "last", args);
  if (!(input.is_string() || input.is_sequence_list() || input.is_dict() || input.is_undefined())) {
    return type_error(fmt::format("'{}' object is not reversible", input.type_name()));
  }
  ASSIGN_OR_RETURN(Value list, in.iterate(input));
  if (list.items().empty()) return Value::undefined("No last item, sequence was empty.");
  return list.items().back();
}

Result<Value> filter_list(Interpreter& in, const Value& input, const CallArgs& args) {
  PARLEY_BIND_ARGS(b, "list", args);
  ASSIGN_OR_RETURN(Value list, in.iterate(input));
  if (list.flags() == 0) return list;
  return Value::list(list.items());
}

Result<Value> filter_reverse(Interpreter& in, const Value& input, const CallArgs& args) {
  PARLEY_BIND_ARGS(b, "reverse", args);
  if (input.is_string()) {
    std::vector<char32_t> cps = py::decode(input.str());
    std::reverse(cps.begin(), cps.end());
    return like(input, py::encode(cps, 0, cps.size()));
  }
  if (!(input.is_list() || input.is_dict() || input.is_undefined())) return type_error("argument must be iterable");
  ASSIGN_OR_RETURN(Value list, in.iterate(input));
  std::vector<Value> items(list.items().rbegin(), list.items().rend());
  // reversed() of a list, dict or undefined is an iterator; a generator goes through list().
  if (!input.is_iterator()) return Value::iterator(std::move(items));
  return Value::list(std::move(items));
}

Result<Value> filter_items(Interpreter& /*in*/, const Value& input, const CallArgs& args) {
  PARLEY_BIND_ARGS(b, "items", args);
  if (input.is_undefined()) return Value::iterator({});
  if (!input.is_dict()) return type_error("Can only get item pairs from a mapping.");
  std::vector<Value> out;
  out.reserve(input.dict().size());
  for (const auto& [k, v] : input.dict().entries()) out.push_back(Value::tuple({k, v}));
  return Value::iterator(std::move(out));
}

namespace {
Result<Value> min_or_max(Interpreter& in, const Value& input, const CallArgs& args, bool want_max) {
  PARLEY_BIND_ARGS(b, want_max ? "max" : "min", args, "case_sensitive", "attribute");
  ASSIGN_OR_RETURN(Value list, in.iterate(input));
  const auto& items = list.items();
  if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
  const bool case_sensitive = bool_arg(b.get(0), false);
  const auto key_of = [&](const Value& item) -> Result<Value> {
    Value k = item;
    if (b.has(1) && !b.get(1)->is_none()) {
      ASSIGN_OR_RETURN(k, get_path(in, item, *b.get(1), nullptr));
    }
    return case_sensitive ? k : ignore_case(k);
  };
  std::size_t best = 0;
  ASSIGN_OR_RETURN(Value best_key, key_of(items[0]));
  for (std::size_t i = 1; i < items.size(); ++i) {
    ASSIGN_OR_RETURN(Value k, key_of(items[i]));
    bool ok = true;
    const int c = compare(k, best_key, &ok);
    if (!ok) {
      return type_error(fmt::format("'{}' not supported between instances of '{}' and '{}'", want_max ? ">" : "<",
                                    k.type_name(), best_key.type_name()));
    }
    if (want_max ? c > 0 : c < 0) {
      best = i;
      best_key = k;
    }
  }
  return items[best];
}
}  // namespace

Result<Value> filter_max(Interpreter& in, const Value& input, const CallArgs& args) {
  return min_or_max(in, input, args, true);
}
Result<Value> filter_min(Interpreter& in, const Value& input, const CallArgs& args) {
  return min_or_max(in, input, args, false);
}

Result<Value> filter_sum(Interpreter& in, const Value& input, const CallArgs& args) {
  PARLEY_BIND_ARGS(b, "sum", args, "attribute", "start");
  ASSIGN_OR_RETURN(Value list, in.iterate(input));
  Value total = b.has(1) ? *b.get(1) : Value(0);
  for (const Value& item : list.items()) {
    Value v = item;
    if (b.has(0) && !b.get(0)->is_none()) {
      ASSIGN_OR_RETURN(v, get_path(in, item, *b.get(0), nullptr));
    }
    if (!total.is_number() || !v.is_number()) {
      return type_error(fmt::format("unsupported operand type(s) for +: '{}' and '{}'", total.type_name(), v.type_name()));
    }
    if (total.is_integral() && v.is_integral()) {
      std::int64_t r;
      if (__builtin_add_overflow(total.as_int(), v.as_int(), &r)) return type_error("integer overflow");
      total = Value(r);
    } else {
      total = Value(total.as_float() + v.as_float());
    }
  }
  return total;
}

Result<Value> filter_batch(Interpreter& in, const Value& input, const CallArgs& args) {
  PARLEY_BIND_ARGS(b, "batch", args, "linecount", "fill_with");
  ASSIGN_OR_RETURN(std::int64_t n, int_arg(b.get(0), 0, "linecount"));
  if (n < 1) return type_error("batch: linecount must be positive");
  ASSIGN_OR_RETURN(Value list, in.iterate(input));
  std::vector<Value> out;
  std::vector<Value> cur;
  for (const Value& item : list.items()) {
    cur.push_back(item);
    if (static_cast<std::int64_t>(cur.size()) == n) {
      out.push_back(Value::list(std::move(cur)));
      cur.clear();
    }
  }
  if (!cur.empty()) {
    if (b.has(1) && !b.get(1)->is_none()) {
      while (static_cast<std::int64_t>(cur.size()) < n) cur.push_back(*b.get(1));
    }
    out.push_back(Value::list(std::move(cur)));
  }
  return Value::iterator(std::move(out));
}

}  // namespace parley::chat::detail
