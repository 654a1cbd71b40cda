#include "gateway/generation.h"

#include "base/check.h"
#include "base/log.h"
#include "base/utf8.h"
#include "gateway/http_errors.h"

namespace parley {

using Clock = std::chrono::steady_clock;

std::shared_ptr<GenerationJob> GenerationJob::create(JobSpec spec, const Tokenizer& tokenizer, EngineClient& engine,
                                                     std::shared_ptr<HttpResponder> responder,
                                                     GatewayMetrics& metrics) {
  return std::shared_ptr<GenerationJob>(
      new GenerationJob(std::move(spec), tokenizer, engine, std::move(responder), metrics));
}

GenerationJob::GenerationJob(JobSpec spec, const Tokenizer& tokenizer, EngineClient& engine,
                             std::shared_ptr<HttpResponder> responder, GatewayMetrics& metrics)
    : spec_(std::move(spec)),
      tokenizer_(tokenizer),
      engine_(engine),
      responder_(std::move(responder)),
      metrics_(metrics) {}

Status GenerationJob::start(std::vector<ChoiceInput> inputs) {
  CHECK(!spec_.observer || inputs.size() == 1, "an observed job has one choice, not {}", inputs.size());
  std::unique_lock<std::mutex> lock(mutex_);  // events for early tokens wait until the ids are known
  choices_.resize(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    Choice& c = choices_[i];
    c.index = static_cast<std::int32_t>(i);
    c.prompt_index = inputs[i].prompt_index;
    c.priority = inputs[i].request.priority;
    // Control characters in model output (a byte token <0x00>, an ESC) are dropped for every API
    // alike: they are never meant, and a NUL could not even be saved (docs/api.md).
    c.detok.emplace(tokenizer_, DecodeOptions{.drop_controls = true});
    c.stop.emplace(spec_.stop);
    if (spec_.kind == ApiKind::kChat && spec_.chat_output && spec_.chat_output->needed()) {
      c.output.emplace(*spec_.chat_output);
    }
    if (spec_.moderation != nullptr) c.filter = spec_.moderation->output_filter(spec_.model);
  }
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    GenerateRequest& g = inputs[i].request;
    if (spec_.trace.recording()) {
      choices_[i].generate = spec_.trace.child();
      g.traceparent = format_traceparent(choices_[i].generate.context);
    } else {
      g.traceparent = spec_.trace.traceparent;
    }
    Result<RequestId> id = engine_.submit(std::move(inputs[i].request), shared_from_this());
    if (!id.ok()) {
      done_ = true;  // the caller answers; late events for the cancelled ones are ignored
      // Nothing was computed (the engine refused before scheduling): release the reservation.
      usage_accounted_ = true;
      if (spec_.usage != nullptr) spec_.usage->record(spec_.ticket, spec_.model, 0, 0);
      const std::vector<RequestId> submitted = mark_cancelled();
      lock.unlock();  // see mark_cancelled()
      for (const RequestId r : submitted) engine_.cancel(r);
      return id.status();
    }
    choices_[i].engine_id = *id;
  }
  if (spec_.observer) {
    spec_.observer->on_start();
  } else if (spec_.stream) {
    responder_->start_stream(
        200,
        {{"Content-Type", "text/event-stream"}, {"Cache-Control", "no-cache"}, {"X-Request-Id", spec_.request_id}});
    if (spec_.kind == ApiKind::kChat) {
      for (const Choice& c : choices_) {
        responder_->write(sse_event(chat_chunk_json(spec_.response_id, spec_.created, spec_.model, c.index, "assistant",
                                                    "", nullptr, std::nullopt)));
      }
    }
  }
  lock.unlock();
  // Outside the lock: if the client is already gone, the callback runs right here.
  std::weak_ptr<GenerationJob> weak = weak_from_this();
  responder_->on_disconnect([weak] {
    if (auto job = weak.lock()) job->on_disconnect();
  });
  return ok_status();
}

GenerationJob::Choice* GenerationJob::find(RequestId id) {
  for (Choice& c : choices_) {
    if (c.engine_id == id) return &c;
  }
  return nullptr;
}

