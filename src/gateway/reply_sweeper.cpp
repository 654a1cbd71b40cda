#include "gateway/reply_sweeper.h"

#include <algorithm>

#include "base/log.h"

namespace parley {

ReplySweeper::ReplySweeper(store::Store& store, std::chrono::seconds stale_after, store::Clock clock)
    : store_(store), stale_after_(stale_after), clock_(std::move(clock)) {
  const store::Time now = clock_();
  sweep(store_.backend() == "sqlite" ? now + std::chrono::seconds(1) : now - stale_after_);
  const auto period = std::max<std::chrono::milliseconds>(stale_after_ / 2, std::chrono::milliseconds(100));
  periodic_ = std::make_unique<Periodic>(period, [this] { sweep(clock_() - stale_after_); });
}

ReplySweeper::~ReplySweeper() {
  periodic_.reset();
}

std::int64_t ReplySweeper::swept() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return swept_;
}

void ReplySweeper::sweep(store::Time written_before) {
  const Result<std::int64_t> n = store_.interrupt_stale_replies(written_before);
  if (!n.ok()) {
    log_warn("conversations: replies left streaming not swept: {}", n.status().to_string());
    return;
  }
  if (*n > 0) {
    log_event(LogLevel::kWarn, "replies_interrupted", {{"count", std::to_string(*n)}});
    std::lock_guard<std::mutex> lock(mutex_);
    swept_ += *n;
  }
}

}  // namespace parley
