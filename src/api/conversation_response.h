// Parley's conversation API (docs/api.md): response bodies, SSE event payloads, and the small JSON
// document the gateway keeps in each assistant message's metadata. The gateway fills these plain
// structs from the store's rows; this file owns the wire shape.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley {

// A conversation's settings: absent fields are omitted from "settings".
struct SettingsOut {
  std::optional<std::string> system_prompt;
  std::optional<double> temperature;
  std::optional<std::int64_t> max_tokens;
  std::optional<std::string> model;
};

// {"requests", "prompt_tokens", "completion_tokens", "total_tokens", "cost_micros", "cost"}: the
// shape of /api/usage's totals.
struct UsageOut {
  std::int64_t requests = 0;
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::int64_t cost_micros = 0;
};

struct ConversationOut {
  std::string id;
  std::string title;
  std::int64_t created_at = 0;  // Unix seconds, as OpenAI's objects
  std::int64_t updated_at = 0;
  bool archived = false;
  std::string current_leaf_id;  // "" -> null
  std::int64_t message_count = 0;
  std::optional<std::string> model;  // the model of the last answer on the current path, when known
  SettingsOut settings;
  std::optional<UsageOut> usage;  // the replies' usage, where it was read (tree, done, export)
};

struct MessageOut {
  std::string id;
  std::string parent_id;  // "" -> null (a root)
  std::string role;       // system, user, assistant, tool
  std::string content;
  std::string model;  // "" -> null
  std::int64_t created_at = 0;
  // complete, streaming, stopped, filtered, error, interrupted (docs/api.md); always present
  std::string status = "complete";
  std::string finish_reason;  // assistant messages: stop, length, stopped, cancelled, error; "" -> omitted
  std::string error;          // with finish_reason "error"; "" -> omitted
  std::string reasoning;      // assistant messages: the model's thinking; "" -> omitted
  std::optional<std::int64_t> prompt_tokens;  // set -> "usage": {prompt_tokens, completion_tokens, total_tokens}
  std::int64_t completion_tokens = 0;
  std::optional<std::vector<std::string>> children;  // ids of the replies, oldest first (tree endpoint)
};

std::string conversation_json(const ConversationOut& c);
// {"object":"list","data":[conversation...],"has_more":bool}
std::string conversation_list_json(const std::vector<ConversationOut>& items, bool has_more);
// {"conversation":{...},"current_leaf_id":..,"messages":[...]} with messages parents first.
std::string conversation_tree_json(const ConversationOut& c, const std::vector<MessageOut>& messages);
std::string message_json(const MessageOut& m);

// SSE payloads of a streamed reply (event names in docs/api.md).
std::string message_event_json(std::string_view conversation_id, const MessageOut& user_message);  // event: message
std::string delta_event_json(std::string_view content);                                            // event: delta
std::string reasoning_delta_event_json(std::string_view reasoning);  // event: delta, {"reasoning": ...}
std::string done_event_json(const MessageOut& assistant, const ConversationOut& conversation);     // event: done
// event: error. `message` is the assistant message persisted with what was generated, if any.
std::string error_event_json(std::string_view message, std::string_view type, std::string_view code,
                             const MessageOut* assistant);

// Share links (POST/GET /api/conversations/{id}/shares, DELETE /api/shares/{id}).
struct ShareOut {
  std::string id;
  std::string conversation_id;
  std::string title;
  std::string token;  // the link is "/share/<token>"
  std::int64_t message_count = 0;
  std::int64_t created_at = 0;
  std::optional<std::int64_t> revoked_at;
};
std::string share_json(const ShareOut& s);
std::string share_list_json(const std::vector<ShareOut>& shares);  // {"object":"list","data":[...]}

// GET /api/shared/{token}: what anyone with the link sees, and nothing more.
struct SharedMessageOut {
  std::string role;
  std::string content;
  std::string model;  // "" -> null
  std::int64_t created_at = 0;
};
std::string shared_conversation_json(std::string_view title, std::int64_t created_at,
                                     const std::vector<SharedMessageOut>& messages);

// GET /api/models: the served models as the web UI needs them.
struct UiModelOut {
  std::string id;
  std::int64_t context_length = 0;
  bool demo = false;  // the built-in random-weight demo model: its replies are noise
  std::string owned_by;
};
std::string ui_model_list_json(const std::vector<UiModelOut>& models);  // {"object":"list","data":[...]}

// Metadata of an assistant message: {"finish_reason": ..., "error": ..., "reasoning": ...}.
struct ReplyMetadata {
  std::string finish_reason;
  std::string error;
  std::string reasoning;  // the model's thinking ("reasoning"; omitted when empty)
};
std::string reply_metadata_json(const ReplyMetadata& m);
// Lenient: anything unreadable yields empty fields (metadata is ours, but old rows may differ).
ReplyMetadata parse_reply_metadata(std::string_view json);

}  // namespace parley
