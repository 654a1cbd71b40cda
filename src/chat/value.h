// Value: a dynamically typed value of the chat-template language, with Python's semantics
// (templates are Jinja2, which evaluates them as Python objects): none, bool, int (int64),
// float (double), str (UTF-8; lengths, indexes and slices count code points), list and tuple,
// dict (insertion-ordered), and runtime objects (namespace, macro, bound method, loop).
// `undefined` is Jinja2's default Undefined: it prints as "", is false, iterates as empty, and
// fails when used as a number, called, or looked into; it carries the hint used in that error.
//
// Strings, lists and dicts are immutable and shared (copying a Value is a reference-count
// increment), which is exact for templates: Hugging Face renders them in an immutable sandbox
// where no list or dict can be changed in place. Only objects (namespaces) are mutable.
//
// Thread safety: a Value and everything reachable from it without passing through an object may
// be read from many threads. Objects belong to the render that created them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace parley::chat {

class Dict;
class Object;
struct ListData;

enum class ValueKind : std::uint8_t {
  kUndefined,
  kNone,
  kBool,
  kInt,
  kFloat,
  kString,
  kList,  // list, tuple, or a one-shot iterator (a generator in Python)
  kDict,
  kObject,
};

class Value {
 public:
  // Flavours that change printing, JSON and a few operators but not the stored data.
  enum Flags : std::uint8_t {
    kMarkup = 1,    // str: markupsafe.Markup (from |safe, |escape); `+` escapes the other side
    kTuple = 2,     // list: a tuple; prints as (a, b)
    kIterator = 4,  // list: a generator (|map, |select, ...): no len(), no [i], no JSON
  };

  Value() = default;  // undefined
  Value(std::nullptr_t) : kind_(ValueKind::kNone) {}  // NOLINT(google-explicit-constructor)
  template <typename B>
    requires std::is_same_v<B, bool>
  Value(B b) : kind_(ValueKind::kBool) {  // NOLINT(google-explicit-constructor)
    scalar_.i = b ? 1 : 0;
  }
  Value(int i) : Value(static_cast<std::int64_t>(i)) {}  // NOLINT(google-explicit-constructor)
  Value(std::int64_t i) : kind_(ValueKind::kInt) { scalar_.i = i; }  // NOLINT
  Value(double d) : kind_(ValueKind::kFloat) { scalar_.f = d; }  // NOLINT
  Value(std::string s);  // NOLINT(google-explicit-constructor)
  Value(std::string_view s) : Value(std::string(s)) {}  // NOLINT(google-explicit-constructor)
  Value(const char* s) : Value(std::string(s)) {}  // NOLINT(google-explicit-constructor)

  static Value undefined(std::string hint = {});
  static Value none() { return Value(nullptr); }
  static Value markup(std::string s);
  static Value list(std::vector<Value> items);
  static Value tuple(std::vector<Value> items);
  static Value iterator(std::vector<Value> items);
  static Value dict(Dict d);
  static Value object(std::shared_ptr<Object> o);

