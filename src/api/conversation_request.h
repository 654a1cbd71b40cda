// Parley's conversation API (/api/conversations, docs/api.md): request bodies and query strings
// as typed structs, parsed and validated at the edge. Conventions are the OpenAI requests' (see
// api/openai_request.h) but for unknown fields, which are refused (Parley's own API: a typo such
// as "contnet" must not be silently ignored; the OpenAI API ignores them, as OpenAI does): null
// means "not given", and every error is kInvalidArgument with detail "param" naming the field.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/openai_request.h"
#include "base/result.h"

namespace parley {

struct ConversationLimits {
  std::size_t max_title_bytes = 512;         // the store's limit
  std::size_t max_content_bytes = 1u << 20;  // one user message (and the system prompt)
  std::int64_t max_page_size = 200;          // the store's limit
  int max_json_depth = 64;
};

// A field of a settings change: absent (nullopt: unchanged), cleared (a nullopt inside: JSON null,
// or "" for the texts) or a value.
template <typename T>
using SettingChange = std::optional<std::optional<T>>;

// "settings": {"system_prompt", "temperature", "max_tokens", "model"}: a conversation's defaults
// for its replies. Checked like the same fields of a message (temperature 0-2, max_tokens >= 1, the
// system prompt within max_content_bytes and without NUL, the model a string of at most 256
// bytes); unknown fields are refused (param "settings.<name>").
struct ConversationSettingsChange {
  SettingChange<std::string> system_prompt;
  SettingChange<double> temperature;
  SettingChange<std::int64_t> max_tokens;
  SettingChange<std::string> model;
};
inline constexpr std::size_t kMaxSettingsModelBytes = 256;  // the store's limit on model ids

// POST /api/conversations
struct CreateConversationRequest {
  std::string title;                         // "" = untitled: the first exchange names it
  std::optional<std::string> system_prompt;  // becomes the conversation's root message
  ConversationSettingsChange settings;       // the initial settings (cleared fields: not set)
};

// PATCH /api/conversations/{id}: at least one field.
struct UpdateConversationRequest {
  std::optional<std::string> title;
  std::optional<bool> archived;
  std::optional<ConversationSettingsChange> settings;  // merged into the stored settings
};

// GET /api/conversations/{id}/export?format=markdown|json (default markdown)
enum class ExportFormat { kMarkdown, kJson };

// What a reply is generated with (send and regenerate).
struct ReplyOptions {
  std::string model;                       // "" = the model of the last answer, else the first served
  std::optional<std::int64_t> max_tokens;  // max_tokens or max_completion_tokens; absent: up to the context
  SamplingFields sampling;
};

// POST /api/conversations/{id}/messages
struct SendMessageRequest {
  std::string content;
  // Absent: append to the current leaf. "": a new root (editing the first message). Otherwise the
  // message to answer (editing a user message = sending with that message's parent).
  std::optional<std::string> parent_id;
  ReplyOptions reply;
};

// PUT /api/conversations/{id}/current_leaf
struct SetCurrentLeafRequest {
  std::string message_id;
};

// GET /api/conversations?limit=&offset=&q=&include_archived=
struct ListConversationsQuery {
  int limit = 50;
  int offset = 0;
  std::string search;  // substring of the title (case-insensitive for ASCII; literal)
  bool include_archived = false;
};

Result<CreateConversationRequest> parse_create_conversation(std::string_view body,
                                                            const ConversationLimits& limits = {});
Result<UpdateConversationRequest> parse_update_conversation(std::string_view body,
                                                            const ConversationLimits& limits = {});
Result<SendMessageRequest> parse_send_message(std::string_view body, const ConversationLimits& limits = {});
// An empty body means "all defaults".
Result<ReplyOptions> parse_regenerate(std::string_view body, const ConversationLimits& limits = {});
Result<SetCurrentLeafRequest> parse_set_current_leaf(std::string_view body, const ConversationLimits& limits = {});
// Decoded query parameters (net/url.h parse_query); unknown ones are ignored, repeated ones: the last wins.
Result<ListConversationsQuery> parse_list_conversations(const std::vector<std::pair<std::string, std::string>>& params,
                                                        const ConversationLimits& limits = {});

Result<ExportFormat> parse_export_query(const std::vector<std::pair<std::string, std::string>>& params);

// "application/json", with any parameters ("; charset=utf-8") and in any case. The conversation
// API accepts request bodies only with this type (415 otherwise): besides being honest about the
// format, it keeps plain HTML forms on other sites from posting to it (they cannot send this type
// without a CORS preflight).
bool is_json_content_type(std::string_view content_type);

}  // namespace parley
