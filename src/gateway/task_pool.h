// TaskPool: a few threads for the blocking work of a request that must stay off the HTTP I/O
// threads (net/http_responder.h: a handler must not block its connection's thread): database
// calls (SQLite fsyncs every commit), and rendering and tokenizing long conversations. Also where
// work triggered on the engine thread goes when it blocks (persisting a finished reply), since
// the engine thread serves every request.
//
// Thread safety: every method may be called from any thread, including the pool's own.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace parley {

class TaskPool {
 public:
  // `max_queued` bounds the tasks waiting for a thread through try_post (back-pressure for new
  // requests); post() is not bounded by it.
  TaskPool(int threads, std::size_t max_queued);
  ~TaskPool();  // shutdown()
  TaskPool(const TaskPool&) = delete;
  TaskPool& operator=(const TaskPool&) = delete;

  // Queues a task for new work. False when max_queued tasks are already waiting or the pool is
  // shut down: the caller refuses the work (503) instead of queueing without bound.
  bool try_post(std::function<void()> task);
  // Queues a task that must not be lost (finishing work already started). After shutdown() it
  // runs at once on the calling thread.
  void post(std::function<void()> task);

  // Runs every queued task, then joins the threads. Idempotent. Not from a pool thread.
  void shutdown();

  // Tasks queued or running.
  std::size_t pending() const;

 private:
  void loop();

  const std::size_t max_queued_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::size_t running_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace parley
