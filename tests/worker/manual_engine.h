// ManualEngine: an EngineClient the test drives by hand (which tokens, when the request ends), so
// that cancellation, disconnects, drain and failures mid-stream are tested without racing a real
// engine that finishes in microseconds.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "engine/engine_client.h"

namespace parley::testing {

class ManualEngine final : public EngineClient {
 public:
  Result<RequestId> submit(GenerateRequest, std::shared_ptr<RequestSink> sink) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!refusal_.ok()) return refusal_;
    const RequestId id = next_++;
    running_[id] = std::move(sink);
    submitted_.push_back(id);
    cv_.notify_all();
    return id;
  }
  void cancel(RequestId id) override {
    std::shared_ptr<RequestSink> sink = take(id);
    {
      std::lock_guard<std::mutex> lock(mu_);
      cancelled_.insert(id);
      cv_.notify_all();
    }
    if (sink) sink->on_event(id, FinishEvent{.reason = FinishReason::kCancelled});
  }
  EngineStats stats() const override {
    std::lock_guard<std::mutex> lock(mu_);
    EngineStats s;
    s.running = static_cast<std::int64_t>(running_.size());
    return s;
  }

  // The id of the n-th request submitted (0-based), once it is.
  RequestId wait_submitted(std::size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    EXPECT_TRUE(cv_.wait_for(lock, std::chrono::seconds(30), [&] { return submitted_.size() > n; }));
    return submitted_.size() > n ? submitted_[n] : 0;
  }
  void emit(RequestId id, std::vector<TokenId> tokens) {
    std::shared_ptr<RequestSink> sink;
    {
      std::lock_guard<std::mutex> lock(mu_);
      const auto it = running_.find(id);
      if (it == running_.end()) return;
      sink = it->second;
    }
    sink->on_event(id, TokenEvent{.tokens = std::move(tokens), .logprobs = {}});
  }
  void finish(RequestId id, FinishEvent f) {
    if (std::shared_ptr<RequestSink> sink = take(id)) sink->on_event(id, std::move(f));
  }
  bool wait_cancelled(RequestId id) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(30), [&] { return cancelled_.contains(id); });
  }
  std::size_t running() const { return static_cast<std::size_t>(stats().running); }
  // Every submit fails with `st` (OK: accepts again), as a full queue does.
  void refuse(Status st) {
    std::lock_guard<std::mutex> lock(mu_);
    refusal_ = std::move(st);
  }

 private:
  std::shared_ptr<RequestSink> take(RequestId id) {
    std::lock_guard<std::mutex> lock(mu_);
    const auto it = running_.find(id);
    if (it == running_.end()) return nullptr;
    std::shared_ptr<RequestSink> sink = std::move(it->second);
    running_.erase(it);
    return sink;
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  RequestId next_ = 1;
  std::map<RequestId, std::shared_ptr<RequestSink>> running_;
  std::vector<RequestId> submitted_;
  std::set<RequestId> cancelled_;
  Status refusal_;
};

}  // namespace parley::testing