void GenerationJob::on_event(RequestId id, EngineEvent event) {
  std::lock_guard<std::mutex> lock(mutex_);
  Choice* c = find(id);
  if (c == nullptr || c->finished) return;
  if (auto* t = std::get_if<TokenEvent>(&event)) {
    on_tokens(*c, *t);
  } else {
    on_finish(*c, std::get<FinishEvent>(event));
  }
}

TokenLogprobOut GenerationJob::logprob_of(const SampleResult& r) const {
  const auto out = [this](TokenId id) {
    const std::string piece = tokenizer_.token_piece(id, true);
    return std::pair{sanitize_utf8(piece), std::vector<std::uint8_t>(piece.begin(), piece.end())};
  };
  TokenLogprobOut t;
  auto [text, bytes] = out(r.token);
  t.token = std::move(text);
  t.bytes = std::move(bytes);
  t.logprob = r.logprob;
  for (const TokenLogprob& alt : r.top) {
    auto [at, ab] = out(alt.token);
    t.top.push_back({std::move(at), alt.logprob, std::move(ab)});
  }
  return t;
}

void GenerationJob::on_tokens(Choice& c, const TokenEvent& e) {
  const auto now = Clock::now();
  if (!first_token_) {
    first_token_ = now;
    metrics_.ttft.with({spec_.model}).observe(std::chrono::duration<double>(now - spec_.arrival).count());
  }
  if (c.last_token) {
    const double itl = std::chrono::duration<double>(now - *c.last_token).count();
    metrics_.itl.with({spec_.model}).observe(itl);
    metrics_.itl_by_priority.with({spec_.model, std::string(priority_name(c.priority))}).observe(itl);
  }
  c.last_token = now;
  if (c.stopped_by_string || done_) return;
  std::string text;
  std::vector<TokenLogprobOut> lps;
  bool release = false;
  for (std::size_t i = 0; i < e.tokens.size(); ++i) {
    std::string piece = c.detok->push(e.tokens[i]);
    if (c.output) {
      piece += c.output->marker_text(e.tokens[i]);  // control-token markers the parser needs
      release = release || c.output->releases(e.tokens[i]);
    }
    text += c.stop->feed(piece);
    if (spec_.n_logprobs >= 0 && i < e.logprobs.size()) lps.push_back(logprob_of(e.logprobs[i]));
    if (c.stop->stopped()) {
      c.stopped_by_string = true;
      c.cancel_sent = true;
      engine_.cancel(c.engine_id);  // the engine finishes it with kCancelled: reported as "stop"
      break;
    }
  }
  if (c.filter) text = moderate(c, std::move(text), false);
  if (!text.empty() || !lps.empty()) emit(c, text, std::move(lps), std::nullopt);
  if (release && !done_) release_output(c);
}

std::string GenerationJob::moderate(Choice& c, std::string text, bool final) {
  if (!c.filter || c.filtered) return c.filtered ? std::string() : text;
  std::string out;
  policy::OutputFilter::State state = c.filter->feed(text, &out);
  if (final && state == policy::OutputFilter::State::kOpen) state = c.filter->finish(&out);
  if (state == policy::OutputFilter::State::kBlocked) {
    c.filtered = true;
    c.stopped_by_string = true;  // nothing more of this choice is shown
    if (!c.finished && !c.cancel_sent) {
      c.cancel_sent = true;
      engine_.cancel(c.engine_id);  // the engine finishes it with kCancelled: "content_filter"
    }
  }
  return out;
}

std::string GenerationJob::tail_text(Choice& c) {
  std::string tail;
  if (!c.stopped_by_string) {
    tail = c.stop->feed(c.detok->finish());
    tail += c.stop->flush();
    c.stopped_by_string = c.stop->stopped();
  }
  if (c.filter && !c.filtered) tail = moderate(c, std::move(tail), true);
  if (c.filter && spec_.moderation != nullptr) spec_.moderation->record_output(spec_.moderation_context, *c.filter);
  return tail;
}

void GenerationJob::stop() {
  std::vector<RequestId> ids;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (done_) return;
    stop_requested_ = true;
    ids = mark_cancelled();
  }
  // The engine answers with kCancelled finishes, reported as "stopped".
  for (const RequestId id : ids) engine_.cancel(id);
}