  ValueKind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == ValueKind::kUndefined; }
  bool is_none() const { return kind_ == ValueKind::kNone; }
  bool is_bool() const { return kind_ == ValueKind::kBool; }
  bool is_int() const { return kind_ == ValueKind::kInt; }
  bool is_float() const { return kind_ == ValueKind::kFloat; }
  // int, float or bool: Python's numbers.Number (bool is an int subclass).
  bool is_number() const { return kind_ == ValueKind::kInt || kind_ == ValueKind::kFloat || kind_ == ValueKind::kBool; }
  // int or bool: what Python accepts as an integer (indexes, repetition counts).
  bool is_integral() const { return kind_ == ValueKind::kInt || kind_ == ValueKind::kBool; }
  bool is_string() const { return kind_ == ValueKind::kString; }
  bool is_list() const { return kind_ == ValueKind::kList; }
  bool is_dict() const { return kind_ == ValueKind::kDict; }
  bool is_object() const { return kind_ == ValueKind::kObject; }
  bool is_markup() const { return is_string() && (flags_ & kMarkup); }
  bool is_tuple() const { return is_list() && (flags_ & kTuple); }
  bool is_iterator() const { return is_list() && (flags_ & kIterator); }
  // A list or tuple that supports len() and indexing (not an iterator).
  bool is_sequence_list() const { return is_list() && !(flags_ & kIterator); }

  bool as_bool() const { return scalar_.i != 0; }  // kBool only
  std::int64_t as_int() const { return scalar_.i; }  // kInt or kBool
  double as_float() const { return kind_ == ValueKind::kFloat ? scalar_.f : static_cast<double>(scalar_.i); }
  const std::string& str() const;  // kString
  const std::vector<Value>& items() const;  // kList
  const ListData& list_data() const;
  const Dict& dict() const;  // kDict
  Object& object() const { return *static_cast<Object*>(ptr_.get()); }  // kObject
  const std::shared_ptr<void>& shared() const { return ptr_; }
  template <typename T>
  T* object_as() const {
    return is_object() ? dynamic_cast<T*>(&object()) : nullptr;
  }
  // The message an undefined value fails with, e.g. "'x' is undefined".
  std::string_view undefined_hint() const;

  Value with_flags(std::uint8_t flags) const {
    Value v = *this;
    v.flags_ = flags;
    return v;
  }
  std::uint8_t flags() const { return flags_; }

  // Python truthiness (Undefined is false; objects and iterators are true).
  bool truthy() const;
  // Python's type name, for error messages: 'str', 'int', 'dict', 'NoneType', ...
  std::string_view type_name() const;
  // Containers nested in this value, counting itself (scalars: 0), and the number of nodes
  // reachable without passing through an object. The renderer bounds both, so recursive
  // operations (==, repr, JSON) have bounded depth and cost.
  std::uint32_t depth() const;
  std::uint64_t weight() const;

 private:
  ValueKind kind_ = ValueKind::kUndefined;
  std::uint8_t flags_ = 0;
  union {
    std::int64_t i;
    double f;
  } scalar_{0};
  std::shared_ptr<void> ptr_;  // string (also an undefined's hint), ListData, Dict or Object
};

struct ListData {
  std::vector<Value> items;
  std::uint32_t depth = 1;
  std::uint64_t weight = 1;
};

// An insertion-ordered dict with Python key semantics (1 == 1.0 == True). String keys are
// indexed, so building a dict from a large JSON object stays linear.
class Dict {
 public:
  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  const std::vector<std::pair<Value, Value>>& entries() const { return entries_; }
  const Value* find(const Value& key) const;
  const Value* find(std::string_view key) const;
  const Value* find(const char* key) const { return find(std::string_view(key)); }
  const Value* find(const std::string& key) const { return find(std::string_view(key)); }
  // Inserts, or replaces the value in place (Python keeps the first key's position).
  // The caller checks that `key` is hashable.
  void set(Value key, Value value);
  std::uint32_t depth() const { return depth_; }
  std::uint64_t weight() const { return weight_; }

 private:
  std::vector<std::pair<Value, Value>> entries_;
  // Views into the keys' shared strings: stable while the entries live.
  std::unordered_map<std::string_view, std::size_t> index_;
  // Other keys by a hash that follows Python's key equality (1, 1.0 and True collide).
  std::unordered_multimap<std::uint64_t, std::size_t> other_index_;
  std::uint32_t depth_ = 1;
  std::uint64_t weight_ = 1;
};

// A runtime object. Objects compare by identity and are never serialised to JSON.
class Object {
 public:
  virtual ~Object() = default;
  virtual std::string_view type_name() const = 0;
  // Python's repr(); `depth` bounds the recursion through objects (namespaces can form cycles).
  virtual void append_repr(std::string& out, int depth) const;
  virtual bool callable() const { return false; }
  // Releases the values the object holds. The renderer calls it on every object it created
  // once the render is over, so that chains and cycles through objects are freed flat.
  virtual void drop_references() {}
};

// Python's `a == b` (numbers across int/float/bool; containers deeply; objects by identity).
bool equals(const Value& a, const Value& b);
// Python's ordering for sort(): -1, 0 or 1, or `ok = false` when the types are not ordered.
int compare(const Value& a, const Value& b, bool* ok);
// Hashable in Python: what may be a dict key or an `in dict` probe.
bool hashable(const Value& v);

// Python's str(v) (the text a template prints; "" for undefined) and repr(v).
void append_str(std::string& out, const Value& v);
// Where repr/str text of shared or nested objects is cut short (a render refuses any string this
// long: RenderLimits::string_bytes_max is capped below it), so describing an object graph never
// builds more than this.
inline constexpr std::size_t kReprBytesMax = std::size_t{8} << 20;
void append_repr(std::string& out, const Value& v, int depth = 0);
std::string to_str(const Value& v);
std::string repr(const Value& v);

// HTML escaping as markupsafe.escape does it (& < > " ').
void append_html_escaped(std::string& out, std::string_view s);

}  // namespace parley::chat
