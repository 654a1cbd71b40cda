#include "gateway/moderation_config.h"

#include "policy/policy_config_toml.h"

namespace parley {
namespace {

template <typename Node>
std::string where(const Node& n, std::string_view source) {
  return fmt::format("{}:{}:{}", source, n.source().begin.line, n.source().begin.column);
}

// [moderation.guard]: model (required), stage (input, output, both), prompt, timeout_ms, fail, max_tokens.
Status read_guard(const toml::table& t, std::string_view source, GuardConfig* g) {
  for (const auto& [key, value] : t) {
    const std::string k(key.str());
    const std::string at = where(value, source);
    if (k == "model" || k == "prompt" || k == "stage" || k == "fail") {
      const auto* s = value.as_string();
      if (s == nullptr) return invalid_argument_error("{}: moderation.guard.{} must be a string", at, k);
      const std::string v = s->get();
      if (k == "model") g->model = v;
      if (k == "prompt") g->prompt = v;
      if (k == "stage") {
        if (v != "input" && v != "output" && v != "both")
          return invalid_argument_error("{}: moderation.guard.stage must be one of: input, output, both", at);
        g->input = v != "output";
        g->output = v != "input";
      }
      if (k == "fail") {
        if (v != "open" && v != "closed")
          return invalid_argument_error("{}: moderation.guard.fail must be one of: open, closed", at);
        g->fail_closed = v == "closed";
      }
    } else if (k == "timeout_ms" || k == "max_tokens") {
      const auto* i = value.as_integer();
      const std::int64_t hi = k == "timeout_ms" ? 600000 : 256;
      if (i == nullptr || i->get() < 1 || i->get() > hi)
        return invalid_argument_error("{}: moderation.guard.{} must be an integer in [1, {}]", at, k, hi);
      if (k == "timeout_ms") g->timeout_ms = i->get();
      if (k == "max_tokens") g->max_tokens = static_cast<std::int32_t>(i->get());
    } else {
      return invalid_argument_error(
          "{}: unknown key 'moderation.guard.{}' (known here: model, stage, prompt, timeout_ms, "
          "fail, max_tokens)",
          at, k);
    }
  }
  if (g->model.empty()) return invalid_argument_error("{}: moderation.guard needs a model", where(t, source));
  return ok_status();
}

}  // namespace

Status read_moderation_config(const toml::node& node, std::string_view source,
                              std::shared_ptr<const policy::Policy>* out, GuardConfig* guard) {
  const toml::table* t = node.as_table();
  if (t == nullptr) return invalid_argument_error("{}: moderation must be a table", where(node, source));
  if (const toml::node* g = t->get("guard")) {
    const toml::table* gt = g->as_table();
    if (gt == nullptr) return invalid_argument_error("{}: moderation.guard must be a table", where(*g, source));
    RETURN_IF_ERROR(read_guard(*gt, source, guard));
    // The policy's reader knows every key but the guard's. A copy of the table would lose the
    // source positions its errors name, so the key leaves the caller's document (parse_serve_config
    // owns it, and reads nothing after [moderation]).
    const_cast<toml::table*>(t)->erase("guard");
  }
  policy::PolicyConfig config;
  RETURN_IF_ERROR(policy::read_policy_config(*t, source, &config));
  ASSIGN_OR_RETURN(std::shared_ptr<const policy::Policy> compiled, policy::Policy::compile(std::move(config)));
  RETURN_IF_ERROR(compiled ? ok_status() : internal_error("the moderation rules did not compile"));
  *out = std::move(compiled);
  return ok_status();
}

}  // namespace parley
