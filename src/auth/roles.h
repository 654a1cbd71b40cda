// Roles of accounts and scopes of API keys.
//
// A role belongs to a user: `user` may chat and manage its own keys and conversations; `admin`
// may also manage users, limits and models. A scope belongs to an API key and narrows what the
// key may do below its owner's role: a key for a script that only lists models needs no "chat".
// A key never gets a scope its owner's role lacks (check_scopes_for_role), and the role is
// checked again at request time, so demoting a user disarms their keys' admin scope at once.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/status.h"

namespace parley::auth {

enum class Role : unsigned char { kUser, kAdmin };

// "user" / "admin".
std::string_view role_name(Role role);
// Exact, lowercase names; kInvalidArgument names the accepted values.
Result<Role> parse_role(std::string_view name);

enum class Scope : std::uint8_t {
  kChat = 1u << 0,    // "chat": /v1/chat/completions, /v1/completions
  kModels = 1u << 1,  // "models": /v1/models
  kAdmin = 1u << 2,   // "admin": the admin API (users, keys of others, limits); admin role only
  // "batch": not a permission but a restriction: the key's completions run in the engine's batch
  // priority class (they fill idle capacity; a nightly job's key), whatever the request asks.
  // Any role's key may have it; a session never does.
  kBatch = 1u << 3,
};

std::string_view scope_name(Scope scope);
Result<Scope> parse_scope(std::string_view name);

// A set of scopes; a value type.
class ScopeSet {
 public:
  constexpr ScopeSet() = default;
  constexpr ScopeSet(std::initializer_list<Scope> scopes) {
    for (const Scope s : scopes) add(s);
  }

  constexpr bool has(Scope s) const { return (bits_ & static_cast<std::uint8_t>(s)) != 0; }
  constexpr void add(Scope s) { bits_ |= static_cast<std::uint8_t>(s); }
  constexpr bool empty() const { return bits_ == 0; }
  // True when every scope of `other` is in this set.
  constexpr bool contains(ScopeSet other) const { return (other.bits_ & ~bits_) == 0; }
  constexpr std::uint8_t bits() const { return bits_; }
  friend constexpr bool operator==(ScopeSet, ScopeSet) = default;

  // Canonical text: names in declaration order joined by ",", e.g. "chat,models" (what the store
  // keeps; parse_scope_list reads it back).
  std::string to_string() const;

 private:
  std::uint8_t bits_ = 0;
};

// What a new key gets when its creator names no scopes.
inline constexpr ScopeSet kDefaultKeyScopes{Scope::kChat, Scope::kModels};

// Every scope a user of `role` may hold (what a session gets: never "batch").
ScopeSet scopes_for_role(Role role);
// Every scope a key of a user of `role` may have: the role's, and "batch".
ScopeSet key_scopes_for_role(Role role);

// "chat,models" or "chat models" (commas and/or spaces separate). kInvalidArgument (detail
// "param" = "scopes") for an unknown scope (the message lists the known ones), a scope named
// twice, or an empty list.
Result<ScopeSet> parse_scope_list(std::string_view text);

// OK when a user of `role` may create a key with `scopes`; kPermissionDenied naming the first
// scope the role lacks.
Status check_scopes_for_role(ScopeSet scopes, Role role);

}  // namespace parley::auth
