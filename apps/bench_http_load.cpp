// The load of `parley bench http`: worker threads take conversations in turn and run their turns
// as streamed chat completions, timing every content chunk.
#include <fmt/core.h>

#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <memory>
#include <mutex>
#include <thread>

#include "apps/bench_http.h"
#include "net/http_client.h"
#include "net/sse.h"

namespace parley::cli::bench_http {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxErrorBody = 4096;

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

const char* const kWords[] = {
    "the",      "time",      "people",   "year",     "way",       "day",        "man",     "thing",   "woman",
    "life",     "child",     "world",    "school",   "state",     "family",     "student", "group",   "country",
    "problem",  "hand",      "part",     "place",    "case",      "week",       "company", "system",  "program",
    "question", "work",      "number",   "night",    "point",     "home",       "water",   "room",    "mother",
    "area",     "money",     "story",    "fact",     "month",     "lot",        "right",   "study",   "book",
    "eye",      "job",       "word",     "business", "issue",     "side",       "kind",    "head",    "house",
    "service",  "friend",    "father",   "power",    "hour",      "game",       "line",    "end",     "member",
    "law",      "car",       "city",     "name",     "team",      "minute",     "idea",    "kid",     "body",
    "back",     "parent",    "face",     "others",   "level",     "office",     "door",    "health",  "person",
    "art",      "war",       "history",  "party",    "result",    "change",     "morning", "reason",  "research",
    "girl",     "guy",       "moment",   "air",      "teacher",   "force",      "order",   "explain", "why",
    "how",      "good",      "new",      "first",    "last",      "long",       "great",   "little",  "own",
    "other",    "old",       "big",      "high",     "different", "small",      "large",   "next",    "early",
    "young",    "important", "few",      "public",   "bad",       "same",       "able",    "make",    "know",
    "think",    "take",      "see",      "come",     "want",      "look",       "use",     "find",    "give",
    "tell",     "call",      "try",      "ask",      "need",      "feel",       "become",  "leave",   "put",
    "mean",     "keep",      "let",      "begin",    "seem",      "help",       "talk",    "turn",    "start",
    "show",     "hear",      "play",     "run",      "move",      "like",       "live",    "believe", "hold",
    "bring",    "happen",    "write",    "provide",  "sit",       "stand",      "lose",    "pay",     "meet",
    "include",  "continue",  "set",      "learn",    "lead",      "understand", "watch",   "follow",  "stop",
    "create",   "speak",     "read",     "allow",    "add",       "spend",      "grow",    "open",    "walk",
    "win",      "offer",     "remember", "love",     "consider",  "appear",     "buy",     "wait",    "serve",
    "die",      "send",
};

std::string tenant_of(const LoadOptions& o, int conversation) {
  if (o.tenants <= 0) return {};
  return o.tenant_prefix + "-" + std::to_string(conversation % o.tenants);
}

double parse_retry_after(std::string_view v) {
  if (v.empty()) return -1;
  double s = 0;
  for (const char c : v) {
    if (c < '0' || c > '9') return -1;  // an HTTP date: not honoured, the default wait applies
    s = s * 10 + (c - '0');
  }
  return s;
}

// The error message of an OpenAI error body, else the body itself (shortened).
std::string error_text(std::string_view body) {
  boost::system::error_code ec;
  const json::value v = json::parse(body, ec);
  if (!ec && v.is_object()) {
    const auto* e = v.as_object().if_contains("error");
    if (e != nullptr && e->is_object()) {
      const auto* m = e->as_object().if_contains("message");
      if (m != nullptr && m->is_string()) return std::string(m->as_string());
    }
    if (e != nullptr && e->is_string()) return std::string(e->as_string());
  }
  return std::string(body.substr(0, 200));
}

std::int64_t int_field(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return -1;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
  return -1;
}

// The state of one streamed response, fed event by event.
struct StreamState {
  RequestRecord& rec;
  Clock::time_point sent;
  Clock::time_point last_chunk;
  bool done = false;       // [DONE] seen
  bool malformed = false;  // not JSON, or not an object
  bool stream_error = false;

