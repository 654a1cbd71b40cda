#include "gateway/conversation_reply.h"

#include <unordered_map>
#include <vector>

#include "base/log.h"
#include "base/utf8.h"
#include "net/sse.h"

namespace parley {

// ---- ActiveReplies --------------------------------------------------------------------------

std::uint64_t ActiveReplies::add(const std::string& conversation_id, std::weak_ptr<GenerationJob> job) {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::uint64_t ticket = next_ticket_++;
  entries_.emplace(ticket, Entry{conversation_id, std::move(job)});
  return ticket;
}

void ActiveReplies::remove(std::uint64_t ticket) {
  std::lock_guard<std::mutex> lock(mutex_);
  entries_.erase(ticket);
  if (entries_.empty()) empty_.notify_all();
}

std::size_t ActiveReplies::stop_matching(const std::string* conversation_id) {
  // Collected under our lock, stopped outside it: a job that ends calls remove() with its own
  // lock held, so holding ours while taking a job's would invert the order.
  std::vector<std::shared_ptr<GenerationJob>> jobs;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [ticket, e] : entries_) {
      if (conversation_id != nullptr && e.conversation_id != *conversation_id) continue;
      if (auto job = e.job.lock()) jobs.push_back(std::move(job));
    }
  }
  for (const auto& job : jobs) job->stop();
  return jobs.size();
}

std::size_t ActiveReplies::stop(const std::string& conversation_id) {
  return stop_matching(&conversation_id);
}

std::size_t ActiveReplies::stop_all() {
  return stop_matching(nullptr);
}

std::size_t ActiveReplies::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

bool ActiveReplies::wait_empty(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  return empty_.wait_for(lock, timeout, [this] { return entries_.empty(); });
}

// ---- conversions ------------------------------------------------------------------------------

