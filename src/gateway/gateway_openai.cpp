// Gateway: the OpenAI-compatible endpoints (/v1/models, /v1/chat/completions, /v1/completions).
// Their callers are admitted already (gateway.cpp): an API key with the route's scope, or the
// local user.
#include <fmt/format.h>

#include <chrono>

#include "base/log.h"
#include "chat/json.h"
#include "gateway/gateway.h"
#include "gateway/generation.h"
#include "gateway/generation_params.h"
#include "gateway/http_errors.h"
#include "gateway/structured_output.h"
#include "gateway/tool_calling.h"
#include "obs/request_id.h"

namespace parley {

// moderation_api.cpp: the input rules on every message; *last_user: the last user message's text.
Status screen_chat_messages(Moderation& m, const ModerationContext& ctx, std::string* messages_json,
                            std::string* last_user);

namespace {

using Clock = std::chrono::steady_clock;

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

HttpHeaders json_headers(const std::string& request_id) {
  return {{"Content-Type", "application/json"}, {"X-Request-Id", request_id}};
}

// The grammar of a request's response_format (nullptr: none), compiled here, on the request pool,
// with the model's cached compiler; the wait is observed in parley_grammar_compile_seconds.
Result<CompiledGrammarPtr> response_format_grammar_for(const ServedModel& m,
                                                       const std::optional<ResponseFormat>& format,
                                                       GatewayMetrics& metrics) {
  if (!format || format->type == ResponseFormat::Type::kText) return CompiledGrammarPtr();
  const auto t0 = Clock::now();
  Result<CompiledGrammarPtr> grammar = response_format_grammar(m.grammar_compiler(), format);
  metrics.grammar_compile.with({m.id()}).observe(std::chrono::duration<double>(Clock::now() - t0).count());
  return grammar;
}

// Tools, tool_choice and reasoning (gateway/tool_calling.h): `proto` (prompt and response_format
// grammar set) gets the tool grammar and triggers; compile time is observed as for formats.
Result<ChatOutputPlan> attach_tools_for(const ServedModel& m, const ChatCompletionRequest& r, GenerateRequest* proto,
                                        GatewayMetrics& metrics) {
  const auto t0 = Clock::now();
  Result<ChatOutputPlan> plan = attach_tools(r, m.tool_syntax(), m.tokenizer(), m.grammar_compiler(), proto);
  if (proto->grammar) {
    metrics.grammar_compile.with({m.id()}).observe(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return plan;
}

}  // namespace

void Gateway::reply_error(HttpResponder& responder, const std::string& request_id, const Status& st,
                          const std::string& model, const std::string& endpoint) {
  const HttpError e = to_http_error(st);
  HttpHeaders headers = json_headers(request_id);
  if (e.retry_after_s > 0) headers.emplace_back("Retry-After", std::to_string(e.retry_after_s));
  responder.respond(e.status, std::move(headers), e.body());
  // The model name is the client's: label metrics only with served ids (an unbounded label set
  // would let clients grow the registry without limit) and cap what the log keeps.
  const std::string label = find_model(model) != nullptr ? model : "";
  metrics_.requests.with({label, endpoint, std::to_string(e.status)}).inc();
  log_event(e.status >= 500 ? LogLevel::kError : LogLevel::kInfo, "request",
            {{"request_id", request_id},
             {"endpoint", endpoint},
             {"model", model.substr(0, 256)},
             {"status", e.status},
             {"error", e.message}});
}

void Gateway::get_model(RouteCall& c) {
  const std::string id(c.param("id"));
  if (const ServedModel* m = catalog_.find_or_refresh(id)) {
    c.responder->respond(200, json_headers(c.request_id), model_json(model_info(*m)));
  } else {
    reply_error(*c.responder, c.request_id, model_not_found_error(id), id, "models");
  }
}

void Gateway::start_job(JobSpec spec, const Principal& who, std::int64_t tokens_upper_bound, const ServedModel& m,
                        std::vector<ChoiceInput> choices, const std::shared_ptr<HttpResponder>& responder) {
  UsageRecorder& usage = usage_recorder();
  Result<UsageTicket> ticket = usage.admit(who, tokens_upper_bound);
  if (!ticket.ok()) return reply_error(*responder, spec.request_id, ticket.status(), spec.model, spec.endpoint);
  spec.usage = &usage;
  spec.ticket = std::move(*ticket);
  const std::string request_id = spec.request_id;
  const std::string model = spec.model;
  const std::string endpoint = spec.endpoint;
  auto job = GenerationJob::create(std::move(spec), m.tokenizer(), m.engine(), responder, metrics_);
  if (Status st = job->start(std::move(choices)); !st.ok()) reply_error(*responder, request_id, st, model, endpoint);
}

ModelInfoOut Gateway::model_info(const ServedModel& m) const {
  ModelInfoOut out{.id = m.id(), .created = m.created()};
  if (const std::optional<ModelStatus> s = catalog_.status(m.id())) {
    out.size_bytes = s->size_bytes;
    out.loaded = s->loaded;
    out.state = s->state;
    out.pinned = s->pinned;
  }
  return out;
}

void Gateway::list_models(const std::string& request_id, HttpResponder& responder) const {
  std::vector<ModelInfoOut> out;
  for (const ServedModel* m : catalog_.list()) out.push_back(model_info(*m));
  responder.respond(200, json_headers(request_id), model_list_json(out));
}

void Gateway::chat_completions(RouteCall& call) {
  const auto arrival = Clock::now();
  const HttpRequest& req = call.request;
  const Principal& who = call.principal;
  const std::string& request_id = call.request_id;
  const std::shared_ptr<HttpResponder>& responder = call.responder;
  Result<ChatCompletionRequest> parsed = parse_chat_completion_request(req.body, options_.limits);
  if (!parsed.ok()) {
    moderation_->record_violation(moderation_context(call, ""), policy::ViolationKind::kMalformedRequest);
    return reply_error(*responder, request_id, parsed.status(), "", "chat");
  }
  ChatCompletionRequest& r = *parsed;
  const ModerationContext screened = moderation_context(call, r.model);
  // The input rules before anything else sees the messages: a block is a 400 with nothing queued,
  // a redaction is what the template, the engine and the logs get.
  std::string last_user;
  Status screened_st = screen_chat_messages(*moderation_, screened, &r.messages_json, &last_user);
  if (screened_st.ok()) screened_st = moderation_->guard(screened, "user", last_user);
  if (!screened_st.ok()) return reply_error(*responder, request_id, screened_st, r.model, "chat");
  if (Status st = check_cache_shared(who, r.cache_shared); !st.ok()) {
    return reply_error(*responder, request_id, st, r.model, "chat");
  }
  const ServedModel* m = catalog_.find_or_refresh(r.model);
  if (m == nullptr) {
    return reply_error(*responder, request_id, catalog_.miss_reason(r.model).value_or(model_not_found_error(r.model)),
                       r.model, "chat");
  }
  // Messages (and tools) go to the chat template as the JSON the client sent, normalised.
  chat::ChatInput input;
  Result<chat::Value> messages = chat::value_from_json(r.messages_json);
  if (!messages.ok())
    return reply_error(*responder, request_id, messages.status().with_detail("param", "messages"), r.model, "chat");
  input.messages = std::move(*messages);
  if (!r.tools_json.empty()) {
    Result<chat::Value> tools = chat::value_from_json(r.tools_json);
    if (!tools.ok())
      return reply_error(*responder, request_id, tools.status().with_detail("param", "tools"), r.model, "chat");
    input.tools = std::move(*tools);
  }
  Result<std::vector<TokenId>> prompt = m->chat_prompt(std::move(input));
  if (!prompt.ok())
    return reply_error(*responder, request_id, prompt.status().with_detail("param", "messages"), r.model, "chat");
  const std::vector<TokenId>& tokens = *prompt;
  const auto n_prompt = static_cast<std::int64_t>(tokens.size());
  if (n_prompt == 0)
    return reply_error(*responder, request_id, invalid_param("messages", "The prompt is empty."), r.model, "chat");
  if (n_prompt >= m->n_ctx() || (r.max_tokens && n_prompt + *r.max_tokens > m->n_ctx())) {
    return reply_error(*responder, request_id,
                       context_error(m->n_ctx(), n_prompt, r.max_tokens.value_or(0), "messages"), r.model, "chat");
  }
  Result<CompiledGrammarPtr> grammar = response_format_grammar_for(*m, r.response_format, metrics_);
  if (!grammar.ok()) return reply_error(*responder, request_id, grammar.status(), r.model, "chat");
  GenerateRequest proto;  // what tools add to every choice's request
  proto.prompt = tokens;
  proto.grammar = *grammar;
  Result<ChatOutputPlan> output = attach_tools_for(*m, r, &proto, metrics_);
  if (!output.ok()) return reply_error(*responder, request_id, output.status(), r.model, "chat");
  // Fair scheduling is per account (the client's `user` field is theirs to choose: it would let
  // one account claim many shares); in local mode, where everyone is the one local user, it is
  // the `user` field as before.
  const std::string tenant = who.local_mode ? r.user : who.user_id;
  std::vector<ChoiceInput> choices;
  for (std::int32_t i = 0; i < r.n; ++i) {
    Result<SamplingParams> sp =
        sampling_from(r.sampling, r.logprobs ? r.top_logprobs : -1, m->tokenizer().n_tokens(), i);
    if (!sp.ok()) return reply_error(*responder, request_id, sp.status(), r.model, "chat");
    GenerateRequest g;
    g.prompt = tokens;
    g.sampling = std::move(*sp);
    g.max_tokens = static_cast<std::int32_t>(r.max_tokens.value_or(0));
    g.ignore_eos = r.sampling.ignore_eos;
    g.tenant = tenant;
    g.priority = priority_of(who, r.priority, options_.role_priority);
    g.cache_scope = cache_scope_of(who);
    if (r.cache_shared) g.cache_shared_tokens = static_cast<std::int32_t>(n_prompt);
    g.grammar = proto.grammar;
    g.grammar_triggers = proto.grammar_triggers;
    choices.push_back({0, std::move(g)});
  }
  JobSpec spec;
  spec.kind = ApiKind::kChat;
  spec.response_id = "chatcmpl-" + new_request_id().substr(4);
  spec.request_id = request_id;
  spec.trace = call.trace;
  spec.model = r.model;
  spec.endpoint = "chat";
  spec.created = unix_now();
  spec.stream = r.stream;
  spec.include_usage = r.include_usage;
  spec.stop = r.sampling.stop;
  spec.n_logprobs = r.logprobs ? r.top_logprobs : -1;
  spec.user = r.user;
  spec.arrival = arrival;
  spec.chat_output = std::move(*output);
  spec.moderation = moderation_.get();
  spec.moderation_context = screened;
  // The most it can cost: the prompt once, plus every choice's completion up to its limit.
  const std::int64_t max_completion = r.max_tokens.value_or(m->n_ctx() - n_prompt);
  start_job(std::move(spec), who, n_prompt + r.n * max_completion, *m, std::move(choices), responder);
}

void Gateway::completions(RouteCall& call) {
  const auto arrival = Clock::now();
  const HttpRequest& req = call.request;
  const Principal& who = call.principal;
  const std::string& request_id = call.request_id;
  const std::shared_ptr<HttpResponder>& responder = call.responder;
  Result<CompletionRequest> parsed = parse_completion_request(req.body, options_.limits);
  if (!parsed.ok()) {
    moderation_->record_violation(moderation_context(call, ""), policy::ViolationKind::kMalformedRequest);
    return reply_error(*responder, request_id, parsed.status(), "", "completions");
  }
  CompletionRequest& r = *parsed;
  const ModerationContext screened = moderation_context(call, r.model);
  for (auto& pr : r.prompts) {
    // Text prompts as a user's message (token prompts are not text the rules can read).
    if (pr.is_tokens) continue;
    Status st = moderation_->screen(screened, policy::Role::kUser, &pr.text);
    if (st.ok()) st = moderation_->guard(screened, "user", pr.text);
    if (!st.ok()) return reply_error(*responder, request_id, st.with_detail("param", "prompt"), r.model, "completions");
  }
  if (Status st = check_cache_shared(who, r.cache_shared); !st.ok()) {
    return reply_error(*responder, request_id, st, r.model, "completions");
  }
  const ServedModel* m = catalog_.find_or_refresh(r.model);
  if (m == nullptr) {
    return reply_error(*responder, request_id, catalog_.miss_reason(r.model).value_or(model_not_found_error(r.model)),
                       r.model, "completions");
  }
  if (r.max_tokens < 1) {
    // (OpenAI's max_tokens 0 with echo returns prompt logprobs, which Parley does not compute.)
    return reply_error(*responder, request_id, invalid_param("max_tokens", "'max_tokens' must be at least 1."), r.model,
                       "completions");
  }
  Result<CompiledGrammarPtr> grammar = response_format_grammar_for(*m, r.response_format, metrics_);
  if (!grammar.ok()) return reply_error(*responder, request_id, grammar.status(), r.model, "completions");
  const std::int32_t n_vocab = m->tokenizer().n_tokens();
  const std::string tenant = who.local_mode ? r.user : who.user_id;  // as in chat_completions
  std::vector<ChoiceInput> choices;
  std::vector<std::string> echo;
  std::int64_t upper_bound = 0;
  for (std::size_t p = 0; p < r.prompts.size(); ++p) {
    const auto& pr = r.prompts[p];
    std::vector<TokenId> tokens;
    if (pr.is_tokens) {
      for (const std::int32_t t : pr.tokens) {
        if (t >= n_vocab) {
          return reply_error(*responder, request_id,
                             invalid_param("prompt", fmt::format("Token id {} is outside the vocabulary.", t)), r.model,
                             "completions");
        }
      }
      tokens.assign(pr.tokens.begin(), pr.tokens.end());
    } else {
      // A raw prompt: BOS as the model adds it; special-token texts are parsed, as other servers do.
      // Tokenization stops past the context (a long text is refused by its size alone).
      std::optional<std::vector<TokenId>> encoded = m->tokenizer().encode_at_most(
          pr.text, static_cast<std::size_t>(m->n_ctx()), {.add_special = true, .parse_special = true});
      if (!encoded) {
        return reply_error(*responder, request_id, context_error_over(m->n_ctx(), m->n_ctx(), "prompt"), r.model,
                           "completions");
      }
      tokens = std::move(*encoded);
    }
    if (r.echo) echo.push_back(pr.is_tokens ? m->tokenizer().decode(tokens) : pr.text);
    const auto n_prompt = static_cast<std::int64_t>(tokens.size());
    upper_bound += n_prompt + r.n * r.max_tokens;
    if (n_prompt == 0)
      return reply_error(*responder, request_id, invalid_param("prompt", "The prompt is empty."), r.model,
                         "completions");
    if (n_prompt >= m->n_ctx() || n_prompt + r.max_tokens > m->n_ctx()) {
      return reply_error(*responder, request_id, context_error(m->n_ctx(), n_prompt, r.max_tokens, "prompt"), r.model,
                         "completions");
    }
    for (std::int32_t i = 0; i < r.n; ++i) {
      const auto choice = static_cast<std::int32_t>(p) * r.n + i;
      Result<SamplingParams> sp = sampling_from(r.sampling, r.logprobs.value_or(-1), n_vocab, choice);
      if (!sp.ok()) return reply_error(*responder, request_id, sp.status(), r.model, "completions");
      GenerateRequest g;
      g.prompt = tokens;
      g.sampling = std::move(*sp);
      g.max_tokens = static_cast<std::int32_t>(r.max_tokens);
      g.ignore_eos = r.sampling.ignore_eos;
      g.tenant = tenant;
      g.priority = priority_of(who, r.priority, options_.role_priority);
      g.cache_scope = cache_scope_of(who);
      if (r.cache_shared) g.cache_shared_tokens = static_cast<std::int32_t>(n_prompt);
      g.grammar = *grammar;
      choices.push_back({static_cast<std::int32_t>(p), std::move(g)});
    }
  }
  JobSpec spec;
  spec.kind = ApiKind::kCompletion;
  spec.response_id = "cmpl-" + new_request_id().substr(4);
  spec.request_id = request_id;
  spec.trace = call.trace;
  spec.model = r.model;
  spec.endpoint = "completions";
  spec.created = unix_now();
  spec.stream = r.stream;
  spec.include_usage = r.include_usage;
  spec.stop = r.sampling.stop;
  spec.n_logprobs = r.logprobs.value_or(-1);
  spec.echo = std::move(echo);
  spec.user = r.user;
  spec.arrival = arrival;
  spec.moderation = moderation_.get();
  spec.moderation_context = screened;
  start_job(std::move(spec), who, upper_bound, *m, std::move(choices), responder);
}

}  // namespace parley
