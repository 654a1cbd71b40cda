// The [router] section's parser, for serve_config.cpp (kept apart so that only the config
// parsers see toml++).
#pragma once

#include <toml++/toml.h>

#include <string_view>

#include "base/status.h"
#include "gateway/router_config.h"

namespace parley {

// `table` is the [router] table; errors name the key and its line in `source`.
Status parse_router_config(const toml::table& table, std::string_view source, RouterConfig* out);

}  // namespace parley