std::int64_t unix_seconds(store::Time t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

ConversationOut conversation_out(const store::Conversation& c, std::optional<std::string> model,
                                 std::optional<store::UsageTotals> usage) {
  ConversationOut o;
  o.id = c.id;
  o.title = c.title;
  o.created_at = unix_seconds(c.created_at);
  o.updated_at = unix_seconds(c.updated_at);
  o.archived = c.archived;
  o.current_leaf_id = c.current_leaf_id;
  o.message_count = c.message_count;
  o.model = std::move(model);
  o.settings.system_prompt = c.settings.system_prompt;
  o.settings.temperature = c.settings.temperature;
  o.settings.max_tokens = c.settings.max_tokens;
  o.settings.model = c.settings.model;
  if (usage) o.usage = UsageOut{usage->requests, usage->prompt_tokens, usage->completion_tokens, usage->cost_micros};
  return o;
}

store::ConversationSettings initial_settings(const ConversationSettingsChange& c) {
  store::ConversationSettings s;
  if (c.system_prompt) s.system_prompt = *c.system_prompt;
  if (c.temperature) s.temperature = *c.temperature;
  if (c.max_tokens) s.max_tokens = *c.max_tokens;
  if (c.model) s.model = *c.model;
  return s;
}

store::ConversationSettingsUpdate settings_update(const ConversationSettingsChange& c) {
  store::ConversationSettingsUpdate u;
  u.system_prompt = c.system_prompt;
  u.temperature = c.temperature;
  u.max_tokens = c.max_tokens;
  u.model = c.model;
  return u;
}

std::optional<std::string> current_model(const store::MessageTree& tree) {
  Result<std::vector<store::Message>> path = store::message_path(tree);
  if (!path.ok()) return std::nullopt;
  for (auto it = path->rbegin(); it != path->rend(); ++it) {
    if (it->role == store::MessageRole::kAssistant && !it->model.empty()) return it->model;
  }
  return std::nullopt;
}

std::string tree_response_json(const store::MessageTree& tree, const store::UsageTotals& usage) {
  std::vector<MessageOut> out;
  out.reserve(tree.messages.size());
  std::unordered_map<std::string_view, std::size_t> index;
  for (const store::Message& m : tree.messages) {  // parents first: a child finds its parent's entry
    index.emplace(m.id, out.size());
    out.push_back(message_out(m));
    out.back().children.emplace();
    if (const auto p = index.find(m.parent_id); p != index.end()) out[p->second].children->push_back(m.id);
  }
  return conversation_tree_json(conversation_out(tree.conversation, current_model(tree), usage), out);
}

MessageOut message_out(const store::Message& m) {
  MessageOut o;
  o.id = m.id;
  o.parent_id = m.parent_id;
  o.role = std::string(store::message_role_name(m.role));
  o.content = m.content;
  o.model = m.model;
  o.created_at = unix_seconds(m.created_at);
  o.status = std::string(store::message_status_name(m.status));
  if (m.role == store::MessageRole::kAssistant) {
    const ReplyMetadata meta = parse_reply_metadata(m.metadata);
    o.finish_reason = meta.finish_reason;
    o.error = meta.error;
    o.reasoning = meta.reasoning;
    o.prompt_tokens = m.prompt_tokens;
    o.completion_tokens = m.completion_tokens;
  }
  return o;
}

std::string auto_title(std::string_view text) {
  // The first line with something on it, without the blanks around it.
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  std::size_t begin = 0;
  while (begin < text.size() && blank(text[begin])) ++begin;
  std::string_view line = text.substr(begin);
  line = line.substr(0, line.find_first_of("\r\n"));
  while (!line.empty() && blank(line.back())) line.remove_suffix(1);
  // Decode one character past the limit, to know whether the line is cut.
  std::vector<char32_t> chars;
  for (std::size_t pos = 0; pos < line.size() && chars.size() <= kAutoTitleMaxChars;) {
    char32_t c = utf8_decode(line, &pos);
    if (c < 0x20 || c == 0x7F) c = ' ';  // tabs and other controls show as spaces
    chars.push_back(c);
  }
  const bool cut = chars.size() > kAutoTitleMaxChars;
  if (cut) {
    chars.resize(kAutoTitleMaxChars - 1);  // room for the ellipsis
    while (!chars.empty() && chars.back() == ' ') chars.pop_back();
  }
  std::string title;
  for (const char32_t c : chars) utf8_append(title, c);
  if (cut && !title.empty()) title += "\u2026";
  return title;
}

// ---- ConversationReply ------------------------------------------------------------------------

void ConversationReply::on_start() {
  p_.responder->start_stream(
      200, {{"Content-Type", "text/event-stream"}, {"Cache-Control", "no-cache"}, {"X-Request-Id", p_.request_id}});
  if (p_.user_message) {
    p_.responder->write(
        format_sse_event(message_event_json(p_.conversation_id, message_out(*p_.user_message)), "message"));
  }
  if (checkpoints_on()) {  // the row, `streaming`, before any text (off the engine thread)
    {
      std::lock_guard<std::mutex> lock(ck_mutex_);
      writing_ = true;
    }
    post_writes();
  }
}

bool ConversationReply::on_text(std::string_view text) {
  const bool sent = p_.responder->write(format_sse_event(delta_event_json(text), "delta"));
  if (checkpoints_on()) {
    bool post = false;
    {
      std::lock_guard<std::mutex> lock(ck_mutex_);
      text_ += text;
      dirty_ = true;
      post = claim_writes_locked();
    }
    if (post) post_writes();
  }
  return sent;
}

bool ConversationReply::on_reasoning(std::string_view text) {
  const bool sent = p_.responder->write(format_sse_event(reasoning_delta_event_json(text), "delta"));
  if (checkpoints_on()) {
    bool post = false;
    {
      std::lock_guard<std::mutex> lock(ck_mutex_);
      reasoning_ += text;
      dirty_ = true;
      post = claim_writes_locked();
    }
    if (post) post_writes();
  }
  return sent;
}

std::string stored_reasoning(std::string_view reasoning) {
  if (reasoning.size() <= kMaxStoredReasoningBytes) return std::string(reasoning);
  std::string_view head = reasoning.substr(0, kMaxStoredReasoningBytes);
  head.remove_suffix(utf8_incomplete_suffix_length(head));
  return std::string(head) + "\u2026";
}

void ConversationReply::on_end(GenerationOutcome outcome) {
  p_.context->active.remove(ticket_);
  // The engine thread must not wait for the database: persist on the pool. post() never drops
  // the task (after a shutdown it runs here), so a reply is not lost.
  auto self = shared_from_this();
  if (checkpoints_on()) {  // after the writes before it, by the task that owns them
    bool post = false;
    {
      std::lock_guard<std::mutex> lock(ck_mutex_);
      final_ = std::move(outcome);
      post = !writing_;
      writing_ = true;
    }
    if (post) post_writes();
    return;
  }
  p_.context->pool.post([self, outcome = std::move(outcome)] { self->persist(outcome); });
}

bool ConversationReply::claim_writes_locked() {
  if (writing_ || row_failed_ || !checkpoint_due_locked()) return false;
  writing_ = true;
  return true;
}

// The first text of a reply is written as soon as the row is free, whatever the interval: the
// engine may pause after its first tokens (behind other requests' prompts), and with nothing more
// arriving no later checkpoint would come for them. Then at most one write per interval.
bool ConversationReply::checkpoint_due_locked() const {
  return !saved_text_ || std::chrono::steady_clock::now() - last_write_ >= p_.context->checkpoints.checkpoint_interval;
}

void ConversationReply::post_writes() {
  // Never with ck_mutex_ held: after a shutdown post() runs the task at once, on this thread.
  auto self = shared_from_this();
  p_.context->pool.post([self] { self->write_checkpoints(); });
}

void ConversationReply::write_checkpoints() {
  for (;;) {
    std::unique_lock<std::mutex> lock(ck_mutex_);
    if (final_) {  // writing_ stays set: nothing is written after the final state
      const GenerationOutcome outcome = std::move(*final_);
      final_.reset();
      lock.unlock();
      persist(outcome);
      return;
    }
    const bool create = row_id_.empty() && !row_failed_;
    const bool due = dirty_ && !row_failed_ && checkpoint_due_locked();
    if (!create && !due) {
      writing_ = false;
      return;
    }
    dirty_ = false;
    last_write_ = std::chrono::steady_clock::now();
    saved_text_ = saved_text_ || !text_.empty() || !reasoning_.empty();
    std::string text = text_, reasoning = reasoning_;
    lock.unlock();
    checkpoint_once(create, std::move(text), std::move(reasoning));
  }
}

void ConversationReply::checkpoint_once(bool create, std::string text, std::string reasoning) {
  store::Store& store = p_.context->store;
  const std::string metadata = reply_metadata_json({"", "", stored_reasoning(reasoning)});
  if (create) {
    store::NewMessage m;
    m.conversation_id = p_.conversation_id;
    m.parent_id = p_.parent_id;
    m.role = store::MessageRole::kAssistant;
    m.content = std::move(text);
    m.model = p_.model;
    m.metadata = metadata;
    m.status = store::MessageStatus::kStreaming;
    m.make_current = true;
    Result<store::Message> row = store.append_message(p_.principal.user_id, m);
    if (row.ok()) {  // named now, not at the end: a reply a crash cuts short leaves a named chat
      if (Result<store::Conversation> c = store.get_conversation(p_.principal.user_id, p_.conversation_id); c.ok()) {
        name_if_untitled(std::move(*c));
      }
    }
    std::lock_guard<std::mutex> lock(ck_mutex_);
    if (row.ok()) {
      row_id_ = row->id;
    } else {
      row_failed_ = true;  // the end appends the whole reply, as without checkpoints
      log_warn("conversation {}: reply row not created while streaming: {}", p_.conversation_id,
               row.status().to_string());
    }
    return;
  }
  store::ReplyUpdate u;
  u.conversation_id = p_.conversation_id;
  {
    std::lock_guard<std::mutex> lock(ck_mutex_);
    u.message_id = row_id_;
  }
  u.content = std::move(text);
  u.metadata = metadata;
  u.status = store::MessageStatus::kStreaming;
  if (Result<store::Message> r = store.update_reply(p_.principal.user_id, u); !r.ok()) {
    log_warn("conversation {}: reply checkpoint not saved: {}", p_.conversation_id, r.status().to_string());
  }
}

store::MessageStatus reply_status(const GenerationOutcome& o, bool shutting_down) {
  using S = store::MessageStatus;
  if (o.finish_reason == "content_filter") return S::kFiltered;
  if (o.finish_reason == "stopped") return shutting_down ? S::kInterrupted : S::kStopped;
  if (o.finish_reason == "cancelled") return S::kInterrupted;  // the client left, or the engine shut down
  // A failure after some text (a worker lost mid-stream) leaves a partial reply.
  if (o.finish_reason == "error") return o.text.empty() && o.reasoning.empty() ? S::kError : S::kInterrupted;
  return S::kComplete;  // stop, length, tool_calls
}

bool ConversationReply::finish_row(const store::NewMessage& m, Result<store::Message>* saved) {
  std::string row;
  {
    std::lock_guard<std::mutex> lock(ck_mutex_);
    row = row_id_;
  }
  if (row.empty()) return false;
  store::ReplyUpdate u;
  u.conversation_id = m.conversation_id;
  u.message_id = row;
  u.content = m.content;
  u.metadata = m.metadata;
  u.status = m.status;
  u.prompt_tokens = m.prompt_tokens;
  u.completion_tokens = m.completion_tokens;
  *saved = p_.context->store.update_reply(p_.principal.user_id, u);
  return true;
}

store::Conversation ConversationReply::name_if_untitled(store::Conversation c) {
  if (!c.title.empty()) return c;
  const std::string title = auto_title(p_.title_source);
  if (title.empty()) return c;
  Result<store::Conversation> renamed = p_.context->store.rename_conversation(p_.principal.user_id, c.id, title);
  if (!renamed.ok()) {
    log_warn("conversation {}: automatic title not saved: {}", c.id, renamed.status().to_string());
    return c;
  }
  return *renamed;
}

void ConversationReply::persist(const GenerationOutcome& outcome) {
  const SpanTiming span = p_.trace.child();
  store::Store& store = p_.context->store;
  store::NewMessage m;
  m.conversation_id = p_.conversation_id;
  m.parent_id = p_.parent_id;
  m.role = store::MessageRole::kAssistant;
  m.content = outcome.text;
  m.model = p_.model;
  m.metadata = reply_metadata_json({outcome.finish_reason, outcome.error, stored_reasoning(outcome.reasoning)});
  m.prompt_tokens = outcome.usage.prompt_tokens;
  m.completion_tokens = outcome.usage.completion_tokens;
  m.make_current = true;
  m.status = reply_status(outcome, p_.context->shutting_down.load());
  Result<store::Message> saved = store::Message{};
  if (!finish_row(m, &saved)) saved = store.append_message(p_.principal.user_id, m);
  p_.trace.record_child(span, "persist", !saved.ok(), saved.ok() ? std::string() : saved.status().to_string());
  HttpResponder& out = *p_.responder;
  if (!saved.ok()) {
    // E.g. the conversation was deleted meanwhile, or the database is down: the text is lost,
    // and the client, if still there, is told so.
    log_event(LogLevel::kWarn, "reply not saved",
              {{"request_id", p_.request_id},
               {"conversation_id", p_.conversation_id},
               {"error", saved.status().to_string()}});
    out.write(
        format_sse_event(error_event_json("The reply could not be saved.", "server_error", "", nullptr), "error"));
    out.finish();
    return;
  }
  Result<store::Conversation> conv = store.get_conversation(p_.principal.user_id, p_.conversation_id);
  const MessageOut assistant = message_out(*saved);
  if (!conv.ok()) {
    out.write(format_sse_event(error_event_json("The conversation is gone.", "invalid_request_error", "", &assistant),
                               "error"));
    out.finish();
    return;
  }
  const store::Conversation named = name_if_untitled(std::move(*conv));
  if (outcome.finish_reason == "error") {
    out.write(format_sse_event(error_event_json(outcome.error, "server_error", "", &assistant), "error"));
  } else {
    // The engine handed this reply's usage to the recorder before it ended: wait for its row, so
    // that the conversation's usage includes it.
    if (p_.usage != nullptr) p_.usage->flush();
    Result<store::UsageTotals> usage = store.conversation_usage(p_.principal.user_id, p_.conversation_id);
    std::optional<store::UsageTotals> totals;
    if (usage.ok()) totals = *usage;
    out.write(format_sse_event(done_event_json(assistant, conversation_out(named, p_.model, totals)), "done"));
  }
  out.finish();
}

}  // namespace parley
