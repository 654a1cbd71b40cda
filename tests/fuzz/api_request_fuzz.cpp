// libFuzzer target for the request parsers of the APIs (src/api): the JSON bodies of
// /v1/chat/completions and /v1/completions, of the conversation API (create, update, send,
// regenerate, current leaf) and its list query. The first byte picks the parser; the rest is the
// body. Whatever the bytes: no crash; a refusal is kInvalidArgument with a message; an accepted
// request is within the limits it was parsed with and its re-serialised JSON parts (messages,
// tools, schemas; a schema may be absent) are JSON; parsing is deterministic. Build and run it with
// scripts/fuzz --target api_request.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/conversation_request.h"
#include "api/openai_request.h"

namespace {

void expect(bool cond, const char* what) {
  if (cond) return;
  std::fprintf(stderr, "api_request_fuzz: violated: %s\n", what);
  std::abort();
}

bool is_json(std::string_view s) {
  boost::system::error_code ec;
  boost::json::parse(s, ec);
  return !ec;
}

template <typename T>
bool refused_well(const parley::Result<T>& r) {
  return !r.ok() && r.status().code() == parley::ErrorCode::kInvalidArgument && !r.status().message().empty();
}

parley::ApiLimits api_limits() {
  parley::ApiLimits l;
  l.max_messages = 8;
  l.max_stop = 3;
  l.max_stop_bytes = 16;
  l.max_n = 4;
  l.max_prompts = 4;
  l.max_json_depth = 12;
  return l;
}

parley::ConversationLimits conversation_limits() {
  parley::ConversationLimits l;
  l.max_title_bytes = 32;
  l.max_content_bytes = 256;
  l.max_page_size = 100;  // above the default page (50)
  l.max_json_depth = 12;
  return l;
}

void check_sampling(const parley::SamplingFields& s, const parley::ApiLimits& l) {
  expect(s.stop.size() <= l.max_stop, "stop count within the limit");
  for (const std::string& stop : s.stop) expect(!stop.empty() && stop.size() <= l.max_stop_bytes, "stop bytes");
}

void chat(std::string_view body) {
  const parley::ApiLimits l = api_limits();
  const auto r = parley::parse_chat_completion_request(body, l);
  const auto again = parley::parse_chat_completion_request(body, l);
  expect(r.ok() == again.ok(), "deterministic");
  if (!r.ok()) {
    expect(refused_well(r), "refusal is kInvalidArgument with a message");
    expect(r.status() == again.status(), "same refusal");
    return;
  }
  expect(!r->messages.empty() && r->messages.size() <= l.max_messages, "message count");
  expect(r->n >= 1 && r->n <= l.max_n, "n within limits");
  expect(is_json(r->messages_json), "messages_json is JSON");
  expect(r->tools_json.empty() || is_json(r->tools_json), "tools_json is JSON");
  for (const parley::ToolDef& t : r->tools) {
    expect(!t.name.empty() && t.name.size() <= 64, "tool name");
    expect(is_json(t.parameters_json), "tool parameters are JSON");
  }
  if (r->response_format && r->response_format->type == parley::ResponseFormat::Type::kJsonSchema)
    expect(r->response_format->schema_json.empty() || is_json(r->response_format->schema_json), "schema is JSON");
  if (r->max_tokens) expect(*r->max_tokens >= 1, "max_tokens >= 1");
  check_sampling(r->sampling, l);
}

void completion(std::string_view body) {
  const parley::ApiLimits l = api_limits();
  const auto r = parley::parse_completion_request(body, l);
  if (!r.ok()) {
    expect(refused_well(r), "refusal is kInvalidArgument with a message");
    return;
  }
  expect(!r->prompts.empty() && r->prompts.size() <= l.max_prompts, "prompt count");
  expect(r->n >= 1 && r->n <= l.max_n, "n within limits");
  check_sampling(r->sampling, l);
}

template <typename T>
void conversation(const parley::Result<T>& r) {
  if (!r.ok()) expect(refused_well(r), "refusal is kInvalidArgument with a message");
}

// "a=1&b=2" -> pairs (no percent-decoding: the parser gets decoded values).
std::vector<std::pair<std::string, std::string>> query_params(std::string_view q) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t start = 0;
  while (start <= q.size()) {
    const std::size_t amp = std::min(q.find('&', start), q.size());
    const std::string_view kv = q.substr(start, amp - start);
    const std::size_t eq = kv.find('=');
    out.emplace_back(std::string(kv.substr(0, eq)), eq == std::string_view::npos ? "" : std::string(kv.substr(eq + 1)));
    start = amp + 1;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1 || size > 16384) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  const parley::ConversationLimits cl = conversation_limits();
  switch (data[0] % 9) {
    case 0:
      chat(body);
      break;
    case 1:
      completion(body);
      break;
    case 2: {
      const auto r = parley::parse_create_conversation(body, cl);
      conversation(r);
      if (r.ok()) {
        expect(r->title.size() <= cl.max_title_bytes, "title bytes");
        if (r->system_prompt) expect(r->system_prompt->size() <= cl.max_content_bytes, "system prompt bytes");
      }
      break;
    }
    case 3: {
      const auto r = parley::parse_update_conversation(body, cl);
      conversation(r);
      if (r.ok()) {
        expect(r->title || r->archived || r->settings, "an update changes something");
        if (r->title) expect(r->title->size() <= cl.max_title_bytes, "title bytes");
      }
      break;
    }
    case 4: {
      const auto r = parley::parse_send_message(body, cl);
      conversation(r);
      if (r.ok()) expect(r->content.size() <= cl.max_content_bytes, "content bytes");
      break;
    }
    case 5:
      conversation(parley::parse_regenerate(body, cl));
      break;
    case 6:
      conversation(parley::parse_set_current_leaf(body, cl));
      break;
    case 7: {
      const auto r = parley::parse_list_conversations(query_params(body), cl);
      conversation(r);
      if (r.ok()) expect(r->limit >= 1 && r->limit <= cl.max_page_size && r->offset >= 0, "page bounds");
      break;
    }
    default:
      (void)parley::is_json_content_type(body);
      conversation(parley::parse_export_query(query_params(body)));
      break;
  }
  return 0;
}
