#include "kv/kv_tier.h"

#include <sodium.h>

#include "base/check.h"

namespace parley {
namespace {

class Hasher {
 public:
  explicit Hasher(std::string_view tag) {
    CHECK(sodium_init() >= 0, "libsodium failed to initialize");
    crypto_generichash_init(&state_, nullptr, 0, crypto_generichash_BYTES);
    add(tag.data(), tag.size());
  }
  Hasher& add(const void* p, std::size_t n) {
    crypto_generichash_update(&state_, static_cast<const unsigned char*>(p), n);
    return *this;
  }
  Hasher& add(const TierDigest& d) { return add(d.data(), d.size()); }
  TierDigest finish() {
    static_assert(crypto_generichash_BYTES == sizeof(TierDigest));
    TierDigest out{};
    crypto_generichash_final(&state_, out.data(), out.size());
    return out;
  }

 private:
  crypto_generichash_state state_{};
};

}  // namespace

TierDigest tier_root(const TierDigest& model_id, std::string_view kv_format) {
  const std::uint64_t n = kv_format.size();
  return Hasher("parley-kv-root").add(model_id).add(&n, sizeof(n)).add(kv_format.data(), kv_format.size()).finish();
}

TierDigest tier_scope_id(std::string_view cache_scope) {
  TierDigest d = Hasher("parley-kv-scope").add(cache_scope.data(), cache_scope.size()).finish();
  if (d == kSharedTierScope) d[0] = 1;
  return d;
}

TierDigest tier_block_digest(const TierDigest& parent, const TierDigest& scope, std::span<const std::int32_t> tokens) {
  const std::uint64_t n = tokens.size();
  return Hasher("parley-kv-block")
      .add(parent)
      .add(scope)
      .add(&n, sizeof(n))
      .add(tokens.data(), tokens.size_bytes())
      .finish();
}

TierDigest tier_hash(std::span<const std::byte> bytes) {
  return Hasher("parley-kv-hash").add(bytes.data(), bytes.size()).finish();
}

std::string tier_hex(const TierDigest& d) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(d.size() * 2, '0');
  for (std::size_t i = 0; i < d.size(); ++i) {
    s[2 * i] = kHex[d[i] >> 4];
    s[2 * i + 1] = kHex[d[i] & 15];
  }
  return s;
}

}  // namespace parley
