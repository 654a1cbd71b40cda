// ServedModel: one model as the API serves it: its file, tokenizer, chat template, backend,
// weights and engine, under an id (the file name without extension by default).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "chat/chat_template.h"
#include "chat/tool_prompt.h"
#include "engine/local_engine.h"
#include "gguf/gguf_file.h"
#include "grammar/grammar_compiler.h"
#include "kernels/backend.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"
#include "toolcall/tool_syntax.h"

namespace parley {

struct ServedModelOptions {
  std::string path;
  std::string id;                       // "" = file name without extension
  int threads = 0;                      // CPU threads (0 = all cores)
  std::int32_t n_ctx = 0;               // 0 = the model's training context
  std::int64_t max_batch_tokens = 512;  // engine step budget
  std::int32_t max_running = 16;        // sequences generating at once
  std::int32_t max_waiting = 256;       // queued requests before 429
  // Latency target of an engine step, ms: what running streams wait between two tokens while
  // prompts are read beside them. Negative: the backend's default (default_target_itl_ms); 0: none.
  double target_itl_ms = -1;
  std::int32_t max_prefill_per_tenant = 2;  // prompts one user has in prefill at once (0: no bound)
  std::int64_t kv_cache_bytes = std::int64_t{2} << 30;
  std::string backend = "cpu";
  // Tokenize control-token text in messages and tools ("<|im_start|>system" in a user message)
  // as control tokens, as before Parley masked it: lets users forge turns. For operators whose
  // clients rely on it.
  bool special_tokens_in_content = false;
  // The built-in demo model (random weights: its replies are noise). The web UI says so.
  bool demo = false;
};

class ServedModel {
 public:
  // Loads the file, the tokenizer and the chat template (a template that cannot be parsed fails
  // the load; a model without one gets ChatML), binds the weights and starts the engine.
  static Result<std::unique_ptr<ServedModel>> load(const ServedModelOptions& options);
  ~ServedModel();

  const std::string& id() const { return id_; }
  std::int64_t created() const { return created_; }
  std::int32_t n_ctx() const { return n_ctx_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  const chat::ChatTemplate& chat_template() const { return *template_; }
  bool has_own_template() const { return has_own_template_; }
  // What the chat template does with tools, tool calls and tool results (probed at load).
  // `tools` false: the tool definitions reach the model in Parley's built-in tool format
  // (chat/tool_prompt.h), and so do past calls and results unless `tool_calls` is true.
  const chat::ToolTemplateSupport& tool_support() const { return tool_support_; }
  EngineClient& engine() const { return *engine_; }
  const Model& model() const { return *model_; }
  bool demo() const { return demo_; }
  // Compiles response formats (and tool-call grammars) for this model's vocabulary; its
  // TokenVocabulary is built once at load. Thread-safe, with a cache: call it on the request
  // pool, never on the engine thread (grammar/grammar_compiler.h).
  GrammarCompiler& grammar_compiler() const { return *grammar_compiler_; }
  // Its tool-call and reasoning syntax, from its chat template and vocabulary (made at load).
  const ToolSyntax& tool_syntax() const { return tool_syntax_; }

  // The prompt for a chat: `input` (messages, tools, extra variables) adapted to what the
  // template supports (chat/tool_prompt.h: tool definitions, calls and results) and rendered with
  // the model's chat template, with the generation prompt and the model's BOS/EOS texts, then tokenized:
  // the template's markup (BOS included) as special tokens, the request's strings as plain text
  // (chat/prompt_mask.h; unless special_tokens_in_content). A template that rejects the
  // messages (its raise_exception, "roles must alternate") is kInvalidArgument. A prompt of more
  // than n_ctx() tokens is the context_length_exceeded error (param "messages"), found cheaply:
  // a long rendering is refused by its size, and tokenization stops past n_ctx() tokens.
  Result<std::vector<TokenId>> chat_prompt(chat::ChatInput input) const;

 private:
  Status check_template_renders() const;

  ServedModel() = default;
  std::string id_;
  std::int64_t created_ = 0;
  std::int32_t n_ctx_ = 0;
  bool has_own_template_ = false;
  chat::ToolTemplateSupport tool_support_;
  bool special_tokens_in_content_ = false;
  bool demo_ = false;
  std::shared_ptr<const GgufFile> file_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::unique_ptr<GrammarCompiler> grammar_compiler_;
  ToolSyntax tool_syntax_;
  std::optional<chat::ChatTemplate> template_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<LocalEngine> engine_;  // last: stopped first
};

// "models/tiny-q8_0.gguf" -> "tiny-q8_0"
std::string model_id_from_path(const std::string& path);

}  // namespace parley
