// libFuzzer target for the Cookie header parser (src/auth/cookie.h): any input is either refused
// with a message (over the limits) or parsed into cookies that all satisfy the grammar, within the
// limits, with nothing invented. Each parsed pair must survive a round trip through the
// Set-Cookie builder. Build and run it with scripts/fuzz --target cookie_header.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "auth/cookie.h"

namespace {

void expect(bool cond) {
  if (!cond) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view header(reinterpret_cast<const char*>(data), size);
  parley::auth::CookieLimits limits;
  limits.header_bytes_max = 1024;
  limits.cookies_max = 16;
  const auto parsed = parley::auth::parse_cookie_header(header, limits);
  if (!parsed.ok()) {
    expect(!parsed.status().message().empty());
    return 0;
  }
  expect(header.size() <= limits.header_bytes_max);
  expect(parsed->cookies.size() + parsed->n_malformed <= limits.cookies_max);
  for (const parley::auth::Cookie& c : parsed->cookies) {
    expect(parley::auth::is_cookie_name(c.name));
    expect(parley::auth::is_cookie_value(c.value));
    // Views point into the input, not into copies.
    expect(c.name.data() >= header.data() && c.name.data() + c.name.size() <= header.data() + header.size());
    expect(parsed->find(c.name).has_value());
    parley::auth::SetCookie set;
    set.name = std::string(c.name);
    set.value = std::string(c.value);
    set.secure = true;
    const auto line = parley::auth::set_cookie_header(set);
    expect(line.ok());
    const std::string sent = line->substr(0, line->find(';'));  // what a browser sends back
    const auto back = parley::auth::parse_cookie_header(sent);  // (views into `sent`)
    expect(back.ok() && back->cookies.size() == 1 && back->cookies[0].value == c.value);
  }
  return 0;
}
