#include "auth/device_token.h"

#include "auth/crypto.h"

namespace parley::auth {
namespace {

constexpr std::string_view kDeviceContext = "parley-device-v1\n";
constexpr std::size_t kDeviceIdBytes = 16;

std::string mac_of(const CsrfSigner& key, std::string_view account, std::string_view id) {
  std::string message(account);
  message += '\n';
  message += id;
  return base64url_encode(key.sign(kDeviceContext, message));
}

}  // namespace

std::string_view device_cookie_name(bool secure) {
  return secure ? "__Host-parley_device" : "parley_device";
}

std::string issue_device_token(const CsrfSigner& key, std::string_view account) {
  const std::string id = base64url_encode(random_bytes(kDeviceIdBytes));
  return id + "." + mac_of(key, account, id);
}

std::optional<std::string> verify_device_token(const CsrfSigner& key, std::string_view account,
                                               std::string_view token) {
  const std::size_t dot = token.find('.');
  if (dot == std::string_view::npos || token.size() > 128) return std::nullopt;
  const std::string_view id = token.substr(0, dot);
  if (id.empty() || !is_base64url(id)) return std::nullopt;
  if (!constant_time_equal(mac_of(key, account, id), token.substr(dot + 1))) return std::nullopt;
  return std::string(id);
}

}  // namespace parley::auth
