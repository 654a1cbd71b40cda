// The [on_demand] section's parser, for serve_config.cpp (kept apart so that only the config
// parsers see toml++).
#pragma once

#include <toml++/toml.h>

#include <string>
#include <string_view>

#include "base/status.h"
#include "gateway/on_demand_config.h"

namespace parley {

// The [on_demand] table; relative paths are resolved against `base_dir`; errors name the key and
// its line in `source`. Unknown keys are errors.
Status parse_on_demand_config(const toml::table& table, std::string_view source, const std::string& base_dir,
                              OnDemandConfig* out);

}  // namespace parley
