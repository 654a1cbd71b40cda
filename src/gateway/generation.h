// GenerationJob: one API request's generation, from the engine's events to the HTTP response.
// It submits one engine request per choice (n prompts x n completions), turns token events into
// text (streaming detokenizer, stop strings held back and never leaked), formats OpenAI chat or
// completion responses (SSE chunks as tokens arrive, or one JSON body at the end), reports usage,
// cancels its engine requests when the client disconnects, and records metrics and one log line.
//
// Threading: created and started on an I/O thread; events arrive on the engine thread; the
// disconnect callback on an I/O thread. All state is behind one mutex.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "api/openai_response.h"
#include "engine/engine_client.h"
#include "gateway/gateway_metrics.h"
#include "gateway/stop_matcher.h"
#include "gateway/usage_recorder.h"
#include "net/http_responder.h"
#include "tokenizer/detokenizer.h"
#include "tokenizer/tokenizer.h"

namespace parley {

enum class ApiKind { kChat, kCompletion };

struct JobSpec {
  ApiKind kind = ApiKind::kChat;
  std::string response_id;  // "chatcmpl-..." / "cmpl-..."
  std::string request_id;   // X-Request-Id
  std::string model;
  std::string endpoint;     // for metrics and logs: "chat" / "completions"
  std::int64_t created = 0;
  bool stream = false;
  bool include_usage = false;
  std::vector<std::string> stop;
  std::int32_t n_logprobs = -1;   // -1: none
  std::vector<std::string> echo;  // completions with echo: the prompt text per prompt, else empty
  std::string user;
  std::chrono::steady_clock::time_point arrival;
  // Accounting: the admission ticket, handed back to `usage` once every choice has finished
  // (whatever the outcome: the tokens the engine computed are charged), or with zero tokens when
  // start() fails. Null: no accounting.
  UsageRecorder* usage = nullptr;
  UsageTicket ticket;
};

// One engine request: which prompt it belongs to, and what to submit.
struct ChoiceInput {
  std::int32_t prompt_index = 0;
  GenerateRequest request;
};

class GenerationJob final : public RequestSink, public std::enable_shared_from_this<GenerationJob> {
 public:
  static std::shared_ptr<GenerationJob> create(JobSpec spec, const Tokenizer& tokenizer, EngineClient& engine,
                                               std::shared_ptr<HttpResponder> responder, GatewayMetrics& metrics);

  // Submits every choice. On failure nothing stays queued (the submitted ones are cancelled)
  // and the caller answers with the error; on success the job answers on its own.
  Status start(std::vector<ChoiceInput> choices);

  void on_event(RequestId id, EngineEvent event) override;

 private:
  struct Choice {
    std::int32_t index = 0;
    std::int32_t prompt_index = 0;
    RequestId engine_id = 0;
    std::optional<StreamingDetokenizer> detok;
    std::optional<StopMatcher> stop;
    std::string text;
    std::vector<TokenLogprobOut> logprobs;
    bool finished = false;
    bool stopped_by_string = false;
    std::string finish_reason;
    FinishEvent usage;
    std::int64_t text_bytes = 0;  // bytes of text sent so far (completion logprob offsets)
    std::optional<std::chrono::steady_clock::time_point> last_token;
  };

  GenerationJob(JobSpec spec, const Tokenizer& tokenizer, EngineClient& engine, std::shared_ptr<HttpResponder> responder,
                GatewayMetrics& metrics);
  Choice* find(RequestId id);
  TokenLogprobOut logprob_of(const SampleResult& r) const;
  void on_tokens(Choice& c, const TokenEvent& e);
  void on_finish(Choice& c, const FinishEvent& e);
  // Sends text (and logprobs) of one choice: an SSE chunk when streaming, else accumulates.
  void emit(Choice& c, const std::string& text, std::vector<TokenLogprobOut> logprobs, std::optional<std::string> finish);
  void complete();  // every choice finished: the final response
  void fail(const std::string& message);
  void on_disconnect();
  void disconnect_locked();
  void cancel_all();
  void record(int status);
  void account_usage();  // once: the usage of every choice to spec_.usage
  Usage usage() const;

  JobSpec spec_;
  const Tokenizer& tokenizer_;
  EngineClient& engine_;
  std::shared_ptr<HttpResponder> responder_;
  GatewayMetrics& metrics_;
  std::mutex mutex_;
  std::vector<Choice> choices_;
  std::size_t n_finished_ = 0;
  bool done_ = false;  // response sent (or the client is gone)
  bool disconnected_ = false;
  bool usage_accounted_ = false;
  std::optional<std::chrono::steady_clock::time_point> first_token_;
};

}  // namespace parley
