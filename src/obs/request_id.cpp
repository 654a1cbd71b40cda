#include "obs/request_id.h"

#include <fmt/format.h>

#include <atomic>
#include <mutex>
#include <random>

#include "base/rng.h"

namespace parley {

std::string new_request_id() {
  // A per-thread generator seeded from the OS: unique and cheap (ids are not secrets).
  thread_local Rng rng(std::random_device{}() ^ (static_cast<std::uint64_t>(std::random_device{}()) << 32));
  return fmt::format("req_{:016x}{:08x}", rng.next_u64(), static_cast<std::uint32_t>(rng.next_u64()));
}

std::string request_id_from_header(std::string_view header) {
  if (header.empty() || header.size() > 128) return new_request_id();
  for (const char c : header) {
    if (c < 0x21 || c > 0x7E) return new_request_id();
  }
  return std::string(header);
}

}  // namespace parley
