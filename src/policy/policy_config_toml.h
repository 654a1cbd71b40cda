// Reading PolicyConfig from the [moderation] table of parley.toml (docs/moderation.md), strictly
// like the rest of the file: an unknown key, a value of the wrong type or out of range is an
// error naming the file, line and key ("parley.toml:12:10: moderation.rules[1].action must be
// one of: flag, redact, block"). Patterns are checked later, by Policy::compile.
//
// The gateway's config reader (gateway/serve_config.cpp) calls read_policy_config with the table
// it finds under `moderation`; parse_policy_config reads a whole document (tests, fuzzing).
#pragma once

#include <toml++/toml.h>

#include <string_view>

#include "base/result.h"
#include "base/status.h"
#include "policy/policy_config.h"

namespace parley::policy {

Status read_policy_config(const toml::table& moderation, std::string_view source, PolicyConfig* out);

// A document whose only top-level table is [moderation] (absent: the default config).
Result<PolicyConfig> parse_policy_config(std::string_view toml_text, std::string_view source);

}  // namespace parley::policy
