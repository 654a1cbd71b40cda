// A grammar built in code (grammar/grammar.h) as JSON for the worker protocol: its expressions in
// order, its rules and root. Internal to src/router (router/grammar_wire.h).
#include "router/grammar_wire.h"

#include <limits>

namespace parley::wire {

namespace {

constexpr std::int64_t kI32Max = std::numeric_limits<std::int32_t>::max();
constexpr char kHex[] = "0123456789abcdef";

// Nibble i holds bytes 4i..4i+3 (bit k: byte 4i+k).
std::string bytes_hex(const ByteSet& set) {
  std::string out(64, '0');
  for (std::size_t i = 0; i < 64; ++i) {
    int v = 0;
    for (int bit = 0; bit < 4; ++bit) {
      if (set.test(static_cast<std::uint8_t>(i * 4 + static_cast<std::size_t>(bit)))) v |= 1 << bit;
    }
    out[i] = kHex[v];
  }
  return out;
}

Result<ByteSet> bytes_from_hex(std::string_view hex) {
  if (hex.size() != 64) return invalid_argument_error("grammar bytes must be 64 hex digits");
  ByteSet set;
  for (std::size_t i = 0; i < 64; ++i) {
    const char c = hex[i];
    int v = 0;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else {
      return invalid_argument_error("grammar bytes must be 64 hex digits");
    }
    for (int bit = 0; bit < 4; ++bit) {
      if (v & (1 << bit)) set.set(static_cast<std::uint8_t>(i * 4 + static_cast<std::size_t>(bit)));
    }
  }
  return set;
}

json::object expr_json(const Expr& e) {
  json::object o;
  o["k"] = static_cast<int>(e.kind);
  if (e.kind == ExprKind::kBytes) o["b"] = bytes_hex(e.bytes);
  if (!e.children.empty()) {
    json::array c;
    for (const ExprId id : e.children) c.emplace_back(id);
    o["c"] = std::move(c);
  }
  if (e.kind == ExprKind::kRepeat) {
    o["min"] = e.min;
    o["max"] = e.max;
  }
  if (e.kind == ExprKind::kRule) o["r"] = e.rule;
  if (e.kind == ExprKind::kSeparated) {
    json::array n;
    for (const auto& [lo, hi] : e.counts) n.emplace_back(json::array{lo, hi});
    o["n"] = std::move(n);
    o["s"] = e.separator;
    o["ne"] = e.nonempty;
  }
  return o;
}

Result<Expr> parse_expr(const json::value& v) {
  if (!v.is_object()) return type_error("grammar_built.exprs[]", "an object");
  ObjectReader r(v.as_object(), "grammar_built.exprs[]");
  Expr e;
  std::int64_t kind = 0;
  RETURN_IF_ERROR(r.get_int("k", 0, static_cast<int>(ExprKind::kSeparated), &kind, true));
  e.kind = static_cast<ExprKind>(kind);
  std::string hex;
  RETURN_IF_ERROR(r.get_string("b", 64, &hex));
  if (e.kind == ExprKind::kBytes) {
    ASSIGN_OR_RETURN(e.bytes, bytes_from_hex(hex));
  }
  if (const json::value* c = r.find("c")) {
    if (!c->is_array()) return type_error("grammar_built.exprs[].c", "an array of expression ids");
    for (const json::value& id : c->as_array()) {
      ASSIGN_OR_RETURN(const std::int64_t x, as_int(id, "grammar_built.exprs[].c[]", 0, kI32Max));
      e.children.push_back(static_cast<ExprId>(x));
    }
  }
  RETURN_IF_ERROR(r.get_int_as("min", 0, kI32Max, &e.min));
  RETURN_IF_ERROR(r.get_int_as("max", kUnbounded, kI32Max, &e.max));
  RETURN_IF_ERROR(r.get_int_as("r", -1, kI32Max, &e.rule));
  if (const json::value* n = r.find("n")) {
    if (!n->is_array()) return type_error("grammar_built.exprs[].n", "an array of [min, max] pairs");
    for (const json::value& p : n->as_array()) {
      if (!p.is_array() || p.as_array().size() != 2)
        return type_error("grammar_built.exprs[].n[]", "a [min, max] pair");
      ASSIGN_OR_RETURN(const std::int64_t lo, as_int(p.as_array()[0], "grammar_built.exprs[].n[][0]", 0, kI32Max));
      ASSIGN_OR_RETURN(const std::int64_t hi,
                       as_int(p.as_array()[1], "grammar_built.exprs[].n[][1]", kUnbounded, kI32Max));
      e.counts.emplace_back(static_cast<std::int32_t>(lo), static_cast<std::int32_t>(hi));
    }
  }
  RETURN_IF_ERROR(r.get_int_as("s", -1, kI32Max, &e.separator));
  RETURN_IF_ERROR(r.get_bool("ne", &e.nonempty));
  RETURN_IF_ERROR(r.finish());
  return e;
}

std::string digest(std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (const char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  return fmt::format("{:016x}", h);
}

}  // namespace

json::object built_grammar_json(const BuiltGrammar& built) {
  const Grammar& g = built.grammar;
  json::array exprs;
  exprs.reserve(static_cast<std::size_t>(g.n_exprs()));
  for (ExprId id = 0; id < g.n_exprs(); ++id) exprs.emplace_back(expr_json(g.expr(id)));
  json::array rules;
  for (RuleId r = 0; r < g.n_rules(); ++r)
    rules.emplace_back(json::array{json::string(g.rule_name(r)), g.rule_expr(r)});
  return json::object{{"key", built.key}, {"root", g.root()}, {"rules", std::move(rules)}, {"exprs", std::move(exprs)}};
}

Result<std::shared_ptr<const BuiltGrammar>> parse_built_grammar(const json::value& v, std::size_t max_exprs) {
  if (!v.is_object()) return type_error("grammar_built", "an object");
  ObjectReader r(v.as_object(), "grammar_built");
  std::string key;
  RETURN_IF_ERROR(r.get_string("key", 64 * 1024, &key, true));
  std::int64_t root = 0;
  RETURN_IF_ERROR(r.get_int("root", 0, kI32Max, &root, true));
  ASSIGN_OR_RETURN(const json::value* rules_v, r.require("rules"));
  ASSIGN_OR_RETURN(const json::value* exprs_v, r.require("exprs"));
  RETURN_IF_ERROR(r.finish());
  if (!exprs_v->is_array() || exprs_v->as_array().size() > max_exprs)
    return type_error("grammar_built.exprs", fmt::format("an array of at most {} expressions", max_exprs));
  if (!rules_v->is_array() || rules_v->as_array().size() > max_exprs)
    return type_error("grammar_built.rules", "an array of [name, expression] pairs");
  std::vector<Expr> exprs;
  exprs.reserve(exprs_v->as_array().size());
  for (const json::value& e : exprs_v->as_array()) {
    ASSIGN_OR_RETURN(Expr x, parse_expr(e));
    exprs.push_back(std::move(x));
  }
  std::vector<std::pair<std::string, ExprId>> rules;
  for (const json::value& rv : rules_v->as_array()) {
    if (!rv.is_array() || rv.as_array().size() != 2 || !rv.as_array()[0].is_string())
      return type_error("grammar_built.rules[]", "a [name, expression] pair");
    ASSIGN_OR_RETURN(const std::int64_t e, as_int(rv.as_array()[1], "grammar_built.rules[][1]", 0, kI32Max));
    rules.emplace_back(std::string(rv.as_array()[0].as_string()), static_cast<ExprId>(e));
  }
  ASSIGN_OR_RETURN(Grammar g, Grammar::from_parts(std::move(exprs), std::move(rules), static_cast<RuleId>(root)));
  // The cache key covers the content, so that two senders' grammars under one key never mix.
  auto built = std::make_shared<BuiltGrammar>();
  built->key = "built:" + digest(json::serialize(v)) + ":" + key;
  built->grammar = std::move(g);
  return std::shared_ptr<const BuiltGrammar>(std::move(built));
}

}  // namespace parley::wire
