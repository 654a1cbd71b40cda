// libFuzzer target for the [moderation] TOML reader and the rule compiler (src/policy): any input
// is either refused with a message or read into a config; a config either fails to compile with
// a message or compiles into a policy that evaluates a sample text. Build and run it with
// scripts/fuzz --target policy_config.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "policy/policy.h"
#include "policy/policy_config_toml.h"

namespace {

void expect(bool cond) {
  if (!cond) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace parley::policy;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = parse_policy_config(text, "fuzz.toml");
  if (!config.ok()) {
    expect(!config.status().message().empty());
    return 0;
  }
  if (config->rules.size() > 8) return 0;  // compiling probes every regex: keep inputs quick
  auto policy = Policy::compile(*config);
  if (!policy.ok()) {
    expect(!policy.status().message().empty());
    return 0;
  }
  const Verdict v = (*policy)->evaluate(Stage::kInput, Role::kUser, "m", "my password is hunter2, mail a@b.example");
  for (const Match& m : v.matches) expect(m.rule < config->rules.size());
  return 0;
}
