// `parley bench http`: a load generator for any OpenAI-compatible chat endpoint. Conversations of
// streamed turns (each turn carries the history: the earlier user messages and replies), C at a
// time, each conversation on its own thread with blocking HttpClient calls (one connection per
// request). Three parts: the load (bench_http_load.cpp), the report (bench_http_report.cpp) and
// the command (cmd_bench_http.cpp).
#pragma once

#include <atomic>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "base/rng.h"

namespace parley::cli::bench_http {

// A thread per conversation in flight: fine for hundreds; beyond this, run several processes.
inline constexpr int kMaxConcurrency = 2048;

struct LoadOptions {
  std::string api_base;  // "http://host:port/v1": requests go to api_base + "/chat/completions"
  std::string api_key;   // sent as a bearer token when not empty
  std::string model;
  int concurrency = 4;        // conversations in flight
  int conversations = 16;     // in all (ignored when duration > 0)
  int turns = 3;              // per conversation
  std::string system_prompt;  // the same for every conversation; empty: none
  int user_turn_words = 32;
  int max_tokens = 64;
  double range_ratio = 0;   // 0..1: user words and max_tokens of each turn uniform in x * [1 - r, 1 + r]
  double temperature = -1;  // < 0: not sent (the server's default)
  bool ignore_eos = false;  // vLLM/Parley extension: every reply is max_tokens long
  int tenants = 0;          // > 0: conversation i sends user = tenant_prefix + "-" + (i mod tenants)
  std::string tenant_prefix = "tenant";
  boost::json::object extra_body;              // merged into every request body
  std::uint64_t seed = 1;                      // the words of the prompts (the same seed, the same prompts)
  std::chrono::milliseconds duration{0};       // > 0: start conversations until then, let in-flight turns end
  double conversation_rate = 0;                // > 0: conversations start as a Poisson process of this rate (1/s)
  std::chrono::milliseconds think_time{0};     // pause between a reply and the next user turn
  std::chrono::milliseconds timeout{300'000};  // one request, from sending to the stream's end
  int retries = 0;  // a turn answered 429 or 503 is sent again up to this many times, after Retry-After
  std::chrono::milliseconds max_retry_after{60'000};
  std::chrono::milliseconds progress_every{0};  // > 0: a progress line on stderr this often
  double slo_ttft_s = 0;                        // > 0: goodput counts the requests with a TTFT within this
  double slo_tpot_s = 0;                        // > 0: ... and a time per output token within this
};

// One HTTP request (one attempt at one turn).
struct RequestRecord {
  int conversation = 0;
  int turn = 0;  // 1-based
  int attempt = 0;
  std::string tenant;
  bool ok = false;
  // When !ok: "http_<status>", "connect" (no response head), "disconnected" (lost mid-stream),
  // "timeout", "malformed_stream", "stream_error" (an error event in the stream),
  // "truncated_stream" (ended without [DONE] or a finish reason), "cancelled" (interrupted).
  std::string error;
  std::string error_detail;
  int http_status = 0;
  double retry_after_s = -1;  // the Retry-After header, when sent
  bool retried = false;       // the turn was sent again after this attempt
  double start_s = 0;         // since the run started
  double ttft_s = -1;         // first content chunk; -1: none
  double e2e_s = 0;
  std::vector<double> itl_s;        // gaps between successive content chunks
  std::int64_t prompt_tokens = -1;  // -1: the server did not report it
  std::int64_t completion_tokens = -1;
  std::int64_t cached_tokens = -1;
  std::int64_t content_chunks = 0;
  std::string finish_reason;
  std::string reply;  // the assistant's text (the next turn's history)
};

struct LoadResult {
  std::vector<RequestRecord> requests;  // in completion order
  int conversations_started = 0;
  int conversations_completed = 0;  // every turn answered
  double wall_s = 0;
  bool interrupted = false;
};

// Runs the load and blocks until it ends. Setting `stop` (from any thread, e.g. on SIGINT) ends it
// early: no new request starts and the ones in flight are cancelled.
LoadResult run_load(const LoadOptions& options, const std::atomic<bool>& stop);

// `x` drawn uniformly from [x * (1 - ratio), x * (1 + ratio)], at least 1 (`x` when ratio is 0).
int vary(Rng& rng, int x, double ratio);

// `n` random common English words, separated by spaces.
std::string random_words(Rng& rng, int n);

// The request body of one streamed turn.
boost::json::object turn_body(const LoadOptions& options, const boost::json::array& messages, const std::string& tenant,
                              int max_tokens);

struct ReportInfo {
  std::string url;
  int system_prompt_tokens = 0;  // asked for
  int system_prompt_words = 0;
  int warmup = 0;  // requests sent before the measured run
};

// The report: figures aggregated from the records.
boost::json::object make_report(const LoadOptions& options, const ReportInfo& info, const LoadResult& result);
// The same as a table for people.
std::string format_report(const boost::json::object& report);
// One JSON object per request (for --save-requests), without the reply text.
boost::json::object request_json(const RequestRecord& r);

}  // namespace parley::cli::bench_http
