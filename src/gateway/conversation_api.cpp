#include "gateway/conversation_api.h"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>

#include "base/log.h"
#include "chat/chat_template.h"
#include "gateway/conversation_export.h"
#include "gateway/generation.h"
#include "gateway/generation_params.h"
#include "gateway/http_errors.h"
#include "net/url.h"
#include "obs/request_id.h"

namespace parley {
namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr std::string_view kEndpoint = "conversation";  // metrics and logs of generations

HttpHeaders json_headers(const std::string& request_id) {
  return {{"Content-Type", "application/json"}, {"X-Request-Id", request_id}};
}

// The answer for a conversation that is missing, deleted or someone else's: the same in all cases.
Status conversation_not_found() {
  return not_found_error("The conversation does not exist.").with_detail("code", "conversation_not_found");
}

Status not_found_if(const Status& st) {
  return st.code() == ErrorCode::kNotFound ? conversation_not_found() : st;
}

const store::Message* find_message(const store::MessageTree& tree, std::string_view id) {
  for (const store::Message& m : tree.messages) {
    if (m.id == id) return &m;
  }
  return nullptr;
}

// The newest leaf below `id` (following the newest child at each step): switching to a branch
// shows the latest state of that branch, as the UI's sibling switcher expects.
std::string newest_leaf_below(const store::MessageTree& tree, std::string id) {
  std::unordered_map<std::string_view, const store::Message*> newest_child;
  for (const store::Message& m : tree.messages) {  // by seq: a later child replaces an earlier one
    if (!m.parent_id.empty()) newest_child[m.parent_id] = &m;
  }
  for (std::size_t steps = 0; steps <= tree.messages.size(); ++steps) {
    const auto it = newest_child.find(id);
    if (it == newest_child.end()) break;
    id = it->second->id;
  }
  return id;
}

// The model of the last answer on the path, if any.
std::optional<std::string> path_model(const std::vector<store::Message>& path) {
  for (auto it = path.rbegin(); it != path.rend(); ++it) {
    if (it->role == store::MessageRole::kAssistant && !it->model.empty()) return it->model;
  }
  return std::nullopt;
}

std::string first_user_content(const std::vector<store::Message>& path) {
  for (const store::Message& m : path) {
    if (m.role == store::MessageRole::kUser) return m.content;
  }
  return {};
}

// A store error on a conversation's settings as the API names it ("settings.model").
Status settings_error(const Status& st) {
  const std::string_view param = st.detail("param");
  if (st.code() != ErrorCode::kInvalidArgument || param.empty()) return st;
  return Status(st.code(), std::string(st.message())).with_detail("param", "settings." + std::string(param));
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

enum class ConversationApi::Route {
  kList,
  kCreate,
  kGet,
  kUpdate,
  kDelete,
  kSend,
  kRegenerate,
  kSetLeaf,
  kStop,
  kExport
};

struct ConversationApi::Call {
  HttpRequest request;
  Principal principal;
  std::shared_ptr<HttpResponder> responder;
  std::string request_id;
  std::string conversation_id;
  std::string message_id;
  std::string_view name;  // for the log line: "list", "send", ...
  SteadyClock::time_point arrival;
  RequestTrace trace;

  ModerationContext moderation(std::string model) const {
    ModerationContext ctx;
    if (!principal.local_mode) ctx.user_id = principal.user_id;
    ctx.address = request.remote_address;
    ctx.request_id = request_id;
    ctx.model = std::move(model);
    return ctx;
  }
};

ConversationApi::ConversationApi(store::Store& store, const ModelCatalog& models, GatewayMetrics& metrics,
                                 ConversationApiOptions options)
    : models_(models),
      metrics_(metrics),
      options_(std::move(options)),
      context_(
          std::make_shared<ConversationContext>(store, options_.threads, options_.max_queued, options_.checkpoints)),
      shares_(store, {.limiter = options_.limiter, .shared_per_minute_ip = options_.shared_per_minute_ip}),
      sweeper_(std::make_unique<ReplySweeper>(store, options_.checkpoints.stale_after)) {
  add_routes(routes_);
}

ConversationApi::~ConversationApi() {
  // Replies in flight end and are saved (`interrupted`: their users did not stop them); then the
  // pool saves what is queued.
  context_->shutting_down.store(true);
  context_->active.stop_all();
  if (!context_->active.wait_empty(options_.shutdown_grace)) {
    log_warn("conversation API: {} replies still generating at shutdown", context_->active.size());
  }
  context_->pool.shutdown();
}

void ConversationApi::add_routes(RouteTable& t) {
  const auto route = [&](std::string_view method, std::string_view pattern, Route r, bool json) {
    t.add({.method = method,
           .pattern = pattern,
           .name = "conversations",
           .caller = Caller::kUser,
           .scope = auth::Scope::kChat,  // conversations are chat
           .json_body = json,
           // The largest field plus room for the JSON around it and its escapes.
           .max_body_bytes = json ? 2 * options_.limits.max_content_bytes + (64 << 10) : kIgnoredBodyBytes,
           .on_pool = false,  // start() hands the work to the API's own pool
           .traced = r == Route::kSend || r == Route::kRegenerate,  // they generate
           .handler = [this, r](RouteCall& c) { start(r, c); }});
  };
  route("GET", "/api/conversations", Route::kList, false);
  route("POST", "/api/conversations", Route::kCreate, true);
  route("GET", "/api/conversations/{id}", Route::kGet, false);
  route("PATCH", "/api/conversations/{id}", Route::kUpdate, true);
  route("DELETE", "/api/conversations/{id}", Route::kDelete, false);
  route("POST", "/api/conversations/{id}/messages", Route::kSend, true);
  route("POST", "/api/conversations/{id}/messages/{message_id}/regenerate", Route::kRegenerate, true);
  route("PUT", "/api/conversations/{id}/current_leaf", Route::kSetLeaf, true);
  route("POST", "/api/conversations/{id}/stop", Route::kStop, false);
  route("GET", "/api/conversations/{id}/export", Route::kExport, false);
  shares_.add_routes(t);
}

void ConversationApi::handle(HttpRequest request, const Principal& principal, std::shared_ptr<HttpResponder> responder,
                             std::string request_id) {
  if (request_id.empty()) request_id = request_id_from_header(request.header("X-Request-Id"));
  serve_authenticated(routes_, std::move(request), principal, std::move(responder), std::move(request_id));
}

void ConversationApi::start(Route route, RouteCall& routed) {
  auto call = std::make_shared<Call>();
  call->arrival = SteadyClock::now();
  call->request_id = std::move(routed.request_id);
  call->trace = std::move(routed.trace);
  call->principal = std::move(routed.principal);
  call->responder = std::move(routed.responder);
  call->conversation_id = std::string(routed.param("id"));
  call->message_id = std::string(routed.param("message_id"));
  call->request = std::move(routed.request);
  // Everything else blocks (database, templates, tokenizer): off the I/O thread.
  if (!context_->pool.try_submit([this, call, route] { run(route, *call); })) {
    call->name = "overloaded";
    HttpHeaders h = json_headers(call->request_id);
    h.emplace_back("Retry-After", "1");
    call->responder->respond(503, std::move(h),
                             error_body("The server is busy; try again shortly.", "server_error", "", "overloaded"));
  }
}

void ConversationApi::run(Route route, Call& call) {
  switch (route) {
    case Route::kList:
      call.name = "list";
      return list(call);
    case Route::kCreate:
      call.name = "create";
      return create(call);
    case Route::kGet:
      call.name = "get";
      return get_tree(call);
    case Route::kUpdate:
      call.name = "update";
      return update(call);
    case Route::kDelete:
      call.name = "delete";
      return remove(call);
    case Route::kSend:
      call.name = "send";
      return send(call);
    case Route::kRegenerate:
      call.name = "regenerate";
      return regenerate(call);
    case Route::kSetLeaf:
      call.name = "current_leaf";
      return set_leaf(call);
    case Route::kStop:
      call.name = "stop";
      return stop(call);
    case Route::kExport:
      call.name = "export";
      return export_conversation(call);
  }
}

void ConversationApi::reply(Call& call, int status, std::string body, HttpHeaders headers) {
  if (status == 204) {
    call.responder->respond(status, {{"X-Request-Id", call.request_id}}, {});
  } else {
    call.responder->respond(status, headers.empty() ? json_headers(call.request_id) : std::move(headers),
                            std::move(body));
  }
  const double ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - call.arrival).count();
  log_event(status >= 500 ? LogLevel::kError : LogLevel::kInfo, "request",
            {{"request_id", call.request_id},
             {"endpoint", "conversations"},
             {"action", call.name},
             {"method", call.request.method},
             {"status", status},
             {"user", call.principal.user_id},
             {"duration_ms", ms}});
}

void ConversationApi::reply_error(Call& call, const Status& st) {
  const HttpError e = to_http_error(st);
  if (e.retry_after_s > 0) {
    HttpHeaders h = json_headers(call.request_id);
    h.emplace_back("Retry-After", std::to_string(e.retry_after_s));
    call.responder->respond(e.status, std::move(h), e.body());
    log_event(LogLevel::kWarn, "request",
              {{"request_id", call.request_id},
               {"endpoint", "conversations"},
               {"action", call.name},
               {"status", e.status},
               {"error", e.message}});
    return;
  }
  reply(call, e.status, e.body());
}

// ---- conversations ----------------------------------------------------------------------------

void ConversationApi::list(Call& call) {
  Result<QueryParams> params = parse_query(call.request.query);
  if (!params.ok()) return reply_error(call, params.status().with_detail("param", "query"));
  Result<ListConversationsQuery> q = parse_list_conversations(*params, options_.limits);
  if (!q.ok()) return reply_error(call, q.status());
  store::ConversationQuery query;
  query.page = {q->limit, q->offset};
  query.title_contains = q->search;
  query.include_archived = q->include_archived;
  Result<store::Page<store::Conversation>> page = context_->store.list_conversations(call.principal.user_id, query);
  if (!page.ok()) return reply_error(call, page.status());
  std::vector<ConversationOut> out;
  out.reserve(page->items.size());
  for (const store::Conversation& c : page->items) out.push_back(conversation_out(c));
  reply(call, 200, conversation_list_json(out, page->has_more));
}

void ConversationApi::create(Call& call) {
  Result<CreateConversationRequest> r = parse_create_conversation(call.request.body, options_.limits);
  if (!r.ok()) return reply_error(call, r.status());
  store::Store& db = context_->store;
  const std::string& owner = call.principal.user_id;
  Result<store::Conversation> c = db.create_conversation(owner, r->title, initial_settings(r->settings));
  if (!c.ok()) return reply_error(call, settings_error(c.status()));
  if (r->system_prompt) {
    Result<store::Message> sys = db.append_message(owner, {c->id, "", store::MessageRole::kSystem, *r->system_prompt});
    if (!sys.ok()) {
      // Prepare, then commit: no half-made conversation stays behind.
      (void)db.soft_delete_conversation(owner, c->id);
      return reply_error(call, sys.status().with_detail("param", "system_prompt"));
    }
    c = db.get_conversation(owner, c->id);
    if (!c.ok()) return reply_error(call, c.status());
  }
  reply(call, 201, conversation_json(conversation_out(*c)));
}

void ConversationApi::get_tree(Call& call) {
  store::Store& db = context_->store;
  Result<store::MessageTree> tree = db.get_message_tree(call.principal.user_id, call.conversation_id);
  if (!tree.ok()) return reply_error(call, not_found_if(tree.status()));
  Result<store::UsageTotals> usage = db.conversation_usage(call.principal.user_id, call.conversation_id);
  if (!usage.ok()) return reply_error(call, not_found_if(usage.status()));
  reply(call, 200, tree_response_json(*tree, *usage));
}

void ConversationApi::update(Call& call) {
  Result<UpdateConversationRequest> r = parse_update_conversation(call.request.body, options_.limits);
  if (!r.ok()) return reply_error(call, r.status());
  store::Store& db = context_->store;
  const std::string& owner = call.principal.user_id;
  Result<store::Conversation> c = conversation_not_found();
  if (r->title) {
    c = db.rename_conversation(owner, call.conversation_id, *r->title);
    if (!c.ok()) return reply_error(call, not_found_if(c.status()));
  }
  if (r->archived) {
    c = db.set_conversation_archived(owner, call.conversation_id, *r->archived);
    if (!c.ok()) return reply_error(call, not_found_if(c.status()));
  }
  if (r->settings) {
    c = db.update_conversation_settings(owner, call.conversation_id, settings_update(*r->settings));
    if (!c.ok()) return reply_error(call, settings_error(not_found_if(c.status())));
  }
  reply(call, 200, conversation_json(conversation_out(*c)));
}

void ConversationApi::remove(Call& call) {
  const Status st = context_->store.soft_delete_conversation(call.principal.user_id, call.conversation_id);
  if (!st.ok()) return reply_error(call, not_found_if(st));
  context_->active.stop(call.conversation_id);  // nobody will read those replies
  reply(call, 204, {});
}

void ConversationApi::stop(Call& call) {
  // Only the owner may stop: the registry knows conversations, the store knows owners.
  Result<store::Conversation> c = context_->store.get_conversation(call.principal.user_id, call.conversation_id);
  if (!c.ok()) return reply_error(call, not_found_if(c.status()));
  const std::size_t n = context_->active.stop(call.conversation_id);
  reply(call, 200, fmt::format(R"({{"stopped":{}}})", n));
}

void ConversationApi::set_leaf(Call& call) {
  Result<SetCurrentLeafRequest> r = parse_set_current_leaf(call.request.body, options_.limits);
  if (!r.ok()) return reply_error(call, r.status());
  store::Store& db = context_->store;
  Result<store::MessageTree> tree = db.get_message_tree(call.principal.user_id, call.conversation_id);
  if (!tree.ok()) return reply_error(call, not_found_if(tree.status()));
  if (find_message(*tree, r->message_id) == nullptr) {
    return reply_error(call, invalid_param("message_id", "'message_id' is not a message of this conversation."));
  }
  const std::string leaf = newest_leaf_below(*tree, r->message_id);
  Result<store::Conversation> c = db.set_current_leaf(call.principal.user_id, call.conversation_id, leaf);
  if (!c.ok()) return reply_error(call, not_found_if(c.status()));
  tree->conversation = *c;
  reply(call, 200, conversation_json(conversation_out(*c, current_model(*tree))));
}

void ConversationApi::export_conversation(Call& call) {
  Result<QueryParams> params = parse_query(call.request.query);
  if (!params.ok()) return reply_error(call, params.status().with_detail("param", "query"));
  Result<ExportFormat> format = parse_export_query(*params);
  if (!format.ok()) return reply_error(call, format.status());
  store::Store& db = context_->store;
  Result<store::MessageTree> tree = db.get_message_tree(call.principal.user_id, call.conversation_id);
  if (!tree.ok()) return reply_error(call, not_found_if(tree.status()));
  std::string body;
  std::string content_type;
  std::string file;
  const std::string& title = tree->conversation.title;
  if (*format == ExportFormat::kJson) {
    Result<store::UsageTotals> usage = db.conversation_usage(call.principal.user_id, call.conversation_id);
    if (!usage.ok()) return reply_error(call, not_found_if(usage.status()));
    body = tree_response_json(*tree, *usage);
    content_type = "application/json";
    file = export_file_name(title, "json");
  } else {
    Result<std::vector<store::Message>> path = store::message_path(*tree);
    if (!path.ok()) return reply_error(call, path.status());
    body = export_markdown(title, *path);
    content_type = "text/markdown; charset=utf-8";
    file = export_file_name(title, "md");
  }
  reply(call, 200, std::move(body),
        {{"Content-Type", content_type},
         {"X-Request-Id", call.request_id},
         {"Content-Disposition", "attachment; filename=\"" + file + "\""},
         {"Cache-Control", "no-store"}});
}

// ---- replies ----------------------------------------------------------------------------------

const ServedModel* ConversationApi::find_model(std::string_view id) const {
  return models_.find_or_refresh(id);
}

Result<const ServedModel*> ConversationApi::choose_model(const std::string& requested,
                                                         const store::ConversationSettings& settings,
                                                         const std::vector<store::Message>& path) const {
  if (!requested.empty()) {
    if (const ServedModel* m = find_model(requested)) return m;
    return model_not_found_error(requested);
  }
  // A setting outlives the models an operator serves: one no longer served is passed over.
  if (settings.model) {
    if (const ServedModel* m = find_model(*settings.model)) return m;
  }
  if (const std::optional<std::string> last = path_model(path)) {
    if (const ServedModel* m = find_model(*last)) return m;
  }
  if (const ServedModel* first = models_.first()) return first;
  return unavailable_error("No model is loaded.");
}

namespace {

// The prompt of a reply: the path's messages through the model's chat template, tokenized, with
// the same sampling and context checks as /v1/chat/completions. The conversation's settings are
// defaults: the request's own fields win.
Result<GenerateRequest> build_request(const ServedModel& model, const std::vector<store::Message>& path,
                                      const ReplyOptions& options, const store::ConversationSettings& settings,
                                      const Principal& principal) {
  std::vector<chat::ChatMessage> messages;
  messages.reserve(path.size() + 1);
  // The settings' system prompt leads unless the conversation has its own (given at creation).
  if (settings.system_prompt && (path.empty() || path.front().role != store::MessageRole::kSystem)) {
    messages.push_back({"system", *settings.system_prompt});
  }
  for (const store::Message& m : path) messages.push_back({std::string(store::message_role_name(m.role)), m.content});
  chat::ChatInput input;
  input.messages = chat::messages_value(messages);
  Result<std::vector<TokenId>> tokens = model.chat_prompt(std::move(input));
  if (!tokens.ok()) return tokens.status().with_detail("param", "content");
  const auto n_prompt = static_cast<std::int64_t>(tokens->size());
  if (n_prompt == 0) return invalid_param("content", "The prompt is empty.");
  // A conversation that outgrew the context is refused, not silently trimmed: what the model
  // sees stays what the user sees, and editing an earlier message starts a shorter branch.
  if (n_prompt >= model.n_ctx() || (options.max_tokens && n_prompt + *options.max_tokens > model.n_ctx())) {
    return context_error(model.n_ctx(), n_prompt, options.max_tokens.value_or(0), "content");
  }
  // A default from the settings is a ceiling, not a demand: capped to the room that is left.
  std::optional<std::int64_t> max_tokens = options.max_tokens;
  if (!max_tokens && settings.max_tokens) max_tokens = std::min(*settings.max_tokens, model.n_ctx() - n_prompt);
  SamplingFields sampling = options.sampling;
  if (!sampling.temperature) sampling.temperature = settings.temperature;
  ASSIGN_OR_RETURN(SamplingParams sp, sampling_from(sampling, -1, model.tokenizer().n_tokens(), 0));
  GenerateRequest g;
  g.prompt = std::move(*tokens);
  g.sampling = std::move(sp);
  g.max_tokens = static_cast<std::int32_t>(max_tokens.value_or(0));
  g.ignore_eos = options.sampling.ignore_eos;
  g.tenant = principal.user_id;               // the engine's fairness unit: one user cannot starve the others
  g.cache_scope = cache_scope_of(principal);  // and the prefix cache's: nobody sees another's hits
  return g;
}

}  // namespace

Result<std::optional<UsageTicket>> ConversationApi::admit(const Call& call, const ServedModel& model,
                                                          const GenerateRequest& request) {
  if (options_.usage == nullptr) return std::optional<UsageTicket>();
  const auto n_prompt = static_cast<std::int64_t>(request.prompt.size());
  const std::int64_t completion = request.max_tokens > 0 ? request.max_tokens : model.n_ctx() - n_prompt;
  ASSIGN_OR_RETURN(UsageTicket t, options_.usage->admit(call.principal, n_prompt + completion));
  t.conversation_id = call.conversation_id;  // its usage row names the conversation
  return std::optional<UsageTicket>(std::move(t));
}

Status ConversationApi::start_reply(Call& call, const ServedModel& model, const std::vector<store::Message>& path,
                                    GenerateRequest request, const ReplyOptions& options,
                                    const std::optional<store::Message>& user_message,
                                    std::optional<UsageTicket> usage_ticket) {
  ConversationReply::Params p;
  p.context = context_;
  p.principal = call.principal;
  p.conversation_id = call.conversation_id;
  p.parent_id = path.back().id;
  p.model = model.id();
  p.request_id = call.request_id;
  p.user_message = user_message;
  p.usage = options_.usage;
  p.title_source = first_user_content(path);
  p.responder = call.responder;
  p.trace = call.trace;
  auto observer = std::make_shared<ConversationReply>(std::move(p));
  JobSpec spec;
  spec.kind = ApiKind::kChat;
  spec.request_id = call.request_id;
  spec.model = model.id();
  spec.endpoint = std::string(kEndpoint);
  spec.created = unix_now();
  spec.stream = true;
  spec.stop = options.sampling.stop;
  spec.user = call.principal.user_id;
  spec.arrival = call.arrival;
  spec.trace = call.trace;
  spec.observer = observer;
  spec.moderation = options_.moderation;  // a blocked reply is saved with finish_reason "content_filter"
  spec.moderation_context = call.moderation(model.id());
  spec.chat_output = reasoning_plan(model.tool_syntax(), model.tokenizer(), request.prompt);  // thinking apart
  if (usage_ticket) {  // the job hands it back with the computed tokens once the reply has ended
    spec.usage = options_.usage;
    spec.ticket = std::move(*usage_ticket);
  }
  auto job = GenerationJob::create(std::move(spec), model.tokenizer(), model.engine(), call.responder, metrics_);
  const std::uint64_t active_id = context_->active.add(call.conversation_id, job);
  observer->set_ticket(active_id);
  std::vector<ChoiceInput> choices;
  choices.push_back({0, std::move(request)});
  if (Status st = job->start(std::move(choices)); !st.ok()) {
    context_->active.remove(active_id);
    return st;
  }
  return ok_status();
}

void ConversationApi::send(Call& call) {
  Result<SendMessageRequest> r = parse_send_message(call.request.body, options_.limits);
  if (!r.ok()) return reply_error(call, r.status());
  store::Store& db = context_->store;
  const std::string& owner = call.principal.user_id;
  Result<store::MessageTree> tree = db.get_message_tree(owner, call.conversation_id);
  if (!tree.ok()) return reply_error(call, not_found_if(tree.status()));
  // The message answered: the given parent ("" = a new root), else the current leaf.
  const std::string parent = r->parent_id ? *r->parent_id : tree->conversation.current_leaf_id;
  std::vector<store::Message> path;
  if (!parent.empty()) {
    if (find_message(*tree, parent) == nullptr) {
      return reply_error(call, invalid_param("parent_id", "'parent_id' is not a message of this conversation."));
    }
    Result<std::vector<store::Message>> p = store::message_path(*tree, parent);
    if (!p.ok()) return reply_error(call, p.status());
    path = std::move(*p);
  }
  const store::ConversationSettings& settings = tree->conversation.settings;
  Result<const ServedModel*> model = choose_model(r->reply.model, settings, path);
  if (!model.ok()) return reply_error(call, model.status());
  // The input rules before anything is saved: a block is a 400 that leaves the conversation as it
  // was, a redaction is what the store and the model get.
  if (options_.moderation != nullptr) {
    const ModerationContext ctx = call.moderation((*model)->id());
    Status st = options_.moderation->screen(ctx, policy::Role::kUser, &r->content);
    if (st.ok()) st = options_.moderation->guard(ctx, "user", r->content);
    if (!st.ok()) return reply_error(call, st.with_detail("param", "content"));
  }
  // Check the whole prompt before saving anything: a message that cannot be answered (too long,
  // refused by the template) is a 400 that leaves the conversation as it was.
  store::Message pending;
  pending.role = store::MessageRole::kUser;
  pending.content = r->content;
  path.push_back(pending);
  Result<GenerateRequest> request = build_request(**model, path, r->reply, settings, call.principal);
  if (!request.ok()) return reply_error(call, request.status());
  Result<std::optional<UsageTicket>> ticket = admit(call, **model, *request);
  if (!ticket.ok()) return reply_error(call, ticket.status());
  Result<store::Message> user =
      db.append_message(owner, {call.conversation_id, parent, store::MessageRole::kUser, r->content});
  if (!user.ok()) {
    // Nothing will be generated: give back the tokens admit() reserved.
    if (*ticket) options_.usage->record(**ticket, (*model)->id(), 0, 0);
    return reply_error(call, not_found_if(user.status()));
  }
  path.back() = *user;
  // If the engine refuses now (queue full: 429), the user message stays, answered by nothing:
  // the client may regenerate on it.
  if (Status st = start_reply(call, **model, path, std::move(*request), r->reply, *user, std::move(*ticket)); !st.ok())
    return reply_error(call, st);
}

void ConversationApi::regenerate(Call& call) {
  Result<ReplyOptions> r = parse_regenerate(call.request.body, options_.limits);
  if (!r.ok()) return reply_error(call, r.status());
  Result<store::MessageTree> tree = context_->store.get_message_tree(call.principal.user_id, call.conversation_id);
  if (!tree.ok()) return reply_error(call, not_found_if(tree.status()));
  const store::Message* target = find_message(*tree, call.message_id);
  if (target == nullptr)
    return reply_error(call, not_found_error("The message does not exist.").with_detail("code", "message_not_found"));
  // An answer is regenerated as a sibling (same user message); a user message gets a new answer.
  std::string leaf;
  if (target->role == store::MessageRole::kAssistant) {
    leaf = target->parent_id;
  } else if (target->role == store::MessageRole::kUser) {
    leaf = target->id;
  }
  if (leaf.empty()) {
    return reply_error(call, invalid_argument_error("Only an answer or a user message can be regenerated.")
                                 .with_detail("param", "message_id"));
  }
  Result<std::vector<store::Message>> path = store::message_path(*tree, leaf);
  if (!path.ok()) return reply_error(call, path.status());
  std::vector<store::Message> with_target = *path;
  if (target->role == store::MessageRole::kAssistant) with_target.push_back(*target);  // prefer its model
  const store::ConversationSettings& settings = tree->conversation.settings;
  Result<const ServedModel*> model = choose_model(r->model, settings, with_target);
  if (!model.ok()) return reply_error(call, model.status());
  Result<GenerateRequest> request = build_request(**model, *path, *r, settings, call.principal);
  if (!request.ok()) return reply_error(call, request.status());
  Result<std::optional<UsageTicket>> ticket = admit(call, **model, *request);
  if (!ticket.ok()) return reply_error(call, ticket.status());
  if (Status st = start_reply(call, **model, *path, std::move(*request), *r, std::nullopt, std::move(*ticket));
      !st.ok()) {
    return reply_error(call, st);
  }
}

}  // namespace parley
