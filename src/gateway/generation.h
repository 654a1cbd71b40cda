// GenerationJob: one API request's generation, from the engine's events to the HTTP response.
// It submits one engine request per choice (n prompts x n completions), turns token events into
// text (streaming detokenizer, which drops control characters but tab, CR and LF; stop strings
// held back and never leaked), formats OpenAI chat or
// completion responses (SSE chunks as tokens arrive, or one JSON body at the end), reports usage,
// cancels its engine requests when the client disconnects, and records metrics and one log line.
//
// With a GenerationObserver in its spec, a job writes no OpenAI response: it hands the released
// text and the outcome to the observer instead (Parley's conversation API streams its own events
// and persists the reply), keeping the engine, detokenizer, stop-string, cancellation and metrics
// machinery in one place.
//
// Threading: created and started on any thread but the engine's (I/O or task pool); events arrive
// on the engine thread; the disconnect callback on an I/O thread. All state is behind one mutex.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/openai_response.h"
#include "engine/engine_client.h"
#include "gateway/gateway_metrics.h"
#include "gateway/moderation.h"
#include "gateway/request_trace.h"
#include "gateway/stop_matcher.h"
#include "gateway/tool_calling.h"
#include "gateway/usage_recorder.h"
#include "net/http_responder.h"
#include "tokenizer/detokenizer.h"
#include "tokenizer/tokenizer.h"

namespace parley {

enum class ApiKind { kChat, kCompletion };

// How a generation ended, for a GenerationObserver.
struct GenerationOutcome {
  std::string text;       // everything released to on_text, in order
  std::string reasoning;  // everything released to on_reasoning (JobSpec::chat_output splits it)
  // "stop" (end of generation or a stop string), "length" (max_tokens or the context),
  // "stopped" (GenerationJob::stop()), "cancelled" (the client went away, or the engine shut
  // down), "error" (the engine failed the request; `error` says why)
  std::string finish_reason;
  std::string error;
  Usage usage;
};

// Receives one job's output instead of the responder (one choice per job). Both methods are
// called with the job's lock held, on the engine thread (or, for on_start, on the thread calling
// start()): they must be quick and must not call back into the job.
class GenerationObserver {
 public:
  virtual ~GenerationObserver() = default;
  // The engine accepted the request; no text has been released yet.
  virtual void on_start() = 0;
  // Text as it becomes safe to show. Returning false says the client is gone: the job cancels.
  virtual bool on_text(std::string_view text) = 0;
  // The model's thinking as it becomes safe to show (only with JobSpec::chat_output splitting it
  // from the text). Returning false says the client is gone.
  virtual bool on_reasoning(std::string_view) { return true; }
  // Exactly once, after the engine has finished the request, also after a disconnect or stop().
  virtual void on_end(GenerationOutcome outcome) = 0;
};

struct JobSpec {
  ApiKind kind = ApiKind::kChat;
  std::string response_id;  // "chatcmpl-..." / "cmpl-..."
  std::string request_id;   // X-Request-Id
  std::string model;
  std::string endpoint;  // for metrics and logs: "chat" / "completions"
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
  // Set: the observer gets the output (see GenerationObserver) and the job writes no response;
  // `stream`, `include_usage`, `n_logprobs` and `echo` are then unused. Exactly one choice.
  std::shared_ptr<GenerationObserver> observer;
  // Chat: how each choice's text is parsed into content, reasoning and tool calls
  // (gateway/tool_calling.h). Unset, or not needed(): the text is the content.
  std::optional<ChatOutputPlan> chat_output;
  // The output rules (gateway/moderation.h): each choice's text goes through an OutputFilter
  // after the stop strings; a block ends the choice with finish_reason "content_filter" (the
  // observer's outcome says so too). Null, or no output rule for the model: nothing is checked.
  // With the guard model on output, finished replies go through it too (see guard_replies()).
  Moderation* moderation = nullptr;
  ModerationContext moderation_context;
  // The request's trace: each choice's engine request carries it on (`traceparent`), and with a
  // tracer the job records the generate spans and, at its end, the request's span.
  RequestTrace trace;
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

  // Stops generating, as a user's "stop" button: the engine requests are cancelled and the
  // observer's outcome says "stopped" (text generated until then is kept). Any thread but the
  // engine's; a finished job ignores it.
  void stop();