void GenerationJob::on_finish(Choice& c, const FinishEvent& e) {
  c.finished = true;
  ++n_finished_;
  c.usage = e;
  metrics_.queue_time.with({spec_.model, std::string(priority_name(c.priority))}).observe(e.timings.queue_s);
  record_generate_spans(spec_.trace, c.generate, e, spec_.model);
  // Every choice has ended, however (finished, stopped, failed, cancelled by a disconnect): the
  // engine's counts are final, so this is when the request is charged.
  if (n_finished_ == choices_.size()) account_usage();
  if (spec_.observer) return observer_finish(c, e);
  if (record_when_finished_) {
    // The client left; the engine has now said what it computed for every choice: log and
    // count that (the request is charged for it too), not the zeros of the moment it left.
    if (n_finished_ == choices_.size()) {
      count_tokens(usage());
      record(499);
    }
    return;
  }
  if (e.reason == FinishReason::kError && !done_) {
    fail(e.message.empty() ? "the engine failed this request" : e.message);
    return;
  }
  const std::string tail = tail_text(c);
  if (!tail.empty() && !done_) emit(c, tail, {}, std::nullopt);
  c.finish_reason = c.filtered                                                 ? "content_filter"
                    : c.stopped_by_string || e.reason != FinishReason::kLength ? "stop"
                                                                               : "length";
  if (done_) return;
  if (c.output) finish_output(c);
  if (spec_.stream) emit(c, "", {}, c.finish_reason);
  if (n_finished_ == choices_.size()) complete();
}

void GenerationJob::observer_finish(Choice& c, const FinishEvent& e) {
  GenerationOutcome out;
  int status = 200;
  if (e.reason == FinishReason::kError) {
    out.finish_reason = "error";
    out.error = e.message.empty() ? "the engine failed this request" : e.message;
    status = 500;
  } else {
    // What the detokenizer and the stop matcher still hold is part of the reply, also when it
    // was stopped: the tokens were generated (and go through the output filter like the rest).
    const std::string tail = tail_text(c);
    if (!tail.empty() && !done_) emit(c, tail, {}, std::nullopt);
    if (c.output) finish_output(c);  // (kept for the outcome also after a disconnect)
    if (c.filtered) {
      out.finish_reason = "content_filter";
    } else if (disconnected_) {
      out.finish_reason = "cancelled";
      status = 499;
    } else if (e.reason == FinishReason::kCancelled && !c.stopped_by_string) {
      out.finish_reason = stop_requested_ ? "stopped" : "cancelled";  // else: the engine shut down
    } else {
      out.finish_reason = c.stopped_by_string || e.reason != FinishReason::kLength ? "stop" : "length";
    }
  }
  done_ = true;
  c.finish_reason = out.finish_reason;
  out.text = c.text;
  out.reasoning = c.reasoning;
  out.usage = usage();
  count_tokens(out.usage);
  record(status);
  if (guard_observed(out)) return;
  spec_.observer->on_end(std::move(out));
}

void GenerationJob::emit(Choice& c, const std::string& text, std::vector<TokenLogprobOut> lps,
                         std::optional<std::string> finish) {
  if (c.output && !finish) return emit_output(c, text, std::move(lps));
  if (spec_.observer) {
    c.text += text;
    if (!text.empty() && !spec_.observer->on_text(text)) disconnect_locked();
    return;
  }
  if (!spec_.stream) {
    c.text += text;
    for (auto& l : lps) c.logprobs.push_back(std::move(l));
    return;
  }
  // Streamed text is kept only for the guard model's reading of the finished reply.
  if (spec_.moderation != nullptr && spec_.moderation->guards_output()) c.text += text;
  const std::vector<TokenLogprobOut>* lp = spec_.n_logprobs >= 0 && !lps.empty() ? &lps : nullptr;
  std::string chunk;
  if (spec_.kind == ApiKind::kChat) {
    // The final chunk has an empty delta; a chunk with only logprobs has content "".
    std::optional<std::string_view> content;
    if (!text.empty() || !finish) content = text;
    chunk = chat_chunk_json(spec_.response_id, spec_.created, spec_.model, c.index, std::nullopt, content, lp,
                            finish ? std::optional<std::string_view>(*finish) : std::nullopt);
  } else {
    std::string out = text;
    if (c.text_bytes == 0 && !spec_.echo.empty()) out = spec_.echo[static_cast<std::size_t>(c.prompt_index)] + out;
    chunk = completion_chunk_json(spec_.response_id, spec_.created, spec_.model, c.index, out, lp, c.text_bytes,
                                  finish ? std::optional<std::string_view>(*finish) : std::nullopt);
    c.text_bytes += static_cast<std::int64_t>(out.size());
  }
  if (!responder_->write(sse_event(chunk))) disconnect_locked();
}

