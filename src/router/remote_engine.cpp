#include "router/remote_engine.h"

#include <random>

#include "base/log.h"
#include "net/sse.h"

namespace parley {

namespace {

constexpr std::size_t kMaxErrorBody = 64 * 1024;

std::string trim_slash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

}  // namespace

struct RemoteEngineClient::Call {
  RequestId id = 0;
  std::string remote_id;
  std::string body;
  std::string traceparent;  // forwarded as the header of that name
  std::shared_ptr<RequestSink> sink;
  std::shared_ptr<HttpCancellation> http_cancel = std::make_shared<HttpCancellation>();
  std::atomic<bool> cancel_requested{false};

  // The head handshake with submit().
  std::mutex mu;
  std::condition_variable cv;
  bool head_done = false;
  bool abandoned = false;  // submit() gave up waiting: the call must not go on
  Status head_status;

  // The stream (the call's thread only).
  SseParser sse;
  bool finished = false;  // the sink got its FinishEvent
  Status protocol_error;

  // Hands the head's verdict to submit(); false if submit() is gone.
  bool signal_head(Status st) {
    std::lock_guard<std::mutex> lock(mu);
    if (head_done) return !abandoned;
    head_done = true;
    head_status = std::move(st);
    cv.notify_all();
    return !abandoned;
  }
};

RemoteEngineClient::RemoteEngineClient(RemoteEngineOptions options) : options_(std::move(options)) {
  options_.worker_url = trim_slash(options_.worker_url);
  std::random_device rd;
  id_prefix_ = fmt::format("{:08x}{:08x}", rd(), rd());
  if (options_.stats_interval.count() > 0) poller_ = std::thread([this] { poll_stats(); });
}

RemoteEngineClient::~RemoteEngineClient() {
  std::unique_lock<std::mutex> lock(mu_);
  stopping_ = true;
  for (auto& [id, call] : calls_) {
    call->cancel_requested = true;
    call->http_cancel->cancel();
  }
  cv_.notify_all();
  cv_.wait(lock, [this] { return calls_.empty(); });
  lock.unlock();
  if (poller_.joinable()) poller_.join();
}

HttpHeaders RemoteEngineClient::auth_headers() const {
  HttpHeaders h;
  if (!options_.cluster_token.empty()) h.emplace_back("Authorization", "Bearer " + options_.cluster_token);
  return h;
}

Result<RequestId> RemoteEngineClient::submit(GenerateRequest request, std::shared_ptr<RequestSink> sink) {
  auto call = std::make_shared<Call>();
  call->id = next_id_.fetch_add(1);
  call->remote_id = fmt::format("{}-{}", id_prefix_, call->id);
  call->sink = std::move(sink);
  call->traceparent = request.traceparent;
  ASSIGN_OR_RETURN(call->body, generate_request_to_json(options_.model, call->remote_id, request));
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return unavailable_error("the remote engine is stopping");
    if (calls_.size() >= options_.max_in_flight) {
      return resource_exhausted_error("{} requests in flight to the worker at {}", calls_.size(), options_.worker_url);
    }
    calls_.emplace(call->id, call);
  }
  std::thread([this, call] { run_call(call); }).detach();

  std::unique_lock<std::mutex> lock(call->mu);
  // HttpClient bounds the head by head_timeout; the margin only guards against a stuck call.
  const bool answered =
      call->cv.wait_for(lock, options_.head_timeout + std::chrono::seconds(5), [&] { return call->head_done; });
  if (!answered) {
    call->abandoned = true;
    lock.unlock();
    call->http_cancel->cancel();
    log_warn("model '{}': the worker at {} did not answer within {} ms", options_.model, options_.worker_url,
             options_.head_timeout.count());
    return unavailable_error("the inference worker did not answer; retry later").with_detail("retry_after", "1");
  }
  if (!call->head_status.ok()) return call->head_status;
  return call->id;
}

void RemoteEngineClient::run_call(const std::shared_ptr<Call>& call) {
  stream_events(call);
  if (call->cancel_requested && call->head_done && call->head_status.ok()) {
    // The closed connection already cancels it on the worker; say so explicitly too.
    HttpClientRequest req;
    req.method = "POST";
    req.url = options_.worker_url + std::string(kInternalApiPrefix) + "/cancel/" + call->remote_id;
    req.headers = auth_headers();
    req.timeout = std::chrono::seconds(2);
    http_.request(req).status().ignore();
  }
  end_call(call);
}