 private:
  struct Choice {
    std::int32_t index = 0;
    std::int32_t prompt_index = 0;
    RequestId engine_id = 0;
    Priority priority = Priority::kInteractive;
    std::optional<StreamingDetokenizer> detok;
    std::optional<StopMatcher> stop;
    std::optional<ChatOutput> output;              // spec_.chat_output: the text parsed (else it is the content)
    std::unique_ptr<policy::OutputFilter> filter;  // spec_.moderation's output rules
    bool filtered = false;                         // the filter blocked: "content_filter"
    bool withheld = false;                         // the guard found the finished reply unsafe: no content
    std::string text;
    std::string reasoning;  // observed jobs with c.output
    std::vector<TokenLogprobOut> logprobs;
    bool finished = false;
    bool stopped_by_string = false;
    bool cancel_sent = false;  // engine_.cancel was called (or is about to be) for it
    std::string finish_reason;
    FinishEvent usage;
    std::int64_t text_bytes = 0;  // bytes of text sent so far (completion logprob offsets)
    std::optional<std::chrono::steady_clock::time_point> last_token;
    SpanTiming generate;  // its "generate" span, when the trace is recording
  };

  GenerationJob(JobSpec spec, const Tokenizer& tokenizer, EngineClient& engine,
                std::shared_ptr<HttpResponder> responder, GatewayMetrics& metrics);
  Choice* find(RequestId id);
  TokenLogprobOut logprob_of(const SampleResult& r) const;
  void on_tokens(Choice& c, const TokenEvent& e);
  void on_finish(Choice& c, const FinishEvent& e);
  // The choice's text through its output filter (as it is without one); `final` at its end.
  // A block marks the choice filtered and cancels its engine request (engine thread only).
  std::string moderate(Choice& c, std::string text, bool final);
  // The choice's remaining text at its end: detokenizer, stop strings, then the filter.
  std::string tail_text(Choice& c);
  void observer_finish(Choice& c, const FinishEvent& e);
  // Sends text (and logprobs) of one choice: an SSE chunk when streaming, else accumulates.
  void emit(Choice& c, const std::string& text, std::vector<TokenLogprobOut> logprobs,
            std::optional<std::string> finish);
  // With c.output (generation_output.cpp): the text through the parser, and its events as
  // chunks (content, reasoning_content, tool_calls pieces) or summed for the final response.
  void emit_output(Choice& c, std::string_view text, std::vector<TokenLogprobOut> logprobs);
  void write_events(Choice& c, const std::vector<OutputEvent>& events, std::vector<TokenLogprobOut> logprobs);
  void observe_events(Choice& c, const std::vector<OutputEvent>& events);  // to spec_.observer
  void release_output(Choice& c);  // a trigger token was generated: calls stream from here
  void finish_output(Choice& c);   // flushes every call before the finish chunk; "tool_calls"
  ChatChoiceOut chat_choice(Choice& c);
  void complete();  // every choice finished: the final response (after the guard's verdict)
  void respond();   // the final response
  // The guard model on the finished replies (Moderation::guards_output), from complete(): a
  // non-streamed response waits for the verdict (an unsafe choice goes out withheld: no content,
  // finish_reason "content_filter"); a streamed one was shown already, its verdict is recorded.
  // True when the response is left to the verdict.
  bool guard_replies();
  void on_guard_verdict(const std::vector<bool>& unsafe);
  // An observed job's outcome through the guard before on_end (true: on_end is left to it).
  bool guard_observed(GenerationOutcome& out);
  std::string guarded_text(const Choice& c) const;  // what the guard reads of a finished choice
  void fail(const std::string& message);
  // The responder's disconnect callback (an I/O thread): marks the job and cancels its requests.
  void on_disconnect();
  // Marks the job disconnected and stops sending. It does not cancel: a write that failed (the
  // caller here, on the engine thread) means the responder calls on_disconnect, which does.
  void disconnect_locked();
  // Marks the unfinished choices cancelled and returns their engine ids, each once. engine_.cancel
  // is called after releasing mutex_ (stop, on_disconnect, a failed start): the engine thread
  // delivers a cancelled request's finish event while holding its own lock, so cancelling under
  // ours could deadlock against it (A: our lock, then the engine's; engine: its lock, then ours).
  // The exceptions run on the engine thread while it steps, holding no lock of its own: a stop
  // string in on_tokens, and fail() for an engine error.
  std::vector<RequestId> mark_cancelled();
  void cancel_all();  // mark_cancelled() and cancel at once: engine thread, stepping, only
  void record(int status);
  void count_tokens(const Usage& u);  // the token metrics of a finished request
  void account_usage();               // once: the usage of every choice to spec_.usage
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
  bool record_when_finished_ = false;  // left mid-response: log and count (499) once every choice finished
  bool usage_accounted_ = false;
  bool stop_requested_ = false;
  bool replies_guarded_ = false;  // guard_replies() ran
  std::optional<std::chrono::steady_clock::time_point> first_token_;
};

}  // namespace parley
