// Request ids: what the API returns in X-Request-Id and every log line carries. A client's own
// X-Request-Id is kept when it is sane (printable ASCII, at most 128 bytes); otherwise a new
// random one is made.
#pragma once

#include <string>
#include <string_view>

namespace parley {

// "req_" + 24 random hex digits.
std::string new_request_id();
// The client's id if acceptable, else a new one.
std::string request_id_from_header(std::string_view header);

}  // namespace parley
