#include "base/periodic.h"

namespace parley {

Periodic::Periodic(std::chrono::milliseconds period, std::function<void()> task)
    : period_(period), task_(std::move(task)) {
  if (period_.count() > 0) thread_ = std::thread([this] { run(); });
}

Periodic::~Periodic() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Periodic::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!wake_.wait_for(lock, period_, [this] { return stopping_; })) {
    lock.unlock();
    task_();
    lock.lock();
  }
}

}  // namespace parley
