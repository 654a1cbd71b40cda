#include "gateway/accounts_config.h"

#include <cmath>

#include "store/email.h"

namespace parley {

std::string_view auth_mode_name(AuthMode mode) {
  return mode == AuthMode::kNone ? "none" : "required";
}

std::int64_t cost_micros(const PriceTable& prices, std::string_view model, std::int64_t prompt_tokens,
                         std::int64_t completion_tokens) {
  const auto it = prices.find(model);
  if (it == prices.end()) return 0;
  const double micros = static_cast<double>(prompt_tokens) * it->second.prompt_per_million +
                        static_cast<double>(completion_tokens) * it->second.completion_per_million;
  return static_cast<std::int64_t>(std::llround(micros));
}

auth::Limits UsageLimitsConfig::for_user(auth::Role role, std::string_view email) const {
  const auto it = users.find(store::normalize_email(email));
  return it == users.end() ? roles.for_role(role) : auth::resolve_limits(roles, role, it->second);
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost" || host == "::1" || host == "[::1]") return true;
  // 127.0.0.0/8: four dotted decimal parts of 1-3 digits, the first 127.
  if (host.rfind("127.", 0) != 0) return false;
  int parts = 1;
  int digits = 0;
  for (const char c : host.substr(4)) {
    if (c == '.') {
      if (digits == 0) return false;
      ++parts;
      digits = 0;
    } else if (c >= '0' && c <= '9' && digits < 3) {
      ++digits;
    } else {
      return false;
    }
  }
  return parts == 3 && digits > 0;
}

AuthMode effective_auth_mode(const AuthConfig& auth, std::string_view host) {
  if (auth.mode) return *auth.mode;
  return is_loopback_host(host) ? AuthMode::kNone : AuthMode::kRequired;
}

}  // namespace parley
