#include "policy/policy_config_toml.h"

#include <fmt/core.h>

#include <algorithm>
#include <set>
#include <string>

namespace parley::policy {
namespace {

constexpr std::size_t kMaxDocumentBytes = 16u << 20;  // a phrase list may be long

std::string where(const toml::node& node, std::string_view source) {
  const toml::source_region& r = node.source();
  return fmt::format("{}:{}:{}", source, r.begin.line, r.begin.column);
}

// One table's keys, remembering which were read so that the others can be reported.
class Reader {
 public:
  Reader(const toml::table& t, std::string prefix, std::string_view source)
      : table_(t), prefix_(std::move(prefix)), source_(source) {}

  const toml::node* take(std::string_view key) {
    taken_.insert(std::string(key));
    return table_.get(key);
  }

  Status bad(const toml::node& n, std::string_view key, std::string_view want) const {
    return invalid_argument_error("{}: {}{} must be {}", where(n, source_), prefix_, key, want);
  }

  template <typename T>
  Status integer(std::string_view key, std::int64_t lo, std::int64_t hi, T* out) {
    const toml::node* n = take(key);
    if (n == nullptr) return ok_status();
    const std::optional<std::int64_t> v = n->value_exact<std::int64_t>();
    if (!v || *v < lo || *v > hi) return bad(*n, key, fmt::format("an integer in [{}, {}]", lo, hi));
    *out = static_cast<T>(*v);
    return ok_status();
  }

  Status number(std::string_view key, double lo, double hi, double* out) {
    const toml::node* n = take(key);
    if (n == nullptr) return ok_status();
    const std::optional<double> v = n->value<double>();
    if (!v || !(n->is_integer() || n->is_floating_point()) || !(*v >= lo && *v <= hi)) {
      return bad(*n, key, fmt::format("a number in [{}, {}]", lo, hi));
    }
    *out = *v;
    return ok_status();
  }

  Status boolean(std::string_view key, bool* out) {
    const toml::node* n = take(key);
    if (n == nullptr) return ok_status();
    const std::optional<bool> v = n->value_exact<bool>();
    if (!v) return bad(*n, key, "true or false");
    *out = *v;
    return ok_status();
  }

  Status string(std::string_view key, std::string* out) {
    const toml::node* n = take(key);
    if (n == nullptr) return ok_status();
    const std::optional<std::string> v = n->value_exact<std::string>();
    if (!v) return bad(*n, key, "a string");
    *out = *v;
    return ok_status();
  }

  // A string that must be one of `names`; *index is its position.
  Status choice(std::string_view key, std::initializer_list<std::string_view> names, std::size_t* index) {
    const toml::node* n = take(key);
    if (n == nullptr) return ok_status();
    const std::optional<std::string> v = n->value_exact<std::string>();
    std::size_t i = 0;
    for (const std::string_view name : names) {
      if (v && *v == name) {
        *index = i;
        return ok_status();
      }
      ++i;
    }
    std::string list;
    for (const std::string_view name : names) list += (list.empty() ? "" : ", ") + std::string(name);
    return bad(*n, key, "one of: " + list);
  }

  Status strings(std::string_view key, std::vector<std::string>* out, const toml::node** node = nullptr) {
    const toml::node* n = take(key);
    if (node != nullptr) *node = n;
    if (n == nullptr) return ok_status();
    const toml::array* a = n->as_array();
    if (a == nullptr) return bad(*n, key, "a list of strings");
    out->clear();
    for (const toml::node& e : *a) {
      const std::optional<std::string> v = e.value_exact<std::string>();
      if (!v) return bad(e, key, "a list of strings");
      out->push_back(*v);
    }
    return ok_status();
  }

  const toml::table* table(std::string_view key, Status* st) {
    const toml::node* n = take(key);
    if (n == nullptr) return nullptr;
    const toml::table* t = n->as_table();
    if (t == nullptr) *st = bad(*n, key, "a table");
    return t;
  }

  Status finish(std::string_view known) const {
    for (const auto& [key, value] : table_) {
      if (!taken_.contains(std::string(key.str()))) {
        return invalid_argument_error("{}: unknown key '{}{}' (known here: {})", where(value, source_), prefix_,
                                      key.str(), known);
      }
    }
    return ok_status();
  }

  const std::string& prefix() const { return prefix_; }
  std::string_view source() const { return source_; }

