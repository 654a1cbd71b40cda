// Periodic: runs a task every `period` on a thread of its own, until destroyed. The destructor
// wakes the thread at once (it does not wait out the period) and waits for a run in progress.
//
// Thread safety: constructed and destroyed on one thread; the task runs on the Periodic's thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace parley {

class Periodic {
 public:
  // A period of 0 or less never runs the task (and starts no thread).
  Periodic(std::chrono::milliseconds period, std::function<void()> task);
  ~Periodic();
  Periodic(const Periodic&) = delete;
  Periodic& operator=(const Periodic&) = delete;

 private:
  void run();

  std::chrono::milliseconds period_;
  std::function<void()> task_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace parley
