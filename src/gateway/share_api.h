// ShareApi: read-only public links to a snapshot of a conversation (docs/api.md, "Share links"):
//
//   POST   /api/conversations/{id}/shares   {}   201 a new link to the current path (root -> leaf)
//   GET    /api/conversations/{id}/shares        the conversation's links, newest first, revoked too
//   DELETE /api/shares/{share_id}                revokes (200 the share; 404 when not the caller's)
//   GET    /api/shared/{token}                   the snapshot, for anyone with the link
//
// The owner's routes are the conversation API's (a session or a key with the "chat" scope; 404
// for what is not the caller's). The public one takes no credentials: the token is the credential
// (32 random bytes from auth's CSPRNG, base64url), looked up as a key in the store. It is rate
// limited per client address, shows the title and the messages of the snapshot without system
// messages (a system prompt is the owner's configuration, not part of the chat), and nothing else
// of the owner; it answers 404 share_not_found for an unknown or revoked token, a deleted
// conversation or a disabled owner, always with `X-Robots-Tag: noindex, nofollow` and
// `Cache-Control: no-store`. Messages are immutable, so the leaf id is the snapshot: later
// messages and branches are not shown.
//
// Thread safety: the handlers may run concurrently (the gateway's request pool).
#pragma once

#include <cstdint>

#include "auth/rate_limiter.h"
#include "gateway/route_table.h"
#include "store/store.h"

namespace parley {

struct ShareApiOptions {
  auth::RateLimiter* limiter = nullptr;  // for GET /api/shared/{token} per address; null: no limit
  std::int64_t shared_per_minute_ip = 60;
};

class ShareApi {
 public:
  ShareApi(store::Store& store, ShareApiOptions options) : store_(store), options_(options) {}

  // Adds the routes above; the API must outlive the table's use.
  void add_routes(RouteTable& table);

 private:
  void create(RouteCall& call);
  void list(RouteCall& call);
  void revoke(RouteCall& call);
  void view(RouteCall& call);

  store::Store& store_;
  ShareApiOptions options_;
};

// The length of a share token: 32 bytes in base64url without padding.
inline constexpr std::size_t kShareTokenChars = 43;

}  // namespace parley
