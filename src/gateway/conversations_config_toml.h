// The [conversations] section's parser, for serve_config.cpp (kept apart so that only the config
// parsers see toml++).
#pragma once

#include <toml++/toml.h>

#include <string_view>

#include "base/status.h"
#include "gateway/conversations_config.h"

namespace parley {

// `table` is the [conversations] table; errors name the key and its line in `source`.
Status parse_conversations_config(const toml::table& table, std::string_view source, ReplyCheckpointOptions* out);

}  // namespace parley