void RemoteEngineClient::stream_events(const std::shared_ptr<Call>& call) {
  HttpClientRequest req;
  req.method = "POST";
  req.url = options_.worker_url + std::string(kInternalApiPrefix) + "/generate";
  req.headers = auth_headers();
  req.headers.emplace_back("Content-Type", "application/json");
  if (!call->traceparent.empty()) req.headers.emplace_back("traceparent", call->traceparent);
  req.body = std::move(call->body);
  req.timeout = options_.head_timeout;
  req.idle_timeout = options_.idle_timeout;
  req.cancel = call->http_cancel;

  int status = 0;
  bool accepted = false;
  std::string error_body;
  const auto on_sse = [&](SseEvent e) {
    if (call->finished || !call->protocol_error.ok()) return;
    Result<EngineEvent> ev = parse_worker_event(e.event, e.data, options_.limits);
    if (!ev.ok()) {
      call->protocol_error = ev.status();
      return;
    }
    if (const auto* t = std::get_if<TokenEvent>(&*ev); t != nullptr && options_.n_vocab > 0) {
      for (const TokenId id : t->tokens) {
        if (id >= options_.n_vocab) {
          call->protocol_error = invalid_argument_error("token id {} is outside the vocabulary", id);
          return;
        }
      }
    }
    if (std::holds_alternative<FinishEvent>(*ev)) call->finished = true;
    call->sink->on_event(call->id, std::move(*ev));
  };
  HttpStreamCallbacks cb;
  cb.on_head = [&](const HttpResponse& head) {
    status = head.status;
    if (status != 200) return true;  // the error body follows
    accepted = true;
    return call->signal_head({});
  };
  cb.on_data = [&](std::string_view data) {
    if (!accepted) {
      error_body.append(data.substr(0, kMaxErrorBody - std::min(kMaxErrorBody, error_body.size())));
      return true;
    }
    if (!call->sse.feed(data, on_sse).ok() && call->protocol_error.ok()) {
      call->protocol_error = invalid_argument_error("an event larger than the parser's limit");
    }
    return call->protocol_error.ok();
  };
  Result<HttpResponse> r = http_.stream(req, cb);

  if (!accepted) {
    Status st;
    if (!r.ok() && call->cancel_requested) {
      st = cancelled_error("cancelled before the worker answered");
    } else if (!r.ok()) {
      log_warn("model '{}': the worker at {} is unavailable: {}", options_.model, options_.worker_url,
               r.status().message());
      st = unavailable_error("the inference worker is unavailable; retry later").with_detail("retry_after", "1");
    } else {
      st = parse_error_body(status, error_body);
    }
    call->signal_head(st);
    return;
  }
  if (call->finished) return;
  {
    std::lock_guard<std::mutex> lock(call->mu);
    if (call->abandoned) return;  // submit() answered with an error: this request never existed
  }
  FinishEvent f;
  if (call->cancel_requested) {
    f.reason = FinishReason::kCancelled;
  } else {
    f.reason = FinishReason::kError;
    f.error = ErrorCode::kUnavailable;
    // The client sees what happened, not the cluster's addresses; the log has the details.
    const bool malformed = !call->protocol_error.ok();
    f.message = malformed ? "the inference worker sent a malformed event; the reply is incomplete"
                          : "the inference worker went away mid-stream; the reply is incomplete";
    const std::string detail = malformed ? std::string(call->protocol_error.message())
                               : r.ok()  ? std::string("the stream ended without a finish event")
                                         : std::string(r.status().message());
    log_warn("request {} on model '{}' at {}: {} ({})", call->remote_id, options_.model, options_.worker_url, f.message,
             detail);
  }
  call->finished = true;
  call->sink->on_event(call->id, std::move(f));
}

void RemoteEngineClient::end_call(const std::shared_ptr<Call>& call) {
  std::lock_guard<std::mutex> lock(mu_);
  calls_.erase(call->id);
  cv_.notify_all();
}

void RemoteEngineClient::cancel(RequestId id) {
  std::shared_ptr<Call> call;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const auto it = calls_.find(id);
    if (it == calls_.end()) return;
    call = it->second;
  }
  call->cancel_requested = true;
  call->http_cancel->cancel();
}

EngineStats RemoteEngineClient::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void RemoteEngineClient::set_stats(const EngineStats& stats) {
  std::lock_guard<std::mutex> lock(mu_);
  stats_ = stats;
}

std::size_t RemoteEngineClient::in_flight() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_.size();
}

Status RemoteEngineClient::refresh_stats() {
  HttpClientRequest req;
  req.url = options_.worker_url + std::string(kInternalApiPrefix) + "/stats";
  req.headers = auth_headers();
  req.timeout = std::chrono::seconds(5);
  req.max_body_bytes = 4 << 20;
  ASSIGN_OR_RETURN(HttpResponse r, http_.request(req));
  if (r.status != 200) return parse_error_body(r.status, r.body);
  ASSIGN_OR_RETURN(WorkerStats s, parse_worker_stats(r.body, options_.limits));
  draining_.store(s.draining);
  for (const auto& [id, st] : s.models) {
    if (id == options_.model) {
      set_stats(st);
      return {};
    }
  }
  return not_found_error("the worker at {} does not serve model '{}'", options_.worker_url, options_.model);
}

void RemoteEngineClient::poll_stats() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    refresh_stats().ignore();
    lock.lock();
    cv_.wait_for(lock, options_.stats_interval, [this] { return stopping_; });
  }
}

}  // namespace parley
