#include "gateway/guard_model.h"

#include <condition_variable>
#include <mutex>

#include "chat/chat_template.h"

namespace parley {
namespace {

// Collects one request's tokens; the caller waits for its end with a deadline.
class GuardSink final : public RequestSink {
 public:
  void on_event(RequestId, EngineEvent event) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto* t = std::get_if<TokenEvent>(&event)) {
      tokens_.insert(tokens_.end(), t->tokens.begin(), t->tokens.end());
      return;
    }
    const FinishEvent& f = std::get<FinishEvent>(event);
    error_ = f.reason == FinishReason::kError ? (f.message.empty() ? "the engine failed" : f.message) : "";
    done_ = true;
    cv_.notify_all();
  }
  // The tokens once finished before the deadline; false on timeout.
  bool wait(std::chrono::steady_clock::time_point deadline, std::vector<TokenId>* tokens, std::string* error) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_until(lock, deadline, [this] { return done_; })) return false;
    *tokens = tokens_;
    *error = error_;
    return true;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<TokenId> tokens_;
  std::string error_;
  bool done_ = false;
};

void replace_all(std::string* s, std::string_view from, std::string_view to) {
  for (std::size_t at = s->find(from); at != std::string::npos; at = s->find(from, at + to.size())) {
    s->replace(at, from.size(), to);
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\n' || s.front() == '\r' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

const std::string_view kLlamaGuardPrompt =
    "Task: Check if there is unsafe content in '{role}' messages in conversations according to our safety "
    "policy with the below categories.\n\n"
    "<BEGIN UNSAFE CONTENT CATEGORIES>\n"
    "S1: Violent Crimes.\nS2: Non-Violent Crimes.\nS3: Sex Crimes.\nS4: Child Exploitation.\nS5: Defamation.\n"
    "S6: Specialized Advice.\nS7: Privacy.\nS8: Intellectual Property.\nS9: Indiscriminate Weapons.\nS10: Hate.\n"
    "S11: Self-Harm.\nS12: Sexual Content.\nS13: Elections.\nS14: Code Interpreter Abuse.\n"
    "<END UNSAFE CONTENT CATEGORIES>\n\n"
    "<BEGIN CONVERSATION>\n\n{role}: {text}\n\n<END CONVERSATION>\n\n"
    "Provide your safety assessment for ONLY THE LAST {role} message in the above conversation:\n"
    " - First line must read 'safe' or 'unsafe'.\n"
    " - If unsafe, a second line must include a comma-separated list of violated categories.";

GuardVerdict parse_guard_answer(std::string_view answer) {
  GuardVerdict v;
  answer = trim(answer);
  const std::size_t nl = answer.find('\n');
  const std::string_view first = trim(answer.substr(0, nl));
  if (first == "safe") {
    v.ok = true;
    return v;
  }
  if (first != "unsafe") {
    v.error = "the guard model's answer is neither 'safe' nor 'unsafe'";
    return v;
  }
  v.ok = true;
  v.unsafe = true;
  std::string_view rest = nl == std::string_view::npos ? std::string_view() : trim(answer.substr(nl + 1));
  rest = rest.substr(0, rest.find('\n'));
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    const std::string_view c = trim(rest.substr(0, comma));
    if (!c.empty() && c.size() <= 16) v.categories.emplace_back(c);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return v;
}

namespace {

// Llama Guard 3's hazard categories (MLCommons taxonomy) and OpenAI's moderation categories,
// where one means the same; the others have no OpenAI counterpart and keep their code.
constexpr std::pair<std::string_view, std::string_view> kOpenAiCategories[] = {
    {"S1", "violence"},         // Violent Crimes
    {"S2", "illicit"},          // Non-Violent Crimes
    {"S3", "S3"},               // Sex-Related Crimes
    {"S4", "sexual/minors"},    // Child Sexual Exploitation
    {"S5", "S5"},               // Defamation
    {"S6", "S6"},               // Specialized Advice
    {"S7", "S7"},               // Privacy
    {"S8", "S8"},               // Intellectual Property
    {"S9", "illicit/violent"},  // Indiscriminate Weapons
    {"S10", "hate"},            // Hate
    {"S11", "self-harm"},       // Suicide & Self-Harm
    {"S12", "sexual"},          // Sexual Content
    {"S13", "S13"},             // Elections
    {"S14", "S14"},             // Code Interpreter Abuse
};

}  // namespace

std::string_view openai_category(std::string_view guard_category) {
  for (const auto& [code, name] : kOpenAiCategories) {
    if (code == guard_category) return name;
  }
  return guard_category;
}

const std::vector<std::string_view>& guard_categories() {
  static const std::vector<std::string_view> all = [] {
    std::vector<std::string_view> out;
    for (const auto& [code, name] : kOpenAiCategories) out.push_back(name);
    return out;
  }();
  return all;
}

GuardModel::GuardModel(GuardConfig config, const ServedModel& model, Family<Histogram>& latency)
    : config_(std::move(config)), model_(model), latency_(latency) {
  if (config_.prompt.empty()) config_.prompt = std::string(kLlamaGuardPrompt);
}

GuardVerdict GuardModel::classify(std::string_view role, std::string_view text) const {
  const auto t0 = std::chrono::steady_clock::now();
  const auto observe = [&](GuardVerdict v) {
    latency_.with({model_.id()}).observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    return v;
  };
  GuardVerdict failed;
  std::string prompt = config_.prompt;
  std::string role_name(role == "user" ? "User" : role == "assistant" ? "Agent" : role);
  replace_all(&prompt, "{role}", role_name);
  replace_all(&prompt, "{text}", text);
  chat::ChatInput input;
  const std::vector<chat::ChatMessage> messages = {{"user", prompt}};
  input.messages = chat::messages_value(messages);
  Result<std::vector<TokenId>> tokens = model_.chat_prompt(std::move(input));
  if (!tokens.ok() || tokens->empty() ||
      static_cast<std::int64_t>(tokens->size()) + config_.max_tokens > model_.n_ctx()) {
    failed.error = tokens.ok() ? "the text does not fit the guard model's context" : tokens.status().message();
    return observe(failed);
  }
  GenerateRequest g;
  g.prompt = std::move(*tokens);
  g.sampling.temperature = 0;
  g.max_tokens = config_.max_tokens;
  auto sink = std::make_shared<GuardSink>();
  Result<RequestId> id = model_.engine().submit(std::move(g), sink);
  if (!id.ok()) {
    failed.error = id.status().message();
    return observe(failed);
  }
  std::vector<TokenId> answer;
  std::string error;
  if (!sink->wait(t0 + std::chrono::milliseconds(config_.timeout_ms), &answer, &error)) {
    model_.engine().cancel(*id);
    failed.error = "the guard model did not answer within its time budget";
    return observe(failed);
  }
  if (!error.empty()) {
    failed.error = error;
    return observe(failed);
  }
  return observe(parse_guard_answer(model_.tokenizer().decode(answer)));
}

}  // namespace parley
