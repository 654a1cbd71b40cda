#include "apps/shared_state_flags.h"

#include <CLI/CLI.hpp>

namespace parley::cli {

void add_shared_state_flags(CLI::App* cmd, SharedStateFlags* flags) {
  cmd->add_option("--database-replica", flags->replicas,
                  "PostgreSQL streaming replica for conversation reads (repeatable; read-your-writes and "
                  "fallback to the primary; docs/store.md)");
  cmd->add_option("--redis", flags->redis,
                  "Share rate limits with other gateways through Redis: redis://[:password@]host[:port][/db] "
                  "(password also from PARLEY_REDIS_PASSWORD; docs/scaling.md)");
}

void apply_shared_state_flags(const CLI::App& cmd, const SharedStateFlags& flags, ServeConfig* config) {
  if (cmd.count("--database-replica") > 0) config->accounts.replicas.urls = flags.replicas;
  if (cmd.count("--redis") > 0) config->accounts.redis.url = flags.redis;
}

}  // namespace parley::cli
