// The moving parts of a reply generated into a conversation (the conversation API,
// gateway/conversation_api.h, prepares it):
//
//   ConversationReply   a GenerationObserver: streams the reply as SSE events (docs/api.md) and,
//                       when the engine is done — normally, stopped, disconnected or failed —
//                       persists the assistant message on the task pool, names an untitled
//                       conversation and sends the final event, with the conversation's usage
//                       (the engine reported this reply's own to the UsageRecorder).
//   ActiveReplies       the generations in flight per conversation, for POST .../stop, for
//                       deleting a conversation, and for shutting down.
//   ConversationContext what the API and its replies in flight share (kept alive by both).
//
// Plus the conversions from store rows to wire structs and the automatic title.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "api/conversation_request.h"
#include "api/conversation_response.h"
#include "gateway/conversations_config.h"
#include "gateway/generation.h"
#include "gateway/principal.h"
#include "gateway/request_trace.h"
#include "gateway/usage_recorder.h"
#include "gateway/work_pool.h"
#include "net/http_responder.h"
#include "store/store.h"

namespace parley {

// The generations in flight, each under a ticket. Thread-safe.
class ActiveReplies {
 public:
  std::uint64_t add(const std::string& conversation_id, std::weak_ptr<GenerationJob> job);
  void remove(std::uint64_t ticket);
  // Stops (GenerationJob::stop) every generation of the conversation; returns how many.
  std::size_t stop(const std::string& conversation_id);
  std::size_t stop_all();
  std::size_t size() const;
  // True once no generation is in flight; false when the timeout passed first.
  bool wait_empty(std::chrono::milliseconds timeout);

 private:
  struct Entry {
    std::string conversation_id;
    std::weak_ptr<GenerationJob> job;
  };
  std::size_t stop_matching(const std::string* conversation_id);

  mutable std::mutex mutex_;
  std::condition_variable empty_;
  std::map<std::uint64_t, Entry> entries_;
  std::uint64_t next_ticket_ = 1;
};

struct ConversationContext {
  ConversationContext(store::Store& s, int threads, std::size_t max_queued, ReplyCheckpointOptions ck = {})
      : store(s), pool("conversations", threads, max_queued), checkpoints(ck) {}

  store::Store& store;
  WorkPool pool;
  ActiveReplies active;
  ReplyCheckpointOptions checkpoints;
  std::atomic<bool> shutting_down{false};  // replies stopped now were not stopped by their user
};

// The status a reply is saved with, from how its generation ended (docs/api.md).
store::MessageStatus reply_status(const GenerationOutcome& outcome, bool shutting_down);

// Store rows as the wire shows them. `model`: the conversation's current model, when known;
// `usage`: its replies' usage, when it was read.
ConversationOut conversation_out(const store::Conversation& c, std::optional<std::string> model = std::nullopt,
                                 std::optional<store::UsageTotals> usage = std::nullopt);
MessageOut message_out(const store::Message& m);
std::int64_t unix_seconds(store::Time t);
// The settings fields of a request as the store takes them: the initial settings of a new
// conversation (cleared fields: not set), and a change of an existing one's.
store::ConversationSettings initial_settings(const ConversationSettingsChange& change);
store::ConversationSettingsUpdate settings_update(const ConversationSettingsChange& change);
// The model of the last answer on the conversation's current path, if any.
std::optional<std::string> current_model(const store::MessageTree& tree);
// GET /api/conversations/{id} (and the JSON export): the conversation with its settings and
// usage, and every message with its children.
std::string tree_response_json(const store::MessageTree& tree, const store::UsageTotals& usage);

// The automatic title of a conversation: the first line of its first user message, trimmed, at
// most 60 characters (code points, cut on a character boundary and marked with "…"). "" when
// the text has nothing to show. No model call: with the random-weight demo models a generated
// title would be noise, and with real ones it would cost a generation per conversation.
std::string auto_title(std::string_view first_user_message);

// The reasoning kept in an assistant message's metadata: at most kMaxStoredReasoningBytes (a long
// thinking of tens of thousands of tokens), cut on a character boundary and marked with "…". JSON
// escaping at most doubles it (control characters never reach it), so the metadata stays within
// store::kMaxMetadataBytes.
std::string stored_reasoning(std::string_view reasoning);
inline constexpr std::size_t kMaxStoredReasoningBytes = 512u << 10;
inline constexpr std::size_t kAutoTitleMaxChars = 60;

class ConversationReply final : public GenerationObserver, public std::enable_shared_from_this<ConversationReply> {
 public:
  struct Params {
    std::shared_ptr<ConversationContext> context;
    Principal principal;
    std::string conversation_id;
    std::string parent_id;  // the message answered (a user message)
    std::string model;
    std::string request_id;
    std::optional<store::Message> user_message;  // sent first as `event: message` (send, not regenerate)
    UsageRecorder* usage = nullptr;              // flushed before the done event reports the conversation's usage
    std::string title_source;                    // the first user message of the path: names an untitled conversation
    std::shared_ptr<HttpResponder> responder;
    RequestTrace trace;  // the "persist" span
  };
  explicit ConversationReply(Params params) : p_(std::move(params)) {}

  // The ActiveReplies ticket, removed when the generation ends. Set before the job starts.
  void set_ticket(std::uint64_t ticket) { ticket_ = ticket; }

  void on_start() override;
  bool on_text(std::string_view text) override;
  bool on_reasoning(std::string_view text) override;
  void on_end(GenerationOutcome outcome) override;

 private:
  void persist(const GenerationOutcome& outcome);  // on the task pool
  // The final state into the row created while streaming; false (nothing written) without one.
  bool finish_row(const store::NewMessage& m, Result<store::Message>* saved);
  store::Conversation name_if_untitled(store::Conversation c);
  bool checkpoints_on() const { return p_.context->checkpoints.checkpoint_interval.count() > 0; }
  // True when a checkpoint is due and no task owns the writes: the caller now does, and calls
  // post_writes() once it has released ck_mutex_ (held here).
  bool claim_writes_locked();
  bool checkpoint_due_locked() const;
  void post_writes();
  void write_checkpoints();  // on the pool: creates the row, checkpoints, then the final state
  void checkpoint_once(bool create, std::string text, std::string reasoning);

  Params p_;
  std::uint64_t ticket_ = 0;

  // The reply's row while it streams; all under ck_mutex_ (engine thread and pool).
  std::mutex ck_mutex_;
  std::string text_;         // released so far
  std::string reasoning_;    // idem
  std::string row_id_;       // the row, once created
  bool row_failed_ = false;  // creating it failed: the end appends the reply as without checkpoints
  bool writing_ = false;     // a pool task is doing (or about to do) the writes
  bool dirty_ = false;       // text since the last write
  bool saved_text_ = false;  // the row holds some text: until then text is written at once
  std::chrono::steady_clock::time_point last_write_{};
  std::optional<GenerationOutcome> final_;
};

}  // namespace parley