  void on_event(const SseEvent& e) {
    if (e.data == "[DONE]") {
      done = true;
      return;
    }
    boost::system::error_code ec;
    const json::value v = json::parse(e.data, ec);
    if (ec || !v.is_object()) {
      malformed = true;
      rec.error_detail = "not a JSON object: " + e.data.substr(0, 120);
      return;
    }
    const json::object& o = v.as_object();
    if (const auto* err = o.if_contains("error"); err != nullptr && !err->is_null()) {
      stream_error = true;
      rec.error_detail = error_text(e.data);
      return;
    }
    if (const auto* u = o.if_contains("usage"); u != nullptr && u->is_object()) on_usage(u->as_object());
    const auto* choices = o.if_contains("choices");
    if (choices == nullptr || !choices->is_array() || choices->as_array().empty()) return;
    const auto& c0 = choices->as_array()[0];
    if (!c0.is_object()) return;
    if (const auto* fr = c0.as_object().if_contains("finish_reason"); fr != nullptr && fr->is_string()) {
      rec.finish_reason = std::string(fr->as_string());
    }
    const auto* delta = c0.as_object().if_contains("delta");
    if (delta != nullptr && delta->is_object()) on_delta(delta->as_object());
  }

  void on_usage(const json::object& u) {
    rec.prompt_tokens = int_field(u, "prompt_tokens");
    rec.completion_tokens = int_field(u, "completion_tokens");
    const auto* d = u.if_contains("prompt_tokens_details");
    if (d != nullptr && d->is_object()) rec.cached_tokens = int_field(d->as_object(), "cached_tokens");
  }

  // A chunk with content (text, reasoning or a tool call) is a token arrival; role-only is not.
  void on_delta(const json::object& d) {
    bool content = false;
    for (const char* key : {"content", "reasoning_content", "reasoning"}) {
      const auto* t = d.if_contains(key);
      if (t != nullptr && t->is_string() && !t->as_string().empty()) {
        content = true;
        if (std::string_view(key) == "content") rec.reply += t->as_string();
      }
    }
    if (const auto* tc = d.if_contains("tool_calls"); tc != nullptr && tc->is_array() && !tc->as_array().empty()) {
      content = true;
    }
    if (!content) return;
    const auto now = Clock::now();
    if (rec.content_chunks == 0) {
      rec.ttft_s = seconds_between(sent, now);
    } else {
      rec.itl_s.push_back(seconds_between(last_chunk, now));
    }
    last_chunk = now;
    ++rec.content_chunks;
  }
};

// One response, from its head to its end: feeds the stream to a StreamState, keeps an error body,
// enforces the whole-request deadline and classifies the outcome.
class TurnResponse {
 public:
  TurnResponse(RequestRecord& rec, Clock::time_point sent, Clock::time_point deadline)
      : rec_(rec), st_{rec, sent, sent}, deadline_(deadline) {}

  bool on_head(const HttpResponse& h) {
    got_head_ = true;
    rec_.http_status = h.status;
    rec_.retry_after_s = parse_retry_after(h.header("Retry-After"));
    return true;
  }

  bool on_data(std::string_view bytes) {
    if (Clock::now() > deadline_) {
      timed_out_ = true;
      return false;
    }
    if (rec_.http_status != 200) {
      if (error_body_.size() < kMaxErrorBody) error_body_.append(bytes.substr(0, kMaxErrorBody - error_body_.size()));
      return true;
    }
    const Status s = sse_.feed(bytes, [&](SseEvent e) { st_.on_event(e); });
    if (!s.ok()) {
      st_.malformed = true;
      rec_.error_detail = std::string(s.message());
    }
    return s.ok() && !st_.malformed && !st_.stream_error;
  }

  // Sets rec.error (empty: success) and rec.ok from what the call returned.
  void finish(const Result<HttpResponse>& head) {
    if (st_.malformed) {
      rec_.error = "malformed_stream";
    } else if (st_.stream_error) {
      rec_.error = "stream_error";
    } else if (timed_out_) {
      rec_.error = "timeout";
    } else if (!head.ok()) {
      const ErrorCode code = head.status().code();
      rec_.error = code == ErrorCode::kDeadlineExceeded ? "timeout"
                   : code == ErrorCode::kCancelled      ? "cancelled"
                   : got_head_                          ? "disconnected"
                                                        : "connect";
      rec_.error_detail = std::string(head.status().message());
    } else if (rec_.http_status != 200) {
      rec_.error = "http_" + std::to_string(rec_.http_status);
      rec_.error_detail = error_text(error_body_);
    } else if (!st_.done && rec_.finish_reason.empty()) {
      rec_.error = "truncated_stream";
    }
    rec_.ok = rec_.error.empty();
  }

