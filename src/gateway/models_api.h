// GET /api/models: the served models as the web UI needs them (its model picker, and the banner
// for the demo model), docs/api.md has the shape:
//
//   {"object":"list","data":[{"id","object":"model","context_length","demo","owned_by"}]}
//
// Who may call it: any signed-in caller (a browser session, the local user) and an API key with
// the "models" or the "chat" scope (a key made for chatting may see what it can chat with); a
// key with neither is 403 insufficient_scope. /v1/models stays OpenAI's (API keys only).
//
// Thread safety: the handler reads the catalog (thread-safe).
#pragma once

#include <memory>
#include <vector>

#include "gateway/model_catalog.h"
#include "gateway/route_table.h"

namespace parley {

// Adds GET /api/models to `table`; `models` must outlive it.
void add_ui_model_routes(RouteTable& table, const ModelCatalog& models);

// The admin API of models loaded on demand (the admin role; docs/api.md):
//
//   GET  /api/admin/models                  {"object":"list","data":[{id, state, loaded, pinned, size_bytes,
//                                           memory_bytes, streams, waiters, idle_s, error}],
//                                           "memory_bytes_used", "memory_bytes_limit"}
//   POST /api/admin/models/{id}/load        loads it now (waits; 503 as a request would)
//   POST /api/admin/models/{id}/unload      begins unloading it (its streams finish first)
//   POST /api/admin/models/{id}/pin         keeps it loaded for good (and begins loading it)
//   POST /api/admin/models/{id}/unpin
//
// The actions answer the model's entry. A server without models loaded on demand lists its
// models as loaded and pinned, and refuses the actions (400).
void add_admin_model_routes(RouteTable& table, const ModelCatalog& models);

}  // namespace parley
