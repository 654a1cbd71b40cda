#include "gateway/models_api.h"

#include <boost/json.hpp>

#include "api/conversation_response.h"
#include "base/log.h"
#include "gateway/api_json.h"

namespace parley {

namespace {

namespace json = boost::json;

json::object admin_entry(const ModelAdminInfo& m) {
  json::object o{{"id", m.id},
                 {"object", "model"},
                 {"state", m.status.state.empty() ? "loaded" : m.status.state},
                 {"loaded", m.status.loaded},
                 {"pinned", m.status.pinned},
                 {"memory_bytes", m.memory_bytes},
                 {"streams", m.streams},
                 {"waiters", m.waiters},
                 {"idle_s", m.idle_s}};
  o["size_bytes"] = m.status.size_bytes >= 0 ? json::value(m.status.size_bytes) : json::value(nullptr);
  o["error"] = m.error.empty() ? json::value(nullptr) : json::value(m.error);
  return o;
}

std::vector<ModelAdminInfo> admin_models(const ModelCatalog& models, const ModelControl* control) {
  if (control != nullptr) return control->admin_list();
  std::vector<ModelAdminInfo> out;
  for (const ServedModel* m : models.list()) {
    ModelAdminInfo a;
    a.id = m->id();
    a.status.pinned = true;
    out.push_back(std::move(a));
  }
  return out;
}

void admin_action(RouteCall& c, const ModelCatalog& models, std::string_view action) {
  const std::string id(c.param("id"));
  std::shared_ptr<ModelControl> control = models.control();
  if (!control) {
    return api_json::reply_error(
        *c.responder, c.request_id,
        Status(ErrorCode::kFailedPrecondition,
               "This server loads its models for good; start it with --models-dir (or [on_demand]) to load and "
               "unload them on demand."));
  }
  Status st = action == "load"     ? control->load(id)
              : action == "unload" ? control->unload(id)
              : action == "pin"    ? control->pin(id, true)
                                   : control->pin(id, false);
  if (!st.ok()) return api_json::reply_error(*c.responder, c.request_id, st.with_detail("param", "id"));
  log_event(LogLevel::kInfo, "admin_model",
            {{"model", id}, {"action", std::string(action)}, {"request_id", c.request_id}});
  for (const ModelAdminInfo& m : control->admin_list()) {
    if (m.id == id) return api_json::reply(*c.responder, 200, c.request_id, admin_entry(m));
  }
  api_json::reply_error(*c.responder, c.request_id, not_found_error("no model '{}'", id));
}

}  // namespace

void add_admin_model_routes(RouteTable& table, const ModelCatalog& models) {
  table.add({.method = "GET",
             .pattern = "/api/admin/models",
             .name = "admin_models",
             .caller = Caller::kUser,
             .admin = true,
             .handler = [&models](RouteCall& c) {
               std::shared_ptr<ModelControl> control = models.control();
               json::array data;
               for (const ModelAdminInfo& m : admin_models(models, control.get())) data.push_back(admin_entry(m));
               json::object body{{"object", "list"}, {"data", std::move(data)}};
               body["memory_bytes_used"] = control ? control->memory_used() : 0;
               body["memory_bytes_limit"] = control ? control->memory_limit() : 0;
               api_json::reply(*c.responder, 200, c.request_id, body);
             }});
  static constexpr std::pair<std::string_view, std::string_view> kActions[] = {
      {"load", "/api/admin/models/{id}/load"},
      {"unload", "/api/admin/models/{id}/unload"},
      {"pin", "/api/admin/models/{id}/pin"},
      {"unpin", "/api/admin/models/{id}/unpin"}};
  for (const auto& entry : kActions) {
    const std::string_view action = entry.first;  // clang 14 cannot capture a structured binding
    table.add({.method = "POST",
               .pattern = entry.second,
               .name = "admin_models",
               .caller = Caller::kUser,
               .admin = true,
               .handler = [&models, action](RouteCall& c) { admin_action(c, models, action); }});
  }
}

void add_ui_model_routes(RouteTable& table, const ModelCatalog& models) {
  table.add(
      {.method = "GET",
       .pattern = "/api/models",
       .name = "models",
       .caller = Caller::kUser,
       .scope = std::nullopt,  // "models" or "chat": checked below (a route names one scope)
       .on_pool = false,       // answers from memory
       .handler = [&models](RouteCall& c) {
         if (!c.principal.may(auth::Scope::kModels) && !c.principal.may(auth::Scope::kChat)) {
           return api_json::reply_error(
               *c.responder, c.request_id,
               Status(ErrorCode::kPermissionDenied, "This API key lacks the 'models' or 'chat' scope.")
                   .with_detail("code", "insufficient_scope"));
         }
         std::vector<UiModelOut> out;
         for (const ServedModel* m : models.list()) out.push_back({m->id(), m->n_ctx(), m->demo(), "parley"});
         c.responder->respond(
             200, {{"Content-Type", "application/json"}, {"X-Request-Id", c.request_id}, {"Cache-Control", "no-store"}},
             ui_model_list_json(out));
       }});
}

}  // namespace parley
