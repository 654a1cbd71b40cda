#include "chat/value.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

#include "chat/py_string.h"

namespace parley::chat {
namespace {

constexpr int kReprDepthMax = 64;

const std::string& empty_string() {
  static const std::string kEmpty;
  return kEmpty;
}

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
  return a > std::numeric_limits<std::uint64_t>::max() - b ? std::numeric_limits<std::uint64_t>::max() : a + b;
}

// Python compares an int and a float exactly, not by converting the int.
bool int_float_equal(std::int64_t i, double f) {
  if (!std::isfinite(f) || f != std::trunc(f)) return false;
  if (f < -9.3e18 || f > 9.3e18) return false;
  return static_cast<double>(i) == f && static_cast<std::int64_t>(f) == i;
}

int int_float_compare(std::int64_t i, double f) {
  const double di = static_cast<double>(i);
  if (di < f) return -1;
  if (di > f) return 1;
  if (int_float_equal(i, f)) return 0;
  // Equal as doubles but not exactly: fall back to integer comparison of the truncated float.
  const std::int64_t fi = static_cast<std::int64_t>(f);
  return i < fi ? -1 : (i > fi ? 1 : 0);
}

}  // namespace

Value::Value(std::string s) : kind_(ValueKind::kString), ptr_(std::make_shared<std::string>(std::move(s))) {}

Value Value::undefined(std::string hint) {
  Value v;
  if (!hint.empty()) v.ptr_ = std::make_shared<std::string>(std::move(hint));
  return v;
}

Value Value::markup(std::string s) {
  Value v(std::move(s));
  v.flags_ = kMarkup;
  return v;
}

Value Value::list(std::vector<Value> items) {
  auto data = std::make_shared<ListData>();
  std::uint32_t depth = 0;
  std::uint64_t weight = 1;
  for (const Value& item : items) {
    depth = std::max(depth, item.depth());
    weight = saturating_add(weight, item.weight());
  }
  data->items = std::move(items);
  data->depth = depth + 1;
  data->weight = weight;
  Value v;
  v.kind_ = ValueKind::kList;
  v.ptr_ = std::move(data);
  return v;
}

Value Value::tuple(std::vector<Value> items) {
  Value v = list(std::move(items));
  v.flags_ = kTuple;
  return v;
}

Value Value::iterator(std::vector<Value> items) {
  Value v = list(std::move(items));
  v.flags_ = kIterator;
  return v;
}

Value Value::dict(Dict d) {
  Value v;
  v.kind_ = ValueKind::kDict;
  v.ptr_ = std::make_shared<Dict>(std::move(d));
  return v;
}

Value Value::object(std::shared_ptr<Object> o) {
  Value v;
  v.kind_ = ValueKind::kObject;
  v.ptr_ = std::move(o);
  return v;
}

const std::string& Value::str() const { return ptr_ ? *static_cast<const std::string*>(ptr_.get()) : empty_string(); }

const std::vector<Value>& Value::items() const { return list_data().items; }

const ListData& Value::list_data() const { return *static_cast<const ListData*>(ptr_.get()); }

const Dict& Value::dict() const { return *static_cast<const Dict*>(ptr_.get()); }

std::string_view Value::undefined_hint() const {
  return ptr_ ? std::string_view(*static_cast<const std::string*>(ptr_.get())) : std::string_view();
}

bool Value::truthy() const {
  switch (kind_) {
    case ValueKind::kUndefined:
    case ValueKind::kNone:
      return false;
    case ValueKind::kBool:
    case ValueKind::kInt:
      return scalar_.i != 0;
    case ValueKind::kFloat:
      return scalar_.f != 0.0;
    case ValueKind::kString:
      return !str().empty();
    case ValueKind::kList:
      return is_iterator() || !items().empty();
    case ValueKind::kDict:
      return !dict().empty();
    case ValueKind::kObject:
      return true;
  }
  return false;
}

std::string_view Value::type_name() const {
  switch (kind_) {
    case ValueKind::kUndefined: return "Undefined";
    case ValueKind::kNone: return "NoneType";
    case ValueKind::kBool: return "bool";
    case ValueKind::kInt: return "int";
    case ValueKind::kFloat: return "float";
    case ValueKind::kString: return is_markup() ? "Markup" : "str";
    case ValueKind::kList: return is_tuple() ? "tuple" : (is_iterator() ? "generator" : "list");
    case ValueKind::kDict: return "dict";
    case ValueKind::kObject: return object().type_name();
  }
  return "object";
}

