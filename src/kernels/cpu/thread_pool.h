// ThreadPool: a fixed team of threads for data-parallel kernels. run(fn) calls fn(i) once on
// each of the n threads (the caller is thread 0) and returns when all are done. Workers spin for
// a short while between calls (a decode step issues hundreds of small calls; waking a sleeping
// thread costs more than the work) and then sleep on a condition variable.
//
// One caller at a time (the engine thread); fn must not call run() itself.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace parley {

class ThreadPool {
 public:
  // n_threads >= 1, counting the caller.
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  template <typename F>
  void run(F&& fn) {
    using Fn = std::remove_reference_t<F>;
    run_impl([](void* ctx, int i) { (*static_cast<Fn*>(ctx))(i); }, &fn);
  }

  // Splits [0, n) into one contiguous range per thread, in multiples of `grain`, and calls
  // fn(begin, end) for each non-empty range.
  template <typename F>
  void parallel_for(std::int64_t n, std::int64_t grain, F&& fn) {
    const std::int64_t units = (n + grain - 1) / grain;
    const int n_threads = n_threads_;
    run([&](int t) {
      const std::int64_t begin = units * t / n_threads * grain;
      const std::int64_t end = std::min(n, units * (t + 1) / n_threads * grain);
      if (begin < end) fn(begin, end);
    });
  }

 private:
  using Trampoline = void (*)(void*, int);
  void run_impl(Trampoline fn, void* ctx);
  void worker(int index);
  void wake_sleepers();

  int n_threads_;
  std::vector<std::thread> workers_;
  Trampoline fn_ = nullptr;
  void* ctx_ = nullptr;
  std::atomic<std::uint32_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  std::atomic<bool> busy_{false};
  // Sleeping workers wait on cv_; run_impl() takes the mutex only when someone sleeps.
  std::atomic<int> sleepers_{0};
  std::mutex mutex_;
  std::condition_variable cv_;
};

}  // namespace parley
