#include "gateway/moderation_config.h"

#include "policy/policy_config_toml.h"

namespace parley {

Status read_moderation_config(const toml::node& node, std::string_view source,
                              std::shared_ptr<const policy::Policy>* out) {
  const toml::table* t = node.as_table();
  if (t == nullptr) {
    return invalid_argument_error("{}:{}:{}: moderation must be a table", source, node.source().begin.line,
                                  node.source().begin.column);
  }
  policy::PolicyConfig config;
  RETURN_IF_ERROR(policy::read_policy_config(*t, source, &config));
  ASSIGN_OR_RETURN(std::shared_ptr<const policy::Policy> compiled, policy::Policy::compile(std::move(config)));
  RETURN_IF_ERROR(compiled ? ok_status() : internal_error("the moderation rules did not compile"));
  *out = std::move(compiled);
  return ok_status();
}

}  // namespace parley
