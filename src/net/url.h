// URLs as the HTTP client needs them (http://host:port/path?query) and the percent-decoding the
// server and handlers need for paths and query strings.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace parley {

struct Url {
  std::string scheme;        // "http" or "https", lower-cased
  std::string host;          // name or address; an IPv6 address without its brackets
  std::uint16_t port = 0;    // explicit, else 80 / 443 by scheme
  std::string target = "/";  // path + optional "?query", as given (not decoded); never empty

  // host[:port] as a Host header carries it: brackets around IPv6, port only if not the default.
  std::string authority() const;
};

// Parses "http://host[:port][/path][?query]" (and https). No user-info, no fragment kept.
// Errors: kInvalidArgument.
Result<Url> parse_url(std::string_view text);

// Decodes %XX escapes; with `plus_as_space` (form/query encoding) also '+' -> ' '. A malformed
// escape or an encoded NUL is an error (kInvalidArgument): paths with those are attacks, not typos.
Result<std::string> percent_decode(std::string_view text, bool plus_as_space = false);

// "a=1&b=x+y&c" -> {{"a","1"}, {"b","x y"}, {"c",""}}, each name and value form-decoded, in order.
using QueryParams = std::vector<std::pair<std::string, std::string>>;
Result<QueryParams> parse_query(std::string_view query);

}  // namespace parley
