// Flags of the state shared between gateways, for every command that opens the account store and
// the rate limiter (`parley serve`, `parley gateway`): --database-replica and --redis.
#pragma once

#include <string>
#include <vector>

#include "gateway/serve_config.h"

namespace CLI {
class App;
}  // namespace CLI

namespace parley::cli {

struct SharedStateFlags {
  std::vector<std::string> replicas;  // --database-replica URL (repeatable): [store] replicas
  std::string redis;                  // --redis URL: [redis] url
};

// Registers --database-replica and --redis on `cmd`.
void add_shared_state_flags(CLI::App* cmd, SharedStateFlags* flags);
// The flags given on the command line override the config file's settings.
void apply_shared_state_flags(const CLI::App& cmd, const SharedStateFlags& flags, ServeConfig* config);

}  // namespace parley::cli