Usage GenerationJob::usage() const {
  Usage u;
  std::vector<bool> counted;
  for (const Choice& c : choices_) {
    u.completion_tokens += c.usage.completion_tokens;
    const auto p = static_cast<std::size_t>(c.prompt_index);
    if (counted.size() <= p) counted.resize(p + 1, false);
    if (!counted[p]) {  // a prompt counts once, however many completions it has
      counted[p] = true;
      u.prompt_tokens += c.usage.prompt_tokens;
      u.cached_tokens += c.usage.cached_prompt_tokens;
    }
  }
  return u;
}

void GenerationJob::complete() {
  if (guard_replies()) return;
  respond();
}

bool GenerationJob::guard_replies() {
  if (spec_.moderation == nullptr || !spec_.moderation->guards_output() || replies_guarded_) return false;
  replies_guarded_ = true;
  std::vector<std::string> texts;
  for (const Choice& c : choices_) texts.push_back(c.filtered ? std::string() : guarded_text(c));
  if (spec_.stream) {
    spec_.moderation->guard_output(spec_.moderation_context, std::move(texts), policy::Action::kFlag, nullptr);
    return false;
  }
  spec_.moderation->guard_output(spec_.moderation_context, std::move(texts), policy::Action::kBlock,
                                 [self = shared_from_this()](std::vector<bool> unsafe) {
                                   std::lock_guard<std::mutex> lock(self->mutex_);
                                   self->on_guard_verdict(unsafe);
                                 });
  return true;
}

void GenerationJob::on_guard_verdict(const std::vector<bool>& unsafe) {
  if (done_) {  // the client left while the guard was reading
    count_tokens(usage());
    record(499);
    return;
  }
  for (std::size_t i = 0; i < choices_.size() && i < unsafe.size(); ++i) {
    if (!unsafe[i]) continue;
    choices_[i].withheld = true;
    choices_[i].text.clear();
    choices_[i].finish_reason = "content_filter";
  }
  respond();
}

bool GenerationJob::guard_observed(GenerationOutcome& out) {
  if (spec_.moderation == nullptr || !spec_.moderation->guards_output() || out.text.empty() ||
      out.finish_reason == "error" || out.finish_reason == "content_filter") {
    return false;
  }
  std::vector<std::string> texts = {out.text};  // before `out` moves into the callback
  auto on_verdict = [self = shared_from_this(), out = std::move(out)](std::vector<bool> unsafe) mutable {
    if (!unsafe.empty() && unsafe[0]) {  // saved withheld: no text, marked filtered
      out.finish_reason = "content_filter";
      out.text.clear();
      out.reasoning.clear();
    }
    std::lock_guard<std::mutex> lock(self->mutex_);
    self->spec_.observer->on_end(std::move(out));
  };
  spec_.moderation->guard_output(spec_.moderation_context, std::move(texts), policy::Action::kBlock,
                                 std::move(on_verdict));
  return true;
}

void GenerationJob::respond() {
  done_ = true;
  const Usage u = usage();
  if (spec_.stream) {
    if (spec_.include_usage) {
      responder_->write(sse_event(spec_.kind == ApiKind::kChat
                                      ? chat_usage_chunk_json(spec_.response_id, spec_.created, spec_.model, u)
                                      : completion_usage_chunk_json(spec_.response_id, spec_.created, spec_.model, u)));
    }
    responder_->write(std::string(kSseDone));
    responder_->finish();
  } else {
    std::string body;
    if (spec_.kind == ApiKind::kChat) {
      std::vector<ChatChoiceOut> out;
      for (Choice& c : choices_) out.push_back(chat_choice(c));
      body = chat_completion_json(spec_.response_id, spec_.created, spec_.model, out, u);
    } else {
      std::vector<CompletionChoiceOut> out;
      for (Choice& c : choices_) {
        std::optional<std::vector<TokenLogprobOut>> lp;
        if (spec_.n_logprobs >= 0) lp = std::move(c.logprobs);
        const std::string prefix =
            spec_.echo.empty() ? std::string() : spec_.echo[static_cast<std::size_t>(c.prompt_index)];
        out.push_back(
            {c.index, prefix + c.text, c.finish_reason, std::move(lp), static_cast<std::int64_t>(prefix.size())});
      }
      body = completion_json(spec_.response_id, spec_.created, spec_.model, out, u);
    }
    responder_->respond(200, {{"Content-Type", "application/json"}, {"X-Request-Id", spec_.request_id}},
                        std::move(body));
  }
  count_tokens(u);
  record(200);
}

