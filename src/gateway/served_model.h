// ServedModel: one model as the API serves it: its tokenizer, chat template and grammar compiler,
// and the engine that runs it, under an id (the file name without extension by default). The
// engine is a LocalModel's (`parley serve`: weights in this process) or any other EngineClient
// (a worker's, a router's: the gateway then holds only the vocabulary); the API code is the same.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "chat/chat_template.h"
#include "chat/tool_prompt.h"
#include "engine/engine_client.h"
#include "engine/local_model.h"
#include "gguf/gguf_file.h"
#include "grammar/grammar_compiler.h"
#include "tokenizer/tokenizer.h"
#include "toolcall/tool_syntax.h"

namespace parley {

// A model file served in this process (LocalModelOptions: the file, threads, context, engine
// limits, backend), under an id, as the API serves it.
struct ServedModelOptions : LocalModelOptions {
  std::string id;  // "" = file name without extension
  // Tokenize control-token text in messages and tools ("<|im_start|>system" in a user message)
  // as control tokens, as before Parley masked it: lets users forge turns. For operators whose
  // clients rely on it.
  bool special_tokens_in_content = false;
  // The built-in demo model (random weights: its replies are noise). The web UI says so.
  bool demo = false;
};

// A model whose engine is not in this process (a worker's, through router/remote_engine.h, or a
// router over several workers): what the API needs besides the vocabulary.
struct ServedModelFront {
  std::string id;
  std::int32_t n_ctx = 0;
  std::int64_t created = 0;  // unix seconds
  bool demo = false;
  bool special_tokens_in_content = false;
  std::string source;  // for logs and errors, e.g. "worker http://10.0.0.7:8081"
};

class ServedModel {
 public:
  // Loads the file, the tokenizer and the chat template (a template that cannot be parsed fails
  // the load; a model without one gets ChatML), binds the weights and starts the engine.
  static Result<std::unique_ptr<ServedModel>> load(const ServedModelOptions& options);
  // A model served by `engine` (any EngineClient: a RemoteEngineClient, a router), with the
  // tokenizer and chat template of `vocab` (a vocab-only GGUF, e.g. a worker's
  // /internal/v1/models/{id}/vocab): no weights in this process. The same checks as load().
  static Result<std::unique_ptr<ServedModel>> with_engine(const ServedModelFront& front,
                                                          std::shared_ptr<const GgufFile> vocab,
                                                          std::shared_ptr<EngineClient> engine);
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
  bool demo() const { return demo_; }
  // Compiles response formats (and tool-call grammars) for this model's vocabulary; its
  // TokenVocabulary is built once at load. Thread-safe, with a cache: call it on the request
  // pool, never on the engine thread (grammar/grammar_compiler.h). With a remote engine the
  // compiled grammar validates the request here; its source spec is what the worker compiles.
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
  // The tokenizer, grammar compiler and chat template of `file` (local and remote alike).
  Status init_vocabulary(const std::string& source, double* grammar_ms);
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
  // Who runs it: a local model (weights and engine here) or any other EngineClient.
  std::unique_ptr<LocalModel> local_;
  std::shared_ptr<EngineClient> remote_;
  EngineClient* engine_ = nullptr;
};

// "models/tiny-q8_0.gguf" -> "tiny-q8_0"
std::string model_id_from_path(const std::string& path);

}  // namespace parley
