// Principal: who is making a request, as the gateway's authentication step established it. Every
// handler behind /v1/* and /api/* (except sign-up and log-in) receives one, and scopes every store
// call by `user_id`: that is what keeps one user's data from another (the store matches the owner
// in SQL; see store/store.h).
#pragma once

#include <string>

#include "auth/roles.h"

namespace parley {

struct Principal {
  std::string user_id;            // the store's user id (the built-in local user in local mode)
  std::string email;              // the user's email (per-user limit overrides are keyed by it)
  auth::Role role = auth::Role::kUser;
  std::string api_key_id;         // set when the request carried an API key
  auth::ScopeSet scopes;          // the key's scopes; for sessions, everything the role allows
  bool via_session = false;       // authenticated by the session cookie: unsafe methods need CSRF
  bool local_mode = false;        // `parley serve` on loopback without auth (the local user)

  bool is_admin() const { return role == auth::Role::kAdmin; }
  bool may(auth::Scope scope) const { return scopes.has(scope); }
};

}  // namespace parley
