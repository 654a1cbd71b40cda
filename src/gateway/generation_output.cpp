// GenerationJob's chat output through the tool-call and reasoning parser (gateway/tool_calling.h):
// streamed as delta.content, delta.reasoning_content and delta.tool_calls pieces (a call's name
// first, with its index and id, then its arguments in increments), or summed into message.content,
// message.reasoning_content and message.tool_calls.
#include "gateway/generation.h"

namespace parley {

void GenerationJob::emit_output(Choice& c, std::string_view text, std::vector<TokenLogprobOut> lps) {
  std::vector<OutputEvent> events;
  if (!text.empty()) c.output->feed(text, events);
  write_events(c, events, std::move(lps));
}

void GenerationJob::write_events(Choice& c, const std::vector<OutputEvent>& events, std::vector<TokenLogprobOut> lps) {
  if (spec_.observer) return observe_events(c, events);
  if (!spec_.stream) {
    for (auto& l : lps) c.logprobs.push_back(std::move(l));
    return;  // c.output sums the events
  }
  const std::vector<TokenLogprobOut>* lp = spec_.n_logprobs >= 0 && !lps.empty() ? &lps : nullptr;
  const auto write = [&](const ChatDeltaOut& d) {
    const std::string chunk =
        chat_delta_chunk_json(spec_.response_id, spec_.created, spec_.model, c.index, d, lp, std::nullopt);
    lp = nullptr;  // the logprobs go with the first chunk of this piece of text
    if (!done_ && !responder_->write(sse_event(chunk))) disconnect_locked();
  };
  if (events.empty() && lp != nullptr) {  // text held by the parser: the logprobs alone
    ChatDeltaOut d;
    d.content = "";
    write(d);
  }
  for (const OutputEvent& e : events) {
    ChatDeltaOut d;
    switch (e.kind) {
      case OutputEvent::Kind::kContent:
        d.content = e.text;
        break;
      case OutputEvent::Kind::kReasoning:
        d.reasoning_content = e.text;
        break;
      case OutputEvent::Kind::kToolCallStart:
        d.tool_call = ChatDeltaOut::ToolCallPiece{e.index, true, e.id, e.text, ""};
        break;
      case OutputEvent::Kind::kToolCallArguments:
        d.tool_call = ChatDeltaOut::ToolCallPiece{e.index, false, {}, {}, e.text};
        break;
    }
    write(d);
  }
}

void GenerationJob::observe_events(Choice& c, const std::vector<OutputEvent>& events) {
  for (const OutputEvent& e : events) {
    // Calls are not parsed for observers (the conversation API has no tools): content and thinking.
    const bool reasoning = e.kind == OutputEvent::Kind::kReasoning;
    (reasoning ? c.reasoning : c.text) += e.text;
    if (done_) continue;  // gone: kept for the outcome only
    const bool open = reasoning ? spec_.observer->on_reasoning(e.text) : spec_.observer->on_text(e.text);
    if (!open) disconnect_locked();
  }
}

void GenerationJob::release_output(Choice& c) {
  std::vector<OutputEvent> events;
  c.output->release(events);
  write_events(c, events, {});
}

void GenerationJob::finish_output(Choice& c) {
  std::vector<OutputEvent> events;
  c.output->finish(events);
  write_events(c, events, {});
  // A reply that called tools ends with "tool_calls" (cut by max_tokens: still "length").
  if (c.output->has_tool_calls() && c.finish_reason == "stop") c.finish_reason = "tool_calls";
}

ChatChoiceOut GenerationJob::chat_choice(Choice& c) {
  ChatChoiceOut out;
  out.index = c.index;
  out.finish_reason = c.finish_reason;
  if (spec_.n_logprobs >= 0) out.logprobs = std::move(c.logprobs);
  if (c.withheld) return out;  // the guard found it unsafe: nothing of it goes out
  if (!c.output) {
    out.content = std::move(c.text);
    return out;
  }
  const ParsedOutput& p = c.output->parsed();
  out.content = p.content;
  out.reasoning_content = p.reasoning;
  for (const ParsedToolCall& t : p.tool_calls) out.tool_calls.push_back({t.id, t.name, t.arguments});
  return out;
}

std::string GenerationJob::guarded_text(const Choice& c) const {
  if (!c.output) return c.text;
  const ParsedOutput& p = c.output->parsed();
  std::string text = p.content;
  for (const ParsedToolCall& t : p.tool_calls) text += "\n" + t.name + " " + t.arguments;
  return text;
}

}  // namespace parley
