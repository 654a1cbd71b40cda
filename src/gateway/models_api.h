// GET /api/models: the served models as the web UI needs them (its model picker, and the banner
// for the demo model), docs/api.md has the shape:
//
//   {"object":"list","data":[{"id","object":"model","context_length","demo","owned_by"}]}
//
// Who may call it: any signed-in caller (a browser session, the local user) and an API key with
// the "models" or the "chat" scope (a key made for chatting may see what it can chat with); a
// key with neither is 403 insufficient_scope. /v1/models stays OpenAI's (API keys only).
//
// Thread safety: the handler only reads the model list, which is fixed once serving starts.
#pragma once

#include <memory>
#include <vector>

#include "gateway/route_table.h"
#include "gateway/served_model.h"

namespace parley {

// Adds GET /api/models to `table`; `models` must outlive it.
void add_ui_model_routes(RouteTable& table, const std::vector<std::unique_ptr<ServedModel>>& models);

}  // namespace parley
