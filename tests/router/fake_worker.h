// A fake `parley worker` on a free loopback port: the internal API's routes with behaviour the
// test sets (ready or not, draining, refusing, dying before or after the first token), and a
// count of the generate calls it got. No engine, no model: it answers from a script.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "net/http_server.h"
#include "router/worker_protocol.h"

namespace parley::testing {

class FakeWorker {
 public:
  enum class Generate { kOk, kRefuse503, kRefuseDraining, kRefuse429, kDieBeforeTokens, kDieMidStream, kHold };

  explicit FakeWorker(std::string host = "127.0.0.1", std::uint16_t port = 0) : host_(host) {
    HttpServerOptions o;
    o.host = std::move(host);
    o.port = port;
    auto s = HttpServer::start(o, [this](HttpRequest req, std::shared_ptr<HttpResponder> r) { handle(req, r); });
    EXPECT_TRUE(s.ok()) << s.status().to_string();
    if (s.ok()) server_ = std::move(*s);
  }
  ~FakeWorker() { stop(); }
  void stop() {
    release_held();
    if (server_) server_->stop();
    server_.reset();
  }

  std::string url() const { return "http://" + host_ + ":" + std::to_string(server_->port()); }
  int port() const { return server_->port(); }

  std::atomic<bool> ready{true};
  std::atomic<bool> draining{false};
  std::atomic<Generate> generate{Generate::kOk};
  std::atomic<int> generate_calls{0};
  std::atomic<int> cancel_calls{0};    // POST /internal/v1/cancel/{id}
  std::atomic<int> waiting{0};         // reported in stats
  std::atomic<int> kv_tier_stored{0};  // reported in stats (0: no KV tier)
  std::string digest = "00000000000000aa";
  std::vector<TokenId> reply{5, 6, 7};
  // Reported as model "tiny"'s prefix blocks when the stats request asks (?blocks_since=N): the
  // entries after N, entry i (1-based) being placements[i - 1]. Set before the first poll.
  std::vector<std::uint64_t> placements;
  std::atomic<int> stats_with_blocks{0};

  // Ends the streams held open by Generate::kHold with a normal finish.
  void release_held() {
    std::vector<std::shared_ptr<HttpResponder>> held;
    {
      std::lock_guard<std::mutex> lock(mu_);
      held.swap(held_);
    }
    for (auto& r : held) {
      FinishEvent f;
      f.reason = FinishReason::kStop;
      r->write(finish_event_sse(f));
      r->finish();
    }
  }
  std::size_t held() {
    std::lock_guard<std::mutex> lock(mu_);
    return held_.size();
  }

 private:
  void handle(const HttpRequest& req, const std::shared_ptr<HttpResponder>& r) {
    const HttpHeaders json{{"Content-Type", "application/json"}};
    if (req.path == "/ready") {
      const bool ok = ready && !draining;
      r->respond(ok ? 200 : 503, json, ok ? R"({"status":"ready"})" : R"({"status":"draining"})");
    } else if (req.path == "/internal/v1/models") {
      r->respond(200, json, models_to_json({{"tiny", 1024, 1, false, digest}}));
    } else if (req.path == "/internal/v1/stats") {
      WorkerStats s;
      s.draining = draining;
      EngineStats e;
      e.waiting = waiting;
      e.kv_blocks_total = 100;
      e.kv_tier.stored = kv_tier_stored;
      s.models.emplace_back("tiny", e);
      if (req.query.starts_with("blocks_since=")) {
        ++stats_with_blocks;
        const std::size_t since = std::stoul(req.query.substr(13));
        PlacementLog::Since b;
        b.seq = placements.size();
        std::vector<std::uint64_t> fresh;
        for (std::size_t i = since; i < placements.size(); ++i) fresh.push_back(placements[i]);
        if (!fresh.empty()) b.models.emplace_back("tiny", std::move(fresh));
        s.prefix_blocks = std::move(b);
      }
      r->respond(200, json, worker_stats_to_json(s));
    } else if (req.path == "/internal/v1/generate") {
      ++generate_calls;
      run_generate(r);
    } else if (req.path.starts_with("/internal/v1/cancel/")) {
      ++cancel_calls;
      r->respond(200, json, R"({"cancelled":true})");
    } else {
      r->respond(200, json, R"({"cancelled":false})");
    }
  }

  void run_generate(const std::shared_ptr<HttpResponder>& r) {
    switch (generate.load()) {
      case Generate::kRefuse503:
        r->respond(503, {{"Retry-After", "1"}}, error_to_json(unavailable_error("draining")));
        return;
      case Generate::kRefuseDraining:  // as `parley worker` answers once drain() began
        r->respond(
            503, {{"Retry-After", "1"}},
            error_to_json(
                unavailable_error("the worker is draining").with_detail("code", std::string(kWorkerDrainingCode))));
        return;
      case Generate::kRefuse429:
        r->respond(429, {{"Retry-After", "1"}}, error_to_json(resource_exhausted_error("queue full")));
        return;
      default:
        break;
    }
    r->start_stream(200, {{"Content-Type", "text/event-stream"}});
    const Generate g = generate.load();
    if (g == Generate::kDieBeforeTokens) {
      r->finish();  // no finish event: the worker went away
      return;
    }
    TokenEvent t;
    t.tokens = reply;
    r->write(tokens_event_sse(t));
    if (g == Generate::kDieMidStream) {
      r->finish();
      return;
    }
    if (g == Generate::kHold) {
      std::lock_guard<std::mutex> lock(mu_);
      held_.push_back(r);
      return;
    }
    FinishEvent f;
    f.reason = FinishReason::kStop;
    f.completion_tokens = static_cast<std::int32_t>(reply.size());
    r->write(finish_event_sse(f));
    r->finish();
  }

  std::string host_;
  std::mutex mu_;
  std::vector<std::shared_ptr<HttpResponder>> held_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace parley::testing