 private:
  RequestRecord& rec_;
  StreamState st_;
  SseParser sse_;
  const Clock::time_point deadline_;
  bool got_head_ = false;
  bool timed_out_ = false;
  std::string error_body_;
};

// Sends one turn and classifies the outcome.
RequestRecord send_turn(const LoadOptions& o, const std::string& body, const std::shared_ptr<HttpCancellation>& cancel,
                        Clock::time_point run_start) {
  RequestRecord rec;
  HttpHeaders headers{{"Content-Type", "application/json"}, {"Accept", "text/event-stream"}};
  if (!o.api_key.empty()) headers.emplace_back("Authorization", "Bearer " + o.api_key);
  HttpClientRequest req{.method = "POST",
                        .url = o.api_base + "/chat/completions",
                        .headers = std::move(headers),
                        .body = body,
                        .timeout = o.timeout,
                        .idle_timeout = o.timeout,
                        .cancel = cancel};
  const auto sent = Clock::now();
  rec.start_s = seconds_between(run_start, sent);
  TurnResponse response(rec, sent, sent + o.timeout);
  const Result<HttpResponse> head =
      HttpClient().stream(req, {.on_head = [&](const HttpResponse& h) { return response.on_head(h); },
                                .on_data = [&](std::string_view bytes) { return response.on_data(bytes); }});
  rec.e2e_s = seconds_between(sent, Clock::now());
  response.finish(head);
  return rec;
}

// Shared by the worker threads: which conversation starts next, and when.
class Dispatcher {
 public:
  Dispatcher(const LoadOptions& o, Clock::time_point start)
      : o_(o), start_(start), next_at_(start), rng_(Rng::derive(o.seed, 0xa11)) {}

  // The next conversation's index and start time; false when the run is over.
  bool next(int* index, Clock::time_point* at) {
    std::lock_guard<std::mutex> lock(mu_);
    if (o_.duration.count() > 0 ? Clock::now() >= start_ + o_.duration : next_index_ >= o_.conversations) return false;
    *index = next_index_++;
    if (o_.conversation_rate > 0) {
      const double u = (static_cast<double>(rng_.next_u64() >> 11) + 0.5) * 0x1.0p-53;
      next_at_ += std::chrono::duration_cast<Clock::duration>(
          std::chrono::duration<double>(-std::log(u) / o_.conversation_rate));
    }
    *at = next_at_;
    return true;
  }

 private:
  const LoadOptions& o_;
  const Clock::time_point start_;
  std::mutex mu_;
  int next_index_ = 0;
  Clock::time_point next_at_;
  Rng rng_;
};

class Load {
 public:
  Load(const LoadOptions& o, const std::atomic<bool>& stop)
      : o_(o), stop_(stop), start_(Clock::now()), dispatcher_(o, start_) {
    cancels_.resize(static_cast<std::size_t>(o.concurrency));
  }

