// The fixture of the moderation tests through the gateway (moderation_test.cpp,
// moderation_upkeep_test.cpp, moderation_guard_test.cpp): a real server, a SQLite store, and a
// scripted engine whose replies the tests choose.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "accounts_fixture.h"
#include "policy/policy_config_toml.h"

namespace parley::testing {

namespace json = boost::json;

// Replies with `reply`, one byte token per event, from a thread of its own (the engine thread).
class ReplyEngine final : public EngineClient {
 public:
  ~ReplyEngine() override {
    std::lock_guard<std::mutex> lock(mu_);
    for (std::thread& t : threads_) t.join();
  }
  Result<RequestId> submit(GenerateRequest request, std::shared_ptr<RequestSink> sink) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (refuse_requests > 0) {
      --refuse_requests;
      return resource_exhausted_error("the request queue is full (0 waiting); retry later");
    }
    const RequestId id = ++next_;
    prompts_.push_back(request.prompt);
    auto cancelled = std::make_shared<std::atomic<bool>>(false);
    cancelled_[id] = cancelled;
    std::vector<TokenId> tokens = reply_tokens;
    const bool hang = hang_requests > 0;
    if (hang) --hang_requests;
    threads_.emplace_back([id, sink, cancelled, tokens, hang] {
      FinishEvent f;
      f.prompt_tokens = 1;
      while (hang && !cancelled->load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      for (const TokenId t : tokens) {
        if (cancelled->load()) break;
        sink->on_event(id, TokenEvent{{t}, {}});
        ++f.completion_tokens;
      }
      f.reason = cancelled->load() ? FinishReason::kCancelled : FinishReason::kStop;
      sink->on_event(id, std::move(f));
    });
    return id;
  }
  void cancel(RequestId id) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = cancelled_.find(id); it != cancelled_.end()) it->second->store(true);
  }
  EngineStats stats() const override { return {}; }
  std::vector<std::vector<TokenId>> prompts() {
    std::lock_guard<std::mutex> lock(mu_);
    return prompts_;
  }

  std::vector<TokenId> reply_tokens;  // set before requests
  int hang_requests = 0;              // the next ones produce nothing until cancelled
  int refuse_requests = 0;            // the next ones are refused as by a full queue (429)

 private:
  std::mutex mu_;
  RequestId next_ = 0;
  std::vector<std::thread> threads_;
  std::vector<std::vector<TokenId>> prompts_;
  std::map<RequestId, std::shared_ptr<std::atomic<bool>>> cancelled_;
};

inline constexpr std::string_view kRules = R"(
[moderation]
[[moderation.rules]]
name = "nightingale"
kind = "phrases"
phrases = ["project nightingale"]
stage = "input"
action = "block"

[[moderation.rules]]
name = "pii-in"
kind = "detector"
detectors = ["email"]
stage = "input"
action = "redact"

[[moderation.rules]]
name = "sauce-out"
kind = "phrases"
phrases = ["secret sauce"]
stage = "output"
action = "block"
category = "secrets"

[moderation.abuse]
suspend_s = 600
)";

class ModerationTest : public AccountsTest {
 protected:
  // `threshold`: the score that suspends (a blocked request is 5 points, decaying).
  void start_moderated(double threshold = 100, std::string abuse_extra = "") {
    std::string rules(kRules);
    rules += "suspend_threshold = " + std::to_string(threshold) + "\n" + abuse_extra;
    auto config = policy::parse_policy_config(rules, "test.toml");
    ASSERT_TRUE(config.ok()) << config.status().to_string();
    auto compiled = policy::Policy::compile(std::move(*config));
    ASSERT_TRUE(compiled.ok()) << compiled.status().to_string();
    gateway_options_.moderation = *compiled;
    gateway_options_.moderation_clock = [this] {
      return store::system_now() + std::chrono::duration_cast<std::chrono::microseconds>(clock_offset_.load());
    };
    engine = std::make_shared<ReplyEngine>();
    scripted_engine_ = engine;
    start();
    owner = signup("owner@example.com");  // the first account: the admin
    key = create_key(owner).second;
  }
  void reply_with(std::string_view text) {
    engine->reply_tokens = gateway_->models()[0]->tokenizer().encode(text, {.add_special = false});
  }
  std::string prompt_text(std::size_t i) { return gateway_->models()[0]->tokenizer().decode(engine->prompts().at(i)); }
  Reply chat_with(std::string_view k, std::string_view content, bool stream = false) {
    json::object body{{"model", "tiny"},
                      {"messages", json::array{json::object{{"role", "user"}, {"content", content}}}},
                      {"stream", stream}};
    return with_key(k, "POST", "/v1/chat/completions", json::serialize(body));
  }
  std::vector<store::ModerationEvent> events() {
    gateway_->moderation().flush();
    store::ModerationEventQuery q;
    auto page = db().list_moderation_events(q);
    EXPECT_TRUE(page.ok());
    return page.ok() ? page->items : std::vector<store::ModerationEvent>{};
  }

  std::shared_ptr<ReplyEngine> engine;
  Session owner;
  std::string key;
};

// Calls `probe` until it returns true, for at most a minute (a deadline for a hung test, not a
// timing threshold: what it waits for is periodic or asynchronous work).
template <typename F>
bool eventually(F probe) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (std::chrono::steady_clock::now() < deadline) {
    if (probe()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

// The content of the SSE chunks of a streamed chat reply, and its last finish_reason.
inline std::pair<std::string, std::string> streamed(const std::string& body) {
  std::string content, finish;
  std::size_t at = 0;
  while ((at = body.find("data: ", at)) != std::string::npos) {
    const std::size_t end = body.find("\n\n", at);
    const std::string data = body.substr(at + 6, end - at - 6);
    at = end;
    if (data == "[DONE]") break;
    boost::system::error_code ec;
    const json::value v = json::parse(data, ec);
    if (ec || !v.as_object().contains("choices") || v.at("choices").as_array().empty()) continue;
    const json::value& c = v.at("choices").at(0);
    if (const json::value* d = c.as_object().at("delta").as_object().if_contains("content"); d && d->is_string())
      content += d->as_string();
    if (c.at("finish_reason").is_string()) finish = std::string(c.at("finish_reason").as_string());
  }
  return {content, finish};
}

}  // namespace parley::testing
