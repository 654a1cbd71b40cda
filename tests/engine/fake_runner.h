// A StepRunner with no model, for engine tests. It simulates a KV cache (each slot remembers the
// token and position written to it) and a "model" whose next token depends on the whole history
// as read back from that cache, so wrong block tables, bad prefix reuse or a missed copy-on-write
// change the output. Every batch is recorded for assertions on scheduling.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <thread>
#include <vector>

#include "base/check.h"
#include "engine/step_runner.h"

namespace parley::testing {

class FakeRunner final : public StepRunner {
 public:
  FakeRunner(std::int32_t n_vocab, std::int32_t n_blocks, std::int32_t block_size)
      : n_vocab_(n_vocab), block_size_(block_size), slots_(static_cast<std::size_t>(n_blocks * block_size), {-1, -1}) {}

  struct Batch {
    std::vector<std::int32_t> tokens;
    std::vector<ForwardSeq> seqs;  // block_table spans are not kept
    std::int64_t n_tokens() const { return static_cast<std::int64_t>(tokens.size()); }
  };

  std::int32_t n_vocab() const override { return n_vocab_; }

  Status forward(const ForwardBatch& batch, std::span<float> logits) override {
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    if (on_forward) on_forward(batch);
    Batch rec;
    rec.tokens.assign(batch.tokens.begin(), batch.tokens.end());
    std::size_t at = 0, row = 0;
    for (const ForwardSeq& s : batch.seqs) {
      rec.seqs.push_back({s.n_tokens, s.pos_begin, {}, s.want_logits});
      // History from the cache, as a real model's attention would read it.
      std::uint64_t h = 1469598103934665603ull;
      for (std::int32_t p = 0; p < s.pos_begin; ++p) {
        const auto& [tok, pos] = slots_[static_cast<std::size_t>(slot(s, p))];
        if (pos != p) return internal_error("position {} was never written (slot holds position {})", p, pos);
        h = mix(h, tok);
      }
      for (std::int32_t i = 0; i < s.n_tokens; ++i) {
        const std::int32_t tok = batch.tokens[at + static_cast<std::size_t>(i)];
        slots_[static_cast<std::size_t>(slot(s, s.pos_begin + i))] = {tok, s.pos_begin + i};
        h = mix(h, tok);
      }
      at += static_cast<std::size_t>(s.n_tokens);
      if (!s.want_logits) continue;
      float* out = logits.data() + row++ * static_cast<std::size_t>(n_vocab_);
      if (fill_logits) {
        fill_logits(h, s.pos_begin + s.n_tokens, std::span<float>(out, static_cast<std::size_t>(n_vocab_)));
        continue;
      }
      for (std::int32_t v = 0; v < n_vocab_; ++v) out[v] = 0.0f;
      TokenId next = static_cast<TokenId>(h % static_cast<std::uint64_t>(n_vocab_));
      if (force_next) next = force_next(h, next);
      out[next] = 10.0f;
    }
    batches.push_back(std::move(rec));
    if (fail_next) {
      fail_next = false;
      return internal_error("injected failure");
    }
    return ok_status();
  }

  void copy_block(std::int32_t src, std::int32_t dst) override {
    ++copies;
    for (std::int32_t i = 0; i < block_size_; ++i) {
      slots_[static_cast<std::size_t>(dst * block_size_ + i)] = slots_[static_cast<std::size_t>(src * block_size_ + i)];
    }
  }

  std::vector<Batch> batches;
  int copies = 0;
  std::chrono::microseconds delay{0};  // per forward pass, to look like a real model
  bool fail_next = false;
  // Called with every batch (e.g. to advance a fake clock by what the batch would cost).
  std::function<void(const ForwardBatch&)> on_forward;
  // Optional override of the next token (e.g. to emit an end-of-generation token).
  std::function<TokenId(std::uint64_t history_hash, TokenId natural)> force_next;
  // Optional: fills a row of logits instead (e.g. random logits that depend on the history);
  // `n_known` is the number of tokens the row follows.
  std::function<void(std::uint64_t history_hash, std::int32_t n_known, std::span<float> row)> fill_logits;

 private:
  static std::uint64_t mix(std::uint64_t h, std::int32_t t) {
    h ^= static_cast<std::uint32_t>(t) + 0x9E3779B97F4A7C15ull;
    return h * 1099511628211ull;
  }
  std::int32_t slot(const ForwardSeq& s, std::int32_t pos) const {
    return s.block_table[static_cast<std::size_t>(pos / block_size_)] * block_size_ + pos % block_size_;
  }
  std::int32_t n_vocab_;
  std::int32_t block_size_;
  std::vector<std::pair<std::int32_t, std::int32_t>> slots_;  // (token, position)
};

// Collects a request's events.
class RecordingSink final : public RequestSink {
 public:
  void on_event(RequestId, EngineEvent event) override {
    if (auto* t = std::get_if<TokenEvent>(&event)) {
      CHECK(!finished, "token after finish");
      tokens.insert(tokens.end(), t->tokens.begin(), t->tokens.end());
      logprobs.insert(logprobs.end(), t->logprobs.begin(), t->logprobs.end());
    } else {
      CHECK(!finished, "two finish events");
      finished = true;
      finish = std::get<FinishEvent>(event);
    }
  }
  std::vector<TokenId> tokens;
  std::vector<SampleResult> logprobs;
  bool finished = false;
  FinishEvent finish;
};

}  // namespace parley::testing