void GenerationJob::fail(const std::string& message) {
  done_ = true;
  cancel_all();
  const HttpError err = to_http_error(internal_error("{}", message));
  if (spec_.stream) {
    responder_->write(sse_event(err.body()));
    responder_->finish();
  } else {
    responder_->respond(err.status, {{"Content-Type", "application/json"}, {"X-Request-Id", spec_.request_id}},
                        err.body());
  }
  record(err.status);
}

void GenerationJob::on_disconnect() {
  std::vector<RequestId> ids;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    disconnect_locked();
    // Also when a failed write marked the job disconnected first: this is where it cancels.
    if (disconnected_) ids = mark_cancelled();
  }
  for (const RequestId id : ids) engine_.cancel(id);  // outside our lock: see mark_cancelled()
}

void GenerationJob::disconnect_locked() {
  if (disconnected_ || (done_ && n_finished_ == choices_.size())) return;
  disconnected_ = true;
  const bool was_done = done_;
  done_ = true;
  // Logged and counted (499) when the engine has finished the cancelled choices (on_finish, or
  // observer_finish for an observed job): only then are their token counts known.
  if (!was_done && !spec_.observer) record_when_finished_ = true;
}

std::vector<RequestId> GenerationJob::mark_cancelled() {
  std::vector<RequestId> ids;
  for (Choice& c : choices_) {
    if (!c.finished && !c.cancel_sent && c.engine_id != 0) {
      c.cancel_sent = true;
      ids.push_back(c.engine_id);
    }
  }
  return ids;
}

void GenerationJob::cancel_all() {
  for (const RequestId id : mark_cancelled()) engine_.cancel(id);
}

void GenerationJob::account_usage() {
  if (usage_accounted_ || spec_.usage == nullptr) return;
  usage_accounted_ = true;
  const Usage u = usage();
  spec_.usage->record(spec_.ticket, spec_.model, u.prompt_tokens, u.completion_tokens);
}

void GenerationJob::count_tokens(const Usage& u) {
  metrics_.prompt_tokens.with({spec_.model}).observe(static_cast<double>(u.prompt_tokens));
  metrics_.generation_tokens.with({spec_.model}).observe(static_cast<double>(u.completion_tokens));
  metrics_.prompt_tokens_total.with({spec_.model}).inc(static_cast<double>(u.prompt_tokens));
  metrics_.generation_tokens_total.with({spec_.model}).inc(static_cast<double>(u.completion_tokens));
}

void GenerationJob::record(int status) {
  const double seconds = std::chrono::duration<double>(Clock::now() - spec_.arrival).count();
  metrics_.requests.with({spec_.model, spec_.endpoint, std::to_string(status)}).inc();
  metrics_.e2e.with({spec_.model, spec_.endpoint}).observe(seconds);
  record_request_span(spec_.trace, status, spec_.request_id);
  const Usage u = usage();
  log_event(LogLevel::kInfo, "request",
            {{"request_id", spec_.request_id},
             {"endpoint", spec_.endpoint},
             {"model", spec_.model},
             {"status", status},
             {"stream", spec_.stream},
             {"choices", static_cast<std::int64_t>(choices_.size())},
             {"prompt_tokens", u.prompt_tokens},
             {"cached_tokens", u.cached_tokens},
             {"completion_tokens", u.completion_tokens},
             {"ttft_ms",
              first_token_ ? std::chrono::duration<double, std::milli>(*first_token_ - spec_.arrival).count() : -1.0},
             {"duration_ms", seconds * 1000.0},
             {"user", spec_.user},
             {"user_id", spec_.ticket.principal.user_id},
             {"api_key_id", spec_.ticket.principal.api_key_id}});
}

}  // namespace parley