  LoadResult run() {
    std::vector<std::thread> workers;
    for (int w = 0; w < o_.concurrency; ++w) workers.emplace_back([this, w] { work(w); });
    std::atomic<bool> finished{false};
    std::thread watcher([&] {  // turns `stop` into cancelled requests, and prints progress
      auto next_progress = start_ + o_.progress_every;
      while (!finished && !stop_) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        if (o_.progress_every.count() > 0 && Clock::now() >= next_progress) {
          print_progress();
          next_progress += o_.progress_every;
        }
      }
      if (finished) return;
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& c : cancels_) {
        if (c) c->cancel();
      }
    });
    for (auto& t : workers) t.join();
    finished = true;
    watcher.join();
    result_.wall_s = seconds_between(start_, Clock::now());
    result_.interrupted = stop_;
    return std::move(result_);
  }

 private:
  void print_progress() {
    std::int64_t ok = 0, failed = 0, generated = 0;
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& r : result_.requests) {
      (r.ok ? ok : failed) += 1;
      if (r.ok) generated += r.completion_tokens >= 0 ? r.completion_tokens : r.content_chunks;
    }
    const double t = seconds_between(start_, Clock::now());
    fmt::print(stderr, "[{:6.1f} s] {} requests ok, {} failed, {} conversations done, {:.1f} generated tok/s\n", t, ok,
               failed, result_.conversations_completed, static_cast<double>(generated) / t);
  }

  bool over() const { return stop_ || (o_.duration.count() > 0 && Clock::now() >= start_ + o_.duration); }

  // Sleeps until `t`, waking early when the run is stopped; false if stopped.
  bool sleep_until(Clock::time_point t) const {
    while (Clock::now() < t) {
      if (stop_) return false;
      std::this_thread::sleep_for(std::min<Clock::duration>(t - Clock::now(), std::chrono::milliseconds(20)));
    }
    return !stop_;
  }

  void work(int worker) {
    int index = 0;
    Clock::time_point at;
    while (!stop_ && dispatcher_.next(&index, &at)) {
      if (!sleep_until(at)) break;
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++result_.conversations_started;
      }
      const bool completed = conversation(worker, index);
      std::lock_guard<std::mutex> lock(mu_);
      if (completed) ++result_.conversations_completed;
    }
  }

  // Runs one conversation's turns; true when every turn was answered.
  bool conversation(int worker, int index) {
    Rng rng(Rng::derive(o_.seed, static_cast<std::uint64_t>(index) + 1));
    const std::string tenant = tenant_of(o_, index);
    json::array messages;
    if (!o_.system_prompt.empty()) messages.push_back(json::object{{"role", "system"}, {"content", o_.system_prompt}});
    for (int turn = 1; turn <= o_.turns; ++turn) {
      if (turn > 1 && (over() || !sleep_until(Clock::now() + o_.think_time))) return false;
      const int words = vary(rng, o_.user_turn_words, o_.range_ratio);
      messages.push_back(json::object{{"role", "user"}, {"content", random_words(rng, words)}});
      const int max_tokens = vary(rng, o_.max_tokens, o_.range_ratio);
      const std::string body = json::serialize(turn_body(o_, messages, tenant, max_tokens));
      std::string reply;
      if (!send_with_retries(worker, index, turn, tenant, body, &reply)) return false;
      messages.push_back(json::object{{"role", "assistant"}, {"content", reply}});
    }
    return true;
  }

  bool send_with_retries(int worker, int index, int turn, const std::string& tenant, const std::string& body,
                         std::string* reply) {
    for (int attempt = 0;; ++attempt) {
      auto cancel = std::make_shared<HttpCancellation>();
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stop_) return false;
        cancels_[static_cast<std::size_t>(worker)] = cancel;
      }
      RequestRecord rec = send_turn(o_, body, cancel, start_);
      rec.conversation = index;
      rec.turn = turn;
      rec.attempt = attempt;
      rec.tenant = tenant;
      const bool retry =
          (rec.http_status == 429 || rec.http_status == 503) && !rec.ok && attempt < o_.retries && !over();
      rec.retried = retry;
      const bool ok = rec.ok;
      const double wait_s = rec.retry_after_s >= 0 ? rec.retry_after_s : 1.0;
      if (ok) *reply = rec.reply;
      {
        std::lock_guard<std::mutex> lock(mu_);
        cancels_[static_cast<std::size_t>(worker)].reset();
        result_.requests.push_back(std::move(rec));
      }
      if (ok) return true;
      if (!retry) return false;
      const auto wait = std::min<Clock::duration>(
          std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(wait_s)), o_.max_retry_after);
      if (!sleep_until(Clock::now() + wait)) return false;
    }
  }

  const LoadOptions& o_;
  const std::atomic<bool>& stop_;
  const Clock::time_point start_;
  Dispatcher dispatcher_;
  std::mutex mu_;  // guards result_ and cancels_
  LoadResult result_;
  std::vector<std::shared_ptr<HttpCancellation>> cancels_;  // each worker's request in flight
};

}  // namespace

std::string random_words(Rng& rng, int n) {
  std::string out;
  constexpr std::uint64_t kCount = sizeof(kWords) / sizeof(kWords[0]);
  for (int i = 0; i < n; ++i) {
    if (i > 0) out += ' ';
    out += kWords[rng.below(kCount)];
  }
  return out;
}

int vary(Rng& rng, int x, double ratio) {
  if (ratio <= 0) return x;
  const auto lo = static_cast<int>(std::floor(x * (1 - ratio)));
  const auto hi = static_cast<int>(std::ceil(x * (1 + ratio)));
  return std::max(1, lo + static_cast<int>(rng.below(static_cast<std::uint64_t>(hi - lo + 1))));
}

json::object turn_body(const LoadOptions& o, const json::array& messages, const std::string& tenant, int max_tokens) {
  json::object body{{"model", o.model},
                    {"messages", messages},
                    {"stream", true},
                    {"stream_options", json::object{{"include_usage", true}}},
                    {"max_tokens", max_tokens}};
  if (o.temperature >= 0) body["temperature"] = o.temperature;
  if (o.ignore_eos) body["ignore_eos"] = true;
  if (!tenant.empty()) body["user"] = tenant;
  for (const auto& [k, v] : o.extra_body) body[k] = v;
  return body;
}

LoadResult run_load(const LoadOptions& options, const std::atomic<bool>& stop) {
  return Load(options, stop).run();
}

}  // namespace parley::cli::bench_http
