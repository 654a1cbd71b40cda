// `parley bench http`: load on any OpenAI-compatible chat endpoint over HTTP (Parley or not):
// N multi-turn conversations, C at a time, streamed; reports throughput, TTFT, inter-token
// latency, end-to-end latency, the share of prompt tokens served from the server's prefix cache
// and errors by kind. See docs/benchmarks.md.
#include <fmt/core.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <boost/json.hpp>
#include <cmath>
#include <fstream>

#include "apps/bench_http.h"
#include "apps/cli.h"
#include "net/http_client.h"
#include "net/url.h"

namespace parley::cli {
namespace {

namespace json = boost::json;
using bench_http::LoadOptions;

struct HttpBenchArgs {
  LoadOptions load;
  std::string url;
  int system_prompt_tokens = 0;
  int system_prompt_words = -1;  // >= 0: exactly this many words, no calibration
  double duration_s = 0;
  double timeout_s = 300;
  double think_time_s = 0;
  double max_retry_after_s = 60;
  int warmup = 0;
  double slo_ttft_ms = 0;
  double slo_tpot_ms = 0;
  double progress_s = -1;  // < 0: every 10 s when stderr is a terminal
  std::string extra_body;
  std::string save_requests;
  bool json = false;
};

std::atomic<bool> g_stop{false};
extern "C" void on_bench_sigint(int) {
  g_stop = true;
}

// "http://h:p", "http://h:p/", "http://h:p/v1" and ".../v1/chat/completions" all mean the API at ".../v1".
std::string api_base_of(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  for (const std::string_view suffix : {"/chat/completions", "/models"}) {
    if (url.size() >= suffix.size() && url.compare(url.size() - suffix.size(), suffix.size(), suffix) == 0) {
      url.resize(url.size() - suffix.size());
    }
  }
  if (url.size() < 3 || url.compare(url.size() - 3, 3, "/v1") != 0) url += "/v1";
  return url;
}

HttpHeaders auth_headers(const LoadOptions& o) {
  HttpHeaders h{{"Content-Type", "application/json"}};
  if (!o.api_key.empty()) h.emplace_back("Authorization", "Bearer " + o.api_key);
  return h;
}

Result<std::string> first_model(const LoadOptions& o) {
  ASSIGN_OR_RETURN(const HttpResponse r, HttpClient().request("GET", o.api_base + "/models", auth_headers(o)));
  if (r.status != 200) return unavailable_error("GET {}/models: HTTP {}", o.api_base, r.status);
  boost::system::error_code ec;
  const json::value v = json::parse(r.body, ec);
  const json::value* data = !ec && v.is_object() ? v.as_object().if_contains("data") : nullptr;
  if (data == nullptr || !data->is_array() || data->as_array().empty() || !data->as_array()[0].is_object() ||
      !data->as_array()[0].as_object().contains("id") || !data->as_array()[0].at("id").is_string()) {
    return unavailable_error("GET {}/models lists no models", o.api_base);
  }
  return std::string(data->as_array()[0].at("id").as_string());
}

// usage.prompt_tokens of a one-token, non-streamed completion of `messages`.
Result<std::int64_t> prompt_tokens_of(const LoadOptions& o, json::array messages) {
  json::object body{{"model", o.model}, {"messages", std::move(messages)}, {"max_tokens", 1}};
  ASSIGN_OR_RETURN(const HttpResponse r, HttpClient().request("POST", o.api_base + "/chat/completions", auth_headers(o),
                                                              json::serialize(body), o.timeout));
  if (r.status != 200) return unavailable_error("HTTP {}", r.status);
  boost::system::error_code ec;
  const json::value v = json::parse(r.body, ec);
  const json::value* usage = !ec && v.is_object() ? v.as_object().if_contains("usage") : nullptr;
  if (usage == nullptr || !usage->is_object() || !usage->as_object().contains("prompt_tokens") ||
      !usage->at("prompt_tokens").is_int64()) {
    return unavailable_error("no usage.prompt_tokens in the answer");
  }
  return usage->at("prompt_tokens").as_int64();
}

// Words for a system prompt of about `tokens` tokens of the server's tokenizer, measured with a
// sample text (other words than the real prompt, so the measurement warms no cache for it).
int system_prompt_words(const LoadOptions& o, int tokens) {
  constexpr double kDefaultTokensPerWord = 1.3;
  const int sample_words = std::clamp(tokens / 4, 16, 200);
  Rng rng(Rng::derive(o.seed, 0xca1));
  const json::object user{{"role", "user"}, {"content", "Hello."}};
  const Result<std::int64_t> without = prompt_tokens_of(o, json::array{user});
  const Result<std::int64_t> with = prompt_tokens_of(
      o, json::array{json::object{{"role", "system"}, {"content", bench_http::random_words(rng, sample_words)}}, user});
  double per_word = kDefaultTokensPerWord;
  if (with.ok() && without.ok() && *with > *without) {
    per_word = static_cast<double>(*with - *without) / sample_words;
  } else {
    fmt::print(stderr, "parley bench http: could not measure the tokenizer ({}); assuming {} tokens per word\n",
               (with.ok() ? without : with).status().message(), kDefaultTokensPerWord);
  }
  return std::max(1, static_cast<int>(std::lround(tokens / per_word)));
}

Status validate(const HttpBenchArgs& a) {
  const LoadOptions& o = a.load;
  if (o.concurrency < 1 || o.concurrency > bench_http::kMaxConcurrency) {
    return invalid_argument_error("--concurrency must be 1..{} (one thread per conversation in flight)",
                                  bench_http::kMaxConcurrency);
  }
  if (o.turns < 1 || o.max_tokens < 1 || o.user_turn_words < 1 || a.timeout_s <= 0) {
    return invalid_argument_error("--turns, --max-tokens, --user-turn-words and --timeout must be positive");
  }
  if (a.duration_s <= 0 && o.conversations < 1) return invalid_argument_error("--conversations must be positive");
  if (a.warmup < 0) return invalid_argument_error("--warmup must not be negative");
  if (o.range_ratio < 0 || o.range_ratio >= 1) return invalid_argument_error("--range-ratio must be in [0, 1)");
  if (o.tenants < 0 || o.retries < 0 || o.conversation_rate < 0 || a.system_prompt_tokens < 0 || a.think_time_s < 0) {
    return invalid_argument_error(
        "--tenants, --retries, --rate, --system-prompt-tokens and --think-time must not be negative");
  }
  return ok_status();
}

// Single-turn conversations before the measured run, their figures discarded: other user words, the
// same system prompt (a running service has it cached).
void warm_up(const LoadOptions& o, int n) {
  LoadOptions w = o;
  w.conversations = n;
  w.turns = 1;
  w.concurrency = std::min(o.concurrency, n);
  w.seed = Rng::derive(o.seed, 0x3a7);
  w.duration = w.think_time = w.progress_every = std::chrono::milliseconds(0);
  w.conversation_rate = 0;
  const bench_http::LoadResult r = bench_http::run_load(w, g_stop);
  int failed = 0;
  for (const auto& x : r.requests) failed += x.ok ? 0 : 1;
  if (failed > 0)
    fmt::print(stderr, "parley bench http: {} of {} warm-up requests failed\n", failed, r.requests.size());
}

std::chrono::milliseconds ms_of(double seconds) {
  return std::chrono::milliseconds(std::llround(seconds * 1e3));
}

int run_bench_http(HttpBenchArgs a) {
  if (Status s = validate(a); !s.ok()) return fail("bench http", s);
  if (a.progress_s < 0) a.progress_s = isatty(STDERR_FILENO) != 0 ? 10 : 0;
  LoadOptions& o = a.load;
  o.api_base = api_base_of(a.url);
  if (Result<Url> u = parse_url(o.api_base); !u.ok()) return fail("bench http", u.status());
  o.duration = ms_of(a.duration_s);
  o.timeout = ms_of(a.timeout_s);
  o.think_time = ms_of(a.think_time_s);
  o.max_retry_after = ms_of(a.max_retry_after_s);
  o.progress_every = ms_of(a.progress_s);
  o.slo_ttft_s = a.slo_ttft_ms / 1e3;
  o.slo_tpot_s = a.slo_tpot_ms / 1e3;
  if (!a.extra_body.empty()) {
    boost::system::error_code ec;
    const json::value v = json::parse(a.extra_body, ec);
    if (ec || !v.is_object()) return fail("bench http", invalid_argument_error("--extra-body must be a JSON object"));
    o.extra_body = v.as_object();
  }
  if (o.model.empty()) {
    Result<std::string> m = first_model(o);
    if (!m.ok()) return fail("bench http", m.status());
    o.model = *m;
  }
  bench_http::ReportInfo info{.url = o.api_base, .system_prompt_tokens = a.system_prompt_tokens, .warmup = a.warmup};
  info.system_prompt_words = a.system_prompt_words >= 0   ? a.system_prompt_words
                             : a.system_prompt_tokens > 0 ? system_prompt_words(o, a.system_prompt_tokens)
                                                          : 0;
  Rng rng(Rng::derive(o.seed, 0x5157));
  o.system_prompt = bench_http::random_words(rng, info.system_prompt_words);

  struct sigaction sa {
  }, old{};
  sa.sa_handler = on_bench_sigint;
  sigaction(SIGINT, &sa, &old);
  if (a.warmup > 0) warm_up(o, a.warmup);
  const bench_http::LoadResult result = bench_http::run_load(o, g_stop);
  sigaction(SIGINT, &old, nullptr);

  if (!a.save_requests.empty()) {
    std::ofstream f(a.save_requests);
    for (const auto& r : result.requests) f << json::serialize(bench_http::request_json(r)) << '\n';
    if (!f) return fail("bench http", errno_error("write", a.save_requests, errno));
  }
  const json::object report = bench_http::make_report(o, info, result);
  if (a.json) {
    fmt::print("{}\n", json::serialize(report));
  } else {
    fmt::print("{}", bench_http::format_report(report));
  }
  return kExitOk;
}

}  // namespace

CLI::App* add_bench_http_command(CLI::App& bench, int* exit_code) {
  auto a = std::make_shared<HttpBenchArgs>();
  LoadOptions& o = a->load;
  CLI::App* cmd = bench.add_subcommand(
      "http",
      "Load any OpenAI-compatible endpoint (Parley or not) with streamed multi-turn chats, C conversations at a time; "
      "reports generated tok/s, TTFT, inter-token and end-to-end latency percentiles, cached prompt share, errors by "
      "kind");
  cmd->add_option("--url", a->url, "Server URL (http://host:port, with or without /v1)")->required();
  cmd->add_option("-c,--concurrency", o.concurrency, "Conversations in flight (one thread each)")
      ->capture_default_str();
  cmd->add_option("-N,--conversations", o.conversations, "Conversations in all")->capture_default_str();
  cmd->add_option("-T,--turns", o.turns, "User turns per conversation (each carries the history)")
      ->capture_default_str();
  cmd->add_option("--system-prompt-tokens", a->system_prompt_tokens,
                  "A system prompt of about this many tokens, the same for every conversation (measured with the "
                  "server's usage figures)")
      ->capture_default_str();
  cmd->add_option("--system-prompt-words", a->system_prompt_words,
                  "A system prompt of exactly this many words instead (the same text on every server)");
  cmd->add_option("--user-turn-words", o.user_turn_words, "Words per user message")->capture_default_str();
  cmd->add_option("--max-tokens", o.max_tokens, "max_tokens of each request")->capture_default_str();
  cmd->add_option("--range-ratio", o.range_ratio,
                  "Vary each turn's user words and max_tokens uniformly within x * [1 - R, 1 + R] (0..1)")
      ->capture_default_str();
  cmd->add_flag("--ignore-eos", o.ignore_eos, "Send ignore_eos (vLLM, Parley): every reply is max_tokens long");
  cmd->add_option("--temperature", o.temperature, "Sampling temperature (default: the server's)");
  cmd->add_option("--model", o.model, "Model id (default: the first of GET /v1/models)");
  cmd->add_option("--api-key", o.api_key, "Bearer token (env OPENAI_API_KEY)")->envname("OPENAI_API_KEY");
  cmd->add_option("--tenants", o.tenants, "Spread conversations over this many `user` values (0: send none)")
      ->capture_default_str();
  cmd->add_option("--tenant-prefix", o.tenant_prefix, "`user` values are PREFIX-0 .. PREFIX-(K-1)")
      ->capture_default_str();
  cmd->add_option("--duration", a->duration_s,
                  "Run for this many seconds instead of --conversations (in-flight turns end)");
  cmd->add_option("--rate", o.conversation_rate,
                  "Start conversations as a Poisson process of this rate per second (0: as "
                  "fast as --concurrency allows)")
      ->capture_default_str();
  cmd->add_option("--think-time", a->think_time_s, "Seconds between a reply and the next user turn")
      ->capture_default_str();
  cmd->add_option("--timeout", a->timeout_s, "Seconds one request may take in all")->capture_default_str();
  cmd->add_option("--retries", o.retries,
                  "Send a turn answered 429 or 503 again up to this many times, after its Retry-After")
      ->capture_default_str();
  cmd->add_option("--max-retry-after", a->max_retry_after_s, "Longest Retry-After honoured, in seconds")
      ->capture_default_str();
  cmd->add_option("--extra-body", a->extra_body, "A JSON object merged into every request body");
  cmd->add_option("--seed", o.seed, "Seed of the prompts' words")->capture_default_str();
  cmd->add_option("--save-requests", a->save_requests, "Write one JSON line per request to this file");
  cmd->add_option("--warmup", a->warmup, "Single-turn requests sent first and left out of the figures")
      ->capture_default_str();
  cmd->add_option("--slo-ttft", a->slo_ttft_ms, "Goodput: a request counts if its TTFT is within this many ms");
  cmd->add_option("--slo-tpot", a->slo_tpot_ms, "Goodput: ... and its time per output token within this many ms");
  cmd->add_option("--progress", a->progress_s,
                  "Print a progress line on stderr every this many seconds (0: never; default: 10 on a terminal)");
  cmd->add_flag("--json", a->json, "Print one JSON object");
  cmd->callback([a, exit_code] { *exit_code = run_bench_http(*a); });
  return cmd;
}

}  // namespace parley::cli