 private:
  const toml::table& table_;
  std::string prefix_;
  std::string_view source_;
  std::set<std::string> taken_;
};

Status read_roles(Reader& r, std::array<bool, kRoleCount>* roles) {
  std::vector<std::string> names;
  const toml::node* node = nullptr;
  RETURN_IF_ERROR(r.strings("roles", &names, &node));
  if (node == nullptr) return ok_status();
  roles->fill(false);
  for (const std::string& name : names) {
    bool known = false;
    for (std::size_t k = 0; k < kRoleCount; ++k) {
      if (role_name(static_cast<Role>(k)) == name) roles->at(k) = known = true;
    }
    if (!known) return r.bad(*node, "roles", "a list of: user, system, tool, assistant");
  }
  if (names.empty()) return r.bad(*node, "roles", "a non-empty list (leave it out for every role)");
  return ok_status();
}

Status read_detectors(Reader& r, std::vector<Detector>* out) {
  std::vector<std::string> names;
  const toml::node* node = nullptr;
  RETURN_IF_ERROR(r.strings("detectors", &names, &node));
  for (const std::string& name : names) {
    const std::vector<Detector> ds = detectors_named(name);
    if (ds.empty()) {
      std::string all = "pii, secrets";
      for (std::size_t i = 0; i < kDetectorCount; ++i)
        all += ", " + std::string(detector_name(static_cast<Detector>(i)));
      return r.bad(*node, "detectors", "a list of: " + all);
    }
    for (const Detector d : ds) {
      if (std::find(out->begin(), out->end(), d) == out->end()) out->push_back(d);
    }
  }
  return ok_status();
}

Status read_rule(const toml::table& t, std::size_t i, std::string_view source, RuleConfig* rule) {
  Reader r(t, fmt::format("moderation.rules[{}].", i), source);
  if (t.get("name") == nullptr) {
    return invalid_argument_error("{}: moderation.rules[{}] needs a name", where(t, source), i);
  }
  if (t.get("kind") == nullptr) {
    return invalid_argument_error("{}: moderation.rules[{}] needs a kind (phrases, regex, detector)", where(t, source),
                                  i);
  }
  RETURN_IF_ERROR(r.string("name", &rule->name));
  RETURN_IF_ERROR(r.string("category", &rule->category));
  std::size_t kind = 0, stage = 2, action = 0;
  RETURN_IF_ERROR(r.choice("kind", {"phrases", "regex", "detector"}, &kind));
  rule->kind = static_cast<RuleKind>(kind);
  RETURN_IF_ERROR(r.choice("stage", {"input", "output", "both"}, &stage));
  rule->stage = static_cast<Stage>(stage + 1);
  RETURN_IF_ERROR(r.choice("action", {"flag", "redact", "block"}, &action));
  rule->action = static_cast<Action>(action + 1);
  RETURN_IF_ERROR(read_roles(r, &rule->roles));
  RETURN_IF_ERROR(r.strings("models", &rule->models));
  std::string_view known = "name, category, kind, stage, action, roles, models";
  std::string more;
  switch (rule->kind) {
    case RuleKind::kPhrases: {
      const toml::node* node = nullptr;
      RETURN_IF_ERROR(r.strings("phrases", &rule->phrases, &node));
      if (rule->phrases.empty())
        return invalid_argument_error("{}: {}phrases must list at least one phrase", where(node ? *node : t, source),
                                      r.prefix());
      RETURN_IF_ERROR(r.boolean("whole_words", &rule->whole_words));
      RETURN_IF_ERROR(r.boolean("spacing", &rule->spacing));
      more = ", phrases, whole_words, spacing";
      break;
    }
    case RuleKind::kRegex: {
      if (t.get("pattern") == nullptr)
        return invalid_argument_error("{}: {}pattern is missing", where(t, source), r.prefix());
      RETURN_IF_ERROR(r.string("pattern", &rule->pattern));
      RETURN_IF_ERROR(r.boolean("case_insensitive", &rule->case_insensitive));
      RETURN_IF_ERROR(r.integer("max_match_bytes", 1, 65536, &rule->max_match_bytes));
      more = ", pattern, case_insensitive, max_match_bytes";
      break;
    }
    case RuleKind::kDetector:
      if (t.get("detectors") == nullptr)
        return invalid_argument_error("{}: {}detectors is missing", where(t, source), r.prefix());
      RETURN_IF_ERROR(read_detectors(r, &rule->detectors));
      more = ", detectors";
      break;
  }
  return r.finish(std::string(known) + more + " (for this kind)");
}

Status read_abuse(const toml::table& t, std::string_view source, AbuseConfig* a) {
  Reader r(t, "moderation.abuse.", source);
  RETURN_IF_ERROR(r.boolean("enabled", &a->enabled));
  RETURN_IF_ERROR(r.number("half_life_s", 1, 365.0 * 86400, &a->half_life_s));
  RETURN_IF_ERROR(r.number("suspend_threshold", 0.001, 1e9, &a->suspend_threshold));
  RETURN_IF_ERROR(r.integer("suspend_s", 1, std::int64_t{365} * 86400, &a->suspend_s));
  RETURN_IF_ERROR(r.integer("max_subjects", 16, 100'000'000, &a->max_subjects));
  RETURN_IF_ERROR(r.integer("sync_s", 0, 86400, &a->sync_s));
  Status st;
  if (const toml::table* w = r.table("weights", &st)) {
    Reader wr(*w, "moderation.abuse.weights.", source);
    std::string known;
    for (std::size_t k = 0; k < kViolationKindCount; ++k) {
      const std::string_view name = violation_kind_name(static_cast<ViolationKind>(k));
      RETURN_IF_ERROR(wr.number(name, 0, 1e9, &a->weights[k]));
      known += (k ? ", " : "") + std::string(name);
    }
    RETURN_IF_ERROR(wr.finish(known));
  }
  RETURN_IF_ERROR(st);
  return r.finish("enabled, half_life_s, suspend_threshold, suspend_s, max_subjects, sync_s, weights");
}

}  // namespace

Status read_policy_config(const toml::table& moderation, std::string_view source, PolicyConfig* out) {
  Reader r(moderation, "moderation.", source);
  RETURN_IF_ERROR(r.integer("regex_match_limit", 1000, 100'000'000, &out->regex_match_limit));
  RETURN_IF_ERROR(r.integer("max_matches", 1, 1'000'000, &out->max_matches));
  RETURN_IF_ERROR(r.integer("max_stream_holdback_bytes", 1024, 16 << 20, &out->max_stream_holdback_bytes));
  Status st;
  if (const toml::table* a = r.table("abuse", &st)) RETURN_IF_ERROR(read_abuse(*a, source, &out->abuse));
  RETURN_IF_ERROR(st);
  if (const toml::table* a = r.table("audit", &st)) {
    Reader ar(*a, "moderation.audit.", source);
    RETURN_IF_ERROR(ar.integer("retention_days", 1, 36500, &out->audit.retention_days));
    RETURN_IF_ERROR(ar.integer("excerpt_bytes", 0, 4096, &out->audit.excerpt_bytes));
    RETURN_IF_ERROR(ar.integer("purge_interval_s", 0, std::int64_t{7} * 86400, &out->audit.purge_interval_s));
    RETURN_IF_ERROR(ar.finish("retention_days, excerpt_bytes, purge_interval_s"));
  }
  RETURN_IF_ERROR(st);
  if (const toml::node* rules = r.take("rules")) {
    const toml::array* list = rules->as_array();
    if (list == nullptr) return r.bad(*rules, "rules", "an array of tables ([[moderation.rules]])");
    for (std::size_t i = 0; i < list->size(); ++i) {
      const toml::table* t = list->get(i)->as_table();
      if (t == nullptr)
        return invalid_argument_error("{}: moderation.rules[{}] must be a table", where(*list->get(i), source), i);
      RuleConfig rule;
      RETURN_IF_ERROR(read_rule(*t, i, source, &rule));
      out->rules.push_back(std::move(rule));
    }
  }
  return r.finish("regex_match_limit, max_matches, max_stream_holdback_bytes, abuse, audit, [[rules]]");
}

Result<PolicyConfig> parse_policy_config(std::string_view text, std::string_view source) {
  if (text.size() > kMaxDocumentBytes) {
    return invalid_argument_error("{}: {} bytes is more than a moderation config may have", source, text.size());
  }
  toml::table doc;
  try {
    doc = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return invalid_argument_error("{}:{}:{}: {}", source, e.source().begin.line, e.source().begin.column,
                                  e.description());
  }
  PolicyConfig config;
  Reader top(doc, "", source);
  Status st;
  if (const toml::table* m = top.table("moderation", &st)) RETURN_IF_ERROR(read_policy_config(*m, source, &config));
  RETURN_IF_ERROR(st);
  RETURN_IF_ERROR(top.finish("[moderation]"));
  return config;
}

}  // namespace parley::policy
