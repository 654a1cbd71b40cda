#include "gateway/served_model.h"

#include <sys/stat.h>

#include <chrono>
#include <filesystem>

#include "base/log.h"
#include "chat/prompt_mask.h"
#include "gateway/generation_params.h"

namespace parley {

std::string model_id_from_path(const std::string& path) {
  return std::filesystem::path(path).stem().string();
}

ServedModel::~ServedModel() {
  engine_.reset();
}

Result<std::vector<TokenId>> ServedModel::chat_prompt(chat::ChatInput input) const {
  const Vocab& vocab = tokenizer_->vocab();
  input.add_generation_prompt = true;
  input.bos_token = std::string(tokenizer_->token_text(vocab.bos));
  input.eos_token = std::string(tokenizer_->token_text(vocab.eos));
  if (Status st = chat::adapt_chat_input(tool_support_, &input); !st.ok()) {
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("The tools or tool calls cannot be rendered: {}", st.message()));
  }
  ContentMask mask;
  if (!special_tokens_in_content_) {
    Result<ContentMask> m = chat::mask_request_strings(*tokenizer_, *template_, &input);
    if (!m.ok()) return m.status();
    mask = std::move(*m);
  }
  Result<std::string> prompt = template_->render(input);
  if (!prompt.ok()) {
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("The model's chat template rejected the messages: {}", prompt.status().message()));
  }
  std::optional<std::vector<TokenId>> tokens = tokenizer_->encode_at_most(
      *prompt, static_cast<std::size_t>(n_ctx_), {.add_special = false, .parse_special = true, .content_mask = &mask});
  if (!tokens) return context_error_over(n_ctx_, n_ctx_, "messages");
  return std::move(*tokens);
}

namespace {

// For the load log: how tools reach the model.
std::string describe_tool_support(const chat::ToolTemplateSupport& s) {
  if (s.tools && s.tool_calls) return "tools and tool calls in its own format";
  if (s.tool_calls) return "tool calls in its own format, tool definitions in the built-in tool format";
  if (s.tools) return "tool definitions in its own format, tool calls in the built-in tool format";
  return "tools in the built-in tool format";
}

}  // namespace

// A template that parses but cannot render the simplest conversation would fail every chat
// request: the load refuses the model, with the template's own error.
Status ServedModel::check_template_renders() const {
  const chat::ChatMessage hello[] = {{"user", "Hello"}};
  chat::ChatInput input;
  input.messages = chat::messages_value(hello);
  input.add_generation_prompt = true;
  const Vocab& vocab = tokenizer_->vocab();
  input.bos_token = std::string(tokenizer_->token_text(vocab.bos));
  input.eos_token = std::string(tokenizer_->token_text(vocab.eos));
  RETURN_IF_ERROR(chat::adapt_chat_input(tool_support_, &input));
  return template_->render(input).status();
}

Result<std::unique_ptr<ServedModel>> ServedModel::load(const ServedModelOptions& o) {
  std::unique_ptr<ServedModel> m(new ServedModel());
  m->id_ = o.id.empty() ? model_id_from_path(o.path) : o.id;
  ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> file, GgufFile::open(o.path));
  m->file_ = std::shared_ptr<const GgufFile>(std::move(file));
  ASSIGN_OR_RETURN(m->tokenizer_, Tokenizer::from_gguf(*m->file_));
  // What constrained decoding needs to know about the vocabulary, once (a trie of every token's
  // bytes), so that no request pays for it.
  const auto grammar_t0 = std::chrono::steady_clock::now();
  m->grammar_compiler_ = std::make_unique<GrammarCompiler>(TokenVocabulary::create(*m->tokenizer_));
  const double grammar_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - grammar_t0).count();
  Result<chat::ChatTemplate> tmpl = chat::chat_template_for(m->tokenizer_->vocab());
  if (!tmpl.ok()) return tmpl.status().with_context(fmt::format("{}: the model's chat template", o.path));
  m->template_ = std::move(*tmpl);
  m->tool_support_ = chat::probe_tool_template(*m->template_);
  if (Status st = m->check_template_renders(); !st.ok()) {
    return st.with_context(
        fmt::format("{}: the model's chat template cannot render a one-message conversation", o.path));
  }
  m->has_own_template_ = !m->tokenizer_->vocab().chat_template.empty();
  // A template that does not show the tools (as the probe found) gets them in the built-in
  // format in the system prompt: the model is asked for that format's calls.
  m->tool_syntax_ = ToolSyntax::create(m->tokenizer_->vocab().chat_template, *m->tokenizer_,
                                       m->tool_support_.tools ? std::nullopt : std::optional(ToolFamily::kBuiltin));
  m->special_tokens_in_content_ = o.special_tokens_in_content;
  m->demo_ = o.demo;
  if (o.special_tokens_in_content) {
    log_warn(
        "model '{}': special_tokens_in_content is on: control-token text in messages becomes control tokens "
        "(users can forge system and assistant turns)",
        m->id_);
  }
  ASSIGN_OR_RETURN(m->backend_, create_backend(o.backend, {.n_threads = o.threads}));
  ASSIGN_OR_RETURN(m->model_, Model::from_file(m->file_, *m->backend_));
  const ModelHParams& h = m->model_->hparams();
  m->n_ctx_ = static_cast<std::int32_t>(o.n_ctx > 0 ? o.n_ctx : h.n_ctx_train);

  LocalEngineOptions eo;
  eo.engine.n_ctx = m->n_ctx_;
  eo.engine.max_waiting = o.max_waiting;
  eo.engine.scheduler.max_batch_tokens = o.max_batch_tokens;
  eo.engine.scheduler.max_running = o.max_running;
  const double target_ms = o.target_itl_ms < 0 ? default_target_itl_ms(m->backend_->name()) : o.target_itl_ms;
  eo.engine.scheduler.target_step_s = target_ms / 1000;
  eo.engine.scheduler.max_prefill_per_tenant = o.max_prefill_per_tenant;
  eo.engine.eog_tokens = m->tokenizer_->vocab().eog;
  eo.kv_bytes = o.kv_cache_bytes;
  ASSIGN_OR_RETURN(m->engine_, LocalEngine::start(*m->model_, eo));

  struct stat st {};
  m->created_ = ::stat(o.path.c_str(), &st) == 0 ? static_cast<std::int64_t>(st.st_mtime) : 0;
  log_info(
      "model '{}' ready: {} ({} layers, {} embd, context {}), {} chat template ({}; tool calls: {}), backend {}; "
      "grammar vocabulary of {} tokens in {:.0f} ms",
      m->id_, o.path, h.n_layer, h.n_embd, m->n_ctx_, m->has_own_template_ ? "its own" : "the built-in ChatML",
      describe_tool_support(m->tool_support_), tool_family_name(m->tool_syntax_.family()), m->backend_->name(),
      m->tokenizer_->n_tokens(), grammar_ms);
  return m;
}

}  // namespace parley
