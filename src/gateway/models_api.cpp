#include "gateway/models_api.h"

#include "api/conversation_response.h"
#include "gateway/api_json.h"

namespace parley {

void add_ui_model_routes(RouteTable& table, const std::vector<std::unique_ptr<ServedModel>>& models) {
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
         out.reserve(models.size());
         for (const auto& m : models) out.push_back({m->id(), m->n_ctx(), m->demo(), "parley"});
         c.responder->respond(
             200, {{"Content-Type", "application/json"}, {"X-Request-Id", c.request_id}, {"Cache-Control", "no-store"}},
             ui_model_list_json(out));
       }});
}

}  // namespace parley
