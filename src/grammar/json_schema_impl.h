// Private to src/grammar: the JSON Schema converter behind JsonGrammarBuilder, split over
// json_schema.cpp (documents, $ref, allOf/anyOf, dispatch) and json_schema_types.cpp (one
// function per JSON type). Boost.JSON stays inside src/grammar's .cpp files.
#pragma once

#include <boost/json.hpp>
#include <deque>
#include <map>
#include <optional>
#include <string>

#include "grammar/json_scalars.h"
#include "grammar/json_schema.h"

namespace parley {

namespace json = boost::json;

// Where a schema sits: its document (for $ref) and its JSON pointer (for errors).
struct SchemaWhere {
  const json::value* root;
  std::string path;
  SchemaWhere at(std::string_view key) const;
};

// JSON types as bits of a set.
inline constexpr unsigned kTypeNull = 1;
inline constexpr unsigned kTypeBoolean = 2;
inline constexpr unsigned kTypeInteger = 4;
inline constexpr unsigned kTypeNumber = 8;
inline constexpr unsigned kTypeString = 16;
inline constexpr unsigned kTypeArray = 32;
inline constexpr unsigned kTypeObject = 64;
inline constexpr unsigned kTypeAny = 127;

struct JsonGrammarBuilder::Impl {
  Impl(Grammar& grammar, const JsonSchemaOptions& options, const GrammarLimits& limits)
      : g(grammar), opt(options), lim(limits) {}

  template <typename... Args>
  Status fail(const SchemaWhere& w, fmt::format_string<Args...> f, Args&&... args) const {
    const std::string where = w.path.empty() ? "the schema" : w.path;
    return invalid_argument_error("{}: {}", where, fmt::format(f, std::forward<Args>(args)...))
        .with_detail("param", w.path.empty() ? "/" : w.path);
  }
  Status check_size(const SchemaWhere& w) const;

  // json_schema.cpp
  Result<ExprId> document(std::string_view text);
  Result<ExprId> value(const json::value& schema, const SchemaWhere& w, int depth);
  Result<ExprId> ref(std::string_view ref, const SchemaWhere& w, int depth);
  Result<const json::value*> resolve(std::string_view ref, const SchemaWhere& w) const;
  Status check_keywords(const json::object& o, const SchemaWhere& w) const;
  Result<json::object> merge(json::object into, const json::object& from, const SchemaWhere& w, int depth);
  Result<json::object> inline_refs(const json::object& o, const SchemaWhere& w, int depth);
  Result<unsigned> types_of(const json::object& o, const SchemaWhere& w) const;
  Result<ExprId> literal_of(const json::value& v);
  Result<ExprId> one_of_values(const json::array& values, unsigned types, const SchemaWhere& w);

  // json_schema_types.cpp
  Result<ExprId> typed(unsigned type, const json::object& o, const SchemaWhere& w, int depth);
  Result<ExprId> object(const json::object& o, const SchemaWhere& w, int depth);
  Result<ExprId> array(const json::object& o, const SchemaWhere& w, int depth);
  Result<ExprId> string(const json::object& o, const SchemaWhere& w);
  Result<ExprId> number(const json::object& o, const SchemaWhere& w, bool integer);
  ExprId any_value();
  ExprId any_object();
  ExprId ws();
  ExprId string_literal(std::string_view text);
  ExprId plain_string();
  // A string rule cached under `key`, built by `make` the first time.
  template <typename F>
  ExprId cached_rule(const std::string& key, F&& make) {
    const auto it = rules.find(key);
    if (it != rules.end()) return g.ref(it->second);
    const RuleId r = g.add_rule(key);
    rules.emplace(key, r);
    g.set_rule(r, make());
    return g.ref(r);
  }

  Grammar& g;
  JsonSchemaOptions opt;
  GrammarLimits lim;
  std::deque<json::value> docs;                                       // stable addresses
  std::map<std::pair<const json::value*, std::string>, RuleId> refs;  // (document, pointer) -> rule
  std::map<std::string, RuleId> rules;                                // shared rules by key
  RuleId value_rule = -1;
  int ref_depth = 0;
};

std::optional<double> json_number(const json::value& v);

}  // namespace parley
