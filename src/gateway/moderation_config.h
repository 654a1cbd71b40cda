// [moderation] in parley.toml (docs/moderation.md): read strictly by policy::read_policy_config and
// compiled at once, so a bad rule stops the start naming the file, line and rule.
#pragma once

#include <toml++/toml.h>

#include <memory>
#include <string_view>

#include "base/status.h"
#include "gateway/guard_model.h"
#include "policy/policy.h"

namespace parley {

// `node` is the value of the top-level `moderation` key. *out: the compiled rules (an empty
// Policy when the table has none: nothing is checked); *guard: [moderation.guard] (model empty
// when absent). The `guard` key is removed from the table once read (see the .cpp).
Status read_moderation_config(const toml::node& node, std::string_view source,
                              std::shared_ptr<const policy::Policy>* out, GuardConfig* guard);

}  // namespace parley
