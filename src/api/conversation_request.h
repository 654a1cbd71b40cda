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

// POST /api/conversations
struct CreateConversationRequest {
  std::string title;                         // "" = untitled: the first exchange names it
  std::optional<std::string> system_prompt;  // becomes the conversation's root message
};

// PATCH /api/conversations/{id}: at least one field.
struct UpdateConversationRequest {
  std::optional<std::string> title;
  std::optional<bool> archived;
};

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

// "application/json", with any parameters ("; charset=utf-8") and in any case. The conversation
// API accepts request bodies only with this type (415 otherwise): besides being honest about the
// format, it keeps plain HTML forms on other sites from posting to it (they cannot send this type
// without a CORS preflight).
bool is_json_content_type(std::string_view content_type);

}  // namespace parley
