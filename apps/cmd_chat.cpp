// `parley chat`: a terminal chat against a Parley (or any OpenAI-compatible) server, streaming
// the replies as they are generated.
#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <iostream>
#include <thread>

#include "apps/cli.h"
#include "net/http_client.h"
#include "net/sse.h"

namespace parley::cli {
namespace {

namespace json = boost::json;

struct ChatArgs {
  std::string url = "http://127.0.0.1:8080";
  std::string model;
  std::string system;
  std::string api_key;
  double temperature = -1;
  std::int64_t max_tokens = 0;
};

std::atomic<bool> g_interrupted{false};
extern "C" void on_sigint(int) { g_interrupted = true; }

// The server's error message from an OpenAI error body, or the raw body.
std::string error_message(const std::string& body) {
  boost::system::error_code ec;
  const json::value v = json::parse(body, ec);
  if (!ec && v.is_object() && v.as_object().contains("error") && v.at("error").is_object()) {
    const auto& e = v.at("error").as_object();
    if (e.contains("message") && e.at("message").is_string()) return std::string(e.at("message").as_string());
  }
  return body;
}

HttpHeaders headers_for(const ChatArgs& a) {
  HttpHeaders h{{"Content-Type", "application/json"}};
  if (!a.api_key.empty()) h.emplace_back("Authorization", "Bearer " + a.api_key);
  return h;
}

Result<std::string> first_model(const HttpClient& client, const ChatArgs& a) {
  ASSIGN_OR_RETURN(const HttpResponse r, client.request("GET", a.url + "/v1/models", headers_for(a)));
  if (r.status != 200) return unavailable_error("GET /v1/models: {} {}", r.status, error_message(r.body));
  boost::system::error_code ec;
  const json::value v = json::parse(r.body, ec);
  if (ec || !v.is_object() || !v.as_object().contains("data") || !v.at("data").is_array() || v.at("data").as_array().empty() ||
      !v.at("data").as_array()[0].is_object()) {
    return unavailable_error("the server lists no models");
  }
  return std::string(v.at("data").as_array()[0].as_object().at("id").as_string());
}

// Streams one reply to stdout; returns its text.
Result<std::string> stream_reply(const HttpClient& client, const ChatArgs& a, const json::array& messages) {
  json::object body{{"model", a.model}, {"messages", messages}, {"stream", true}};
  if (a.temperature >= 0) body["temperature"] = a.temperature;
  if (a.max_tokens > 0) body["max_tokens"] = a.max_tokens;
  auto cancel = std::make_shared<HttpCancellation>();
  std::atomic<bool> finished{false};
  g_interrupted = false;
  std::thread watcher([&] {  // Ctrl-C stops the reply, not the program
    while (!finished) {
      if (g_interrupted) {
        cancel->cancel();
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  std::string reply, error_body;
  int status = 0;
  SseParser sse;
  HttpClientRequest req{.method = "POST", .url = a.url + "/v1/chat/completions", .headers = headers_for(a),
                        .body = json::serialize(body), .cancel = cancel};
  Result<HttpResponse> head = client.stream(
      req, {.on_head = [&](const HttpResponse& h) {
              status = h.status;
              return true;
            },
            .on_data = [&](std::string_view bytes) {
              if (status != 200) {
                error_body += bytes;
                return true;
              }
              return sse.feed(bytes, [&](SseEvent e) {
                           if (e.data == "[DONE]") return;
                           boost::system::error_code ec;
                           const json::value v = json::parse(e.data, ec);
                           if (ec || !v.is_object()) return;
                           if (v.as_object().contains("error")) {
                             error_body = e.data;
                             return;
                           }
                           const auto* choices = v.as_object().if_contains("choices");
                           if (choices == nullptr || !choices->is_array() || choices->as_array().empty()) return;
                           const auto* delta = choices->as_array()[0].as_object().if_contains("delta");
                           if (delta == nullptr || !delta->is_object()) return;
                           const auto* content = delta->as_object().if_contains("content");
                           if (content != nullptr && content->is_string() && !content->as_string().empty()) {
                             const std::string text(content->as_string());
                             std::fwrite(text.data(), 1, text.size(), stdout);
                             std::fflush(stdout);
                             reply += text;
                           }
                         })
                  .ok();
            }});
  finished = true;
  watcher.join();
  std::fputc('\n', stdout);
  if (!head.ok()) {
    if (head.status().code() == ErrorCode::kCancelled) {
      fmt::print("[stopped]\n");
      return reply;
    }
    return head.status();
  }
  if (status != 200 || !error_body.empty()) return unavailable_error("{}", error_message(error_body));
  return reply;
}

int run_chat(ChatArgs a) {
  HttpClient client;
  if (a.model.empty()) {
    Result<std::string> m = first_model(client, a);
    if (!m.ok()) return fail("chat", m.status().with_context(a.url));
    a.model = *m;
  }
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigaction(SIGINT, &sa, nullptr);
  const bool tty = isatty(STDIN_FILENO) != 0;
  if (tty) fmt::print("Chatting with {} at {}. /reset starts over, /system TEXT sets the system prompt, /exit quits.\n", a.model, a.url);
  json::array messages;
  if (!a.system.empty()) messages.push_back(json::object{{"role", "system"}, {"content", a.system}});
  std::string line;
  for (;;) {
    if (tty) {
      fmt::print("> ");
      std::fflush(stdout);
    }
    if (!std::getline(std::cin, line)) break;
    if (line.empty()) continue;
    if (line == "/exit" || line == "/quit") break;
    if (line == "/reset") {
      messages.clear();
      if (!a.system.empty()) messages.push_back(json::object{{"role", "system"}, {"content", a.system}});
      continue;
    }
    if (line.rfind("/system ", 0) == 0) {
      a.system = line.substr(8);
      messages.clear();
      messages.push_back(json::object{{"role", "system"}, {"content", a.system}});
      continue;
    }
    if (line == "/help") {
      fmt::print("/reset  start a new conversation\n/system TEXT  set the system prompt (and start over)\n/exit  quit\n");
      continue;
    }
    messages.push_back(json::object{{"role", "user"}, {"content", line}});
    Result<std::string> reply = stream_reply(client, a, messages);
    if (!reply.ok()) {
      fmt::print(stderr, "error: {}\n", reply.status().message());
      messages.pop_back();
      continue;
    }
    messages.push_back(json::object{{"role", "assistant"}, {"content", *reply}});
  }
  return kExitOk;
}

}  // namespace

void add_chat_command(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<ChatArgs>();
  CLI::App* cmd = app.add_subcommand(
      "chat", "Chat in the terminal with a Parley (or other OpenAI-compatible) server; replies stream as they are generated");
  cmd->add_option("--url", a->url, "Server base URL")->capture_default_str();
  cmd->add_option("--model", a->model, "Model id (default: the server's first)");
  cmd->add_option("--system", a->system, "System prompt");
  cmd->add_option("--temp", a->temperature, "Temperature (default: the server's)");
  cmd->add_option("--max-tokens", a->max_tokens, "Longest reply in tokens (default: the server's)");
  cmd->add_option("--api-key", a->api_key, "API key (sent as a bearer token; env PARLEY_API_KEY)")->envname("PARLEY_API_KEY");
  cmd->callback([a, exit_code] { *exit_code = run_chat(*a); });
}

}  // namespace parley::cli