std::uint32_t Value::depth() const {
  if (kind_ == ValueKind::kList) return list_data().depth;
  if (kind_ == ValueKind::kDict) return dict().depth();
  return 0;
}

std::uint64_t Value::weight() const {
  if (kind_ == ValueKind::kList) return list_data().weight;
  if (kind_ == ValueKind::kDict) return dict().weight();
  return 1;
}

const Value* Dict::find(std::string_view key) const {
  const auto it = index_.find(key);
  return it == index_.end() ? nullptr : &entries_[it->second].second;
}

namespace {
// A hash consistent with Python's == for hashable keys; nullopt for NaN, which equals nothing.
std::optional<std::uint64_t> key_hash(const Value& k) {
  constexpr std::uint64_t kMul = 0x9E3779B97F4A7C15ull;
  switch (k.kind()) {
    case ValueKind::kBool:
    case ValueKind::kInt:
      return static_cast<std::uint64_t>(k.as_int()) * kMul;
    case ValueKind::kFloat: {
      const double d = k.as_float();
      if (std::isnan(d)) return std::nullopt;
      if (d == std::trunc(d) && d >= -9.2e18 && d <= 9.2e18) return static_cast<std::uint64_t>(static_cast<std::int64_t>(d)) * kMul;
      std::uint64_t bits;
      std::memcpy(&bits, &d, sizeof bits);
      return bits ^ 0x5bd1e995ull;
    }
    case ValueKind::kString:
      return std::hash<std::string_view>()(k.str());
    case ValueKind::kList: {
      if (!k.is_tuple()) return reinterpret_cast<std::uintptr_t>(k.shared().get());
      std::uint64_t h = 0x345678;
      for (const Value& item : k.items()) {
        const auto ih = key_hash(item);
        if (!ih) return std::nullopt;
        h = (h ^ *ih) * 1000003ull;
      }
      return h;
    }
    case ValueKind::kObject:
      return reinterpret_cast<std::uintptr_t>(k.shared().get());
    default:
      return 0x4e6f6e65ull;  // None and Undefined
  }
}
}  // namespace

const Value* Dict::find(const Value& key) const {
  if (key.is_string()) return find(std::string_view(key.str()));
  const auto h = key_hash(key);
  if (!h) return nullptr;
  const auto [b, e] = other_index_.equal_range(*h);
  for (auto it = b; it != e; ++it) {
    const auto& [k, v] = entries_[it->second];
    if (equals(k, key)) return &v;
  }
  return nullptr;
}

void Dict::set(Value key, Value value) {
  depth_ = std::max(depth_, std::max(key.depth(), value.depth()) + 1);
  weight_ = saturating_add(weight_, saturating_add(key.weight(), value.weight()));
  if (key.is_string()) {
    const auto it = index_.find(std::string_view(key.str()));
    if (it != index_.end()) {
      entries_[it->second].second = std::move(value);
      return;
    }
    entries_.emplace_back(std::move(key), std::move(value));
    index_.emplace(std::string_view(entries_.back().first.str()), entries_.size() - 1);
    return;
  }
  const auto h = key_hash(key);
  if (h) {
    const auto [b, e] = other_index_.equal_range(*h);
    for (auto it = b; it != e; ++it) {
      auto& [k, v] = entries_[it->second];
      if (equals(k, key)) {
        v = std::move(value);
        return;
      }
    }
    other_index_.emplace(*h, entries_.size());
  }
  entries_.emplace_back(std::move(key), std::move(value));
}

void Object::append_repr(std::string& out, int /*depth*/) const {
  out += '<';
  out += type_name();
  out += " object>";
}

bool equals(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() && b.is_float()) return a.as_float() == b.as_float();
    if (a.is_float()) return int_float_equal(b.as_int(), a.as_float());
    if (b.is_float()) return int_float_equal(a.as_int(), b.as_float());
    return a.as_int() == b.as_int();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case ValueKind::kUndefined:
    case ValueKind::kNone:
      return true;
    case ValueKind::kString:
      return a.str() == b.str();
    case ValueKind::kList: {
      if (a.is_iterator() || b.is_iterator()) return a.shared() == b.shared();
      if (a.is_tuple() != b.is_tuple()) return false;
      const auto& x = a.items();
      const auto& y = b.items();
      if (x.size() != y.size()) return false;
      for (std::size_t i = 0; i < x.size(); ++i) {
        if (!equals(x[i], y[i])) return false;
      }
      return true;
    }
    case ValueKind::kDict: {
      const Dict& x = a.dict();
      const Dict& y = b.dict();
      if (x.size() != y.size()) return false;
      for (const auto& [k, v] : x.entries()) {
        const Value* other = y.find(k);
        if (other == nullptr || !equals(v, *other)) return false;
      }
      return true;
    }
    case ValueKind::kObject:
      return a.shared() == b.shared();
    default:
      return false;
  }
}

