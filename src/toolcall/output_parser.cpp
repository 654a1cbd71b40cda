#include "toolcall/output_parser.h"

#include <random>

#include "base/rng.h"
#include "toolcall/family_parsers.h"
#include "toolcall/markers.h"

namespace parley {
namespace {

bool is_ws(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::size_t partial_suffix(std::string_view text, std::string_view marker) {
  for (std::size_t k = std::min(marker.size() - 1, text.size()); k > 0; --k) {
    if (text.substr(text.size() - k) == marker.substr(0, k)) return k;
  }
  return 0;
}

}  // namespace

std::string new_tool_call_id(ToolFamily family) {
  // Ids are not secrets: a per-thread generator seeded from the OS.
  thread_local Rng rng(std::random_device{}() ^ (static_cast<std::uint64_t>(std::random_device{}()) << 32));
  static constexpr std::string_view kChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const bool mistral = family == ToolFamily::kMistral;
  std::string id = mistral ? "" : "call_";
  for (int i = 0; i < (mistral ? 9 : 24); ++i) id += kChars[rng.below(kChars.size())];
  return id;
}

// ---- ReasoningSplitter -----------------------------------------------------------------------

ReasoningSplitter::ReasoningSplitter(std::string_view open, std::string_view close, bool starts_open)
    : open_(open), close_(close), state_(starts_open ? State::kReasoning : State::kStart) {}

void ReasoningSplitter::feed(std::string_view text, std::vector<OutputEvent>& out, std::string& content) {
  buf_.append(text);
  run(false, out, content);
}

void ReasoningSplitter::finish(std::vector<OutputEvent>& out, std::string& content) {
  run(true, out, content);
}

void ReasoningSplitter::reasoning(std::string_view text, std::vector<OutputEvent>& out) {
  if (!reasoning_started_) {
    while (!text.empty() && is_ws(text.front())) text.remove_prefix(1);
    if (text.empty()) return;
    reasoning_started_ = true;
  }
  std::size_t end = text.size();
  while (end > 0 && is_ws(text[end - 1])) --end;
  if (end == 0) {
    ws_held_.append(text);
    return;
  }
  std::string piece = std::move(ws_held_);
  ws_held_.assign(text.substr(end));
  piece.append(text.substr(0, end));
  append_event(out, {OutputEvent::Kind::kReasoning, 0, std::move(piece), {}});
}

void ReasoningSplitter::run(bool final, std::vector<OutputEvent>& out, std::string& content) {
  while (true) {
    switch (state_) {
      case State::kStart: {
        std::size_t ws = 0;
        while (ws < buf_.size() && is_ws(buf_[ws])) ++ws;
        const std::string_view r = std::string_view(buf_).substr(ws);
        if (r.size() < open_.size() && open_.compare(0, r.size(), r) == 0 && !final) return;
        if (r.substr(0, open_.size()) == open_) {
          buf_.erase(0, ws + open_.size());
          state_ = State::kReasoning;
        } else {
          state_ = State::kContent;
        }
        break;
      }
      case State::kReasoning: {
        const std::size_t p = buf_.find(close_);
        if (p == std::string::npos) {
          const std::size_t hold = final ? 0 : partial_suffix(buf_, close_);
          reasoning(std::string_view(buf_).substr(0, buf_.size() - hold), out);
          buf_.erase(0, buf_.size() - hold);
          return;
        }
        reasoning(std::string_view(buf_).substr(0, p), out);
        buf_.erase(0, p + close_.size());
        state_ = State::kAfter;
        break;
      }
      case State::kAfter: {
        std::size_t ws = 0;
        while (ws < buf_.size() && is_ws(buf_[ws])) ++ws;
        buf_.erase(0, ws);
        if (buf_.empty()) return;
        state_ = State::kContent;
        break;
      }
      case State::kContent:
        content.append(buf_);
        buf_.clear();
        return;
    }
  }
}

// ---- OutputParser ----------------------------------------------------------------------------

OutputParser::OutputParser(OutputParserOptions options) : options_(std::move(options)) {
  if (!options_.reasoning_inline && options_.reasoning != ReasoningSyntax::kNone) {
    const bool r7b = options_.reasoning == ReasoningSyntax::kCommandR7B;
    splitter_ = std::make_unique<ReasoningSplitter>(r7b ? markers::kR7BThinkingOpen : markers::kThinkOpen,
                                                    r7b ? markers::kR7BThinkingClose : markers::kThinkClose,
                                                    options_.starts_in_reasoning);
  }
  if (options_.parse_tools) {
    const ToolFamily family = options_.family;
    ToolCallIdFn ids = options_.new_id ? options_.new_id : [family] { return new_tool_call_id(family); };
    calls_ = make_call_parser(family, {.hold_calls = options_.hold_calls, .new_id = std::move(ids)});
  }
}

OutputParser::~OutputParser() = default;
OutputParser::OutputParser(OutputParser&&) noexcept = default;
OutputParser& OutputParser::operator=(OutputParser&&) noexcept = default;

void OutputParser::feed(std::string_view text, std::vector<OutputEvent>& out) {
  if (!splitter_) return pass(text, out, false);
  std::string content;
  splitter_->feed(text, out, content);
  pass(content, out, false);
}

void OutputParser::finish(std::vector<OutputEvent>& out) {
  if (splitter_) {
    std::string content;
    splitter_->finish(out, content);
    pass(content, out, false);
  }
  pass("", out, true);
}

void OutputParser::release_calls(std::vector<OutputEvent>& out) {
  if (!calls_) return;
  const std::size_t from = out.size();
  calls_->release(out);
  note(out, from);
}

void OutputParser::pass(std::string_view content, std::vector<OutputEvent>& out, bool final) {
  if (!calls_) {
    if (!content.empty()) append_event(out, {OutputEvent::Kind::kContent, 0, std::string(content), {}});
    return;
  }
  const std::size_t from = out.empty() ? 0 : out.size() - 1;
  if (!content.empty()) calls_->feed(content, out);
  if (final) calls_->finish(out);
  note(out, from);
}

void OutputParser::note(const std::vector<OutputEvent>& out, std::size_t from) {
  for (std::size_t i = from; i < out.size(); ++i) {
    if (out[i].kind == OutputEvent::Kind::kToolCallStart) has_calls_ = true;
  }
}

}  // namespace parley