int compare(const Value& a, const Value& b, bool* ok) {
  *ok = true;
  if (a.is_number() && b.is_number()) {
    if (a.is_float() && b.is_float()) {
      const double x = a.as_float();
      const double y = b.as_float();
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    if (a.is_float()) return -int_float_compare(b.as_int(), a.as_float());
    if (b.is_float()) return int_float_compare(a.as_int(), b.as_float());
    return a.as_int() < b.as_int() ? -1 : (a.as_int() > b.as_int() ? 1 : 0);
  }
  if (a.is_string() && b.is_string()) {
    // UTF-8 byte order is code-point order.
    const int c = a.str().compare(b.str());
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (a.is_sequence_list() && b.is_sequence_list() && a.is_tuple() == b.is_tuple()) {
    const auto& x = a.items();
    const auto& y = b.items();
    for (std::size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (equals(x[i], y[i])) continue;
      return compare(x[i], y[i], ok);
    }
    return x.size() < y.size() ? -1 : (x.size() > y.size() ? 1 : 0);
  }
  *ok = false;
  return 0;
}

bool hashable(const Value& v) {
  if (v.is_dict()) return false;
  if (v.is_list()) {
    if (v.is_iterator()) return true;
    if (!v.is_tuple()) return false;
    return std::all_of(v.items().begin(), v.items().end(), [](const Value& x) { return hashable(x); });
  }
  return true;
}

void append_repr(std::string& out, const Value& v, int depth) {
  // Objects can share and nest each other without bound; past this size the text is cut short
  // (callers limit strings far below it).
  if (out.size() > kReprBytesMax) return;
  switch (v.kind()) {
    case ValueKind::kUndefined:
      out += "Undefined";
      return;
    case ValueKind::kString:
      if (v.is_markup()) {
        out += "Markup(";
        py::append_string_repr(out, v.str());
        out += ')';
      } else {
        py::append_string_repr(out, v.str());
      }
      return;
    case ValueKind::kList: {
      if (v.is_iterator()) {
        out += "<generator object>";
        return;
      }
      if (depth > kReprDepthMax) {
        out += "[...]";
        return;
      }
      out += v.is_tuple() ? '(' : '[';
      const auto& items = v.items();
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (i > 0) out += ", ";
        append_repr(out, items[i], depth + 1);
      }
      if (v.is_tuple() && items.size() == 1) out += ',';
      out += v.is_tuple() ? ')' : ']';
      return;
    }
    case ValueKind::kDict: {
      if (depth > kReprDepthMax) {
        out += "{...}";
        return;
      }
      out += '{';
      bool first = true;
      for (const auto& [k, val] : v.dict().entries()) {
        if (!first) out += ", ";
        first = false;
        append_repr(out, k, depth + 1);
        out += ": ";
        append_repr(out, val, depth + 1);
      }
      out += '}';
      return;
    }
    case ValueKind::kObject:
      if (depth > kReprDepthMax) {
        out += "...";
        return;
      }
      v.object().append_repr(out, depth + 1);
      return;
    default:
      append_str(out, v);
      return;
  }
}

void append_str(std::string& out, const Value& v) {
  switch (v.kind()) {
    case ValueKind::kUndefined:
      return;
    case ValueKind::kNone:
      out += "None";
      return;
    case ValueKind::kBool:
      out += v.as_bool() ? "True" : "False";
      return;
    case ValueKind::kInt:
      out += std::to_string(v.as_int());
      return;
    case ValueKind::kFloat:
      py::append_float_repr(out, v.as_float());
      return;
    case ValueKind::kString:
      out += v.str();
      return;
    default:
      append_repr(out, v, 0);
      return;
  }
}

std::string to_str(const Value& v) {
  if (v.is_string()) return v.str();
  std::string out;
  append_str(out, v);
  return out;
}

std::string repr(const Value& v) {
  std::string out;
  append_repr(out, v, 0);
  return out;
}

void append_html_escaped(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
}

}  // namespace parley::chat
