// Helpers for the net tests: a raw loopback socket (for inputs no well-behaved client sends),
// a minimal HTTP response reader over it, a one-shot event to wait on across threads, and a
// place for handler threads to run.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "net/http_request.h"

namespace parley::testing {

using namespace std::chrono_literals;

// Generous: waits end as soon as the event happens; the bound only keeps a bug from hanging.
inline constexpr std::chrono::milliseconds kWait = 5000ms;

class RawSocket {
 public:
  explicit RawSocket(std::uint16_t port, int rcvbuf = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~RawSocket() { close(); }
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  bool connected() const { return connected_; }
  int fd() const { return fd_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  // Close with RST instead of FIN, as a crashed client would.
  void reset() {
    linger l{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    close();
  }
  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }

  bool send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Reads until `pred(buffer)` holds, the peer closes, or the timeout passes. True if pred held.
  bool read_until(const std::function<bool(const std::string&)>& pred, std::chrono::milliseconds timeout = kWait) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred(buffer_)) {
      if (closed_) return false;
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left <= 0ms) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[16384];
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) {
        closed_ = true;
        continue;
      }
      buffer_.append(buf, static_cast<std::size_t>(n));
    }
    return true;
  }
  bool read_until_contains(std::string_view needle, std::chrono::milliseconds timeout = kWait) {
    return read_until([&](const std::string& b) { return b.find(needle) != std::string::npos; }, timeout);
  }
  // True when the peer closed (EOF or reset) within the timeout; data before it is kept.
  bool wait_closed(std::chrono::milliseconds timeout = kWait) {
    read_until([](const std::string&) { return false; }, timeout);
    return closed_;
  }
  bool closed() const { return closed_; }

  struct Response {
    int status = 0;
    HttpHeaders headers;
    std::string body;
    std::string header(std::string_view name) const { return std::string(find_header(headers, name)); }
  };
  // One whole response (Content-Length, chunked, or until close), taken off the buffer.
  std::optional<Response> read_response(bool head_request = false, std::chrono::milliseconds timeout = kWait) {
    std::optional<Response> out;
    std::size_t used = 0;
    read_until([&](const std::string& b) { return parse(b, head_request, &out, &used); }, timeout);
    if (!out && closed_) parse(buffer_, head_request, &out, &used, /*at_eof=*/true);
    if (out) buffer_.erase(0, used);
    return out;
  }

  std::string& buffer() { return buffer_; }

 private:
  static bool parse(const std::string& b, bool head_request, std::optional<Response>* out, std::size_t* used,
                    bool at_eof = false) {
    const std::size_t end = b.find("\r\n\r\n");
    if (end == std::string::npos) return false;
    Response r;
    r.status = std::stoi(b.substr(9, 3));
    std::size_t pos = b.find("\r\n") + 2;
    while (pos < end) {
      const std::size_t eol = b.find("\r\n", pos);
      const std::string line = b.substr(pos, eol - pos);
      const std::size_t colon = line.find(':');
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers.emplace_back(line.substr(0, colon), value);
      pos = eol + 2;
    }
    std::size_t body_start = end + 4;
    const bool no_body = head_request || r.status == 204 || r.status == 304 || r.status / 100 == 1;
    if (no_body) {
      *used = body_start;
    } else if (!find_header(r.headers, "Content-Length").empty()) {
      const std::size_t n = std::stoul(std::string(find_header(r.headers, "Content-Length")));
      if (b.size() < body_start + n) return false;
      r.body = b.substr(body_start, n);
      *used = body_start + n;
    } else if (iequals(find_header(r.headers, "Transfer-Encoding"), "chunked")) {
      std::size_t p = body_start;
      while (true) {
        const std::size_t eol = b.find("\r\n", p);
        if (eol == std::string::npos) return false;
        const std::size_t n = std::stoul(b.substr(p, eol - p), nullptr, 16);
        if (n == 0) {
          if (b.size() < eol + 4) return false;
          *used = eol + 4;
          break;
        }
        if (b.size() < eol + 2 + n + 2) return false;
        r.body += b.substr(eol + 2, n);
        p = eol + 2 + n + 2;
      }
    } else {
      if (!at_eof) return false;  // delimited by close
      r.body = b.substr(body_start);
      *used = b.size();
    }
    *out = std::move(r);
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
  std::string buffer_;
};

// A one-shot flag another thread can wait on.
class Event {
 public:
  void set() {
    std::lock_guard<std::mutex> lock(mu_);
    set_ = true;
    cv_.notify_all();
  }
  bool wait(std::chrono::milliseconds timeout = kWait) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return set_; });
  }
  bool is_set() {
    std::lock_guard<std::mutex> lock(mu_);
    return set_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool set_ = false;
};

// Threads started by handlers (which must not block the I/O thread), joined at scope exit.
class Workers {
 public:
  ~Workers() { join(); }
  void run(std::function<void()> fn) {
    std::lock_guard<std::mutex> lock(mu_);
    threads_.emplace_back(std::move(fn));
  }
  void join() {
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> lock(mu_);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
  }

 private:
  std::mutex mu_;
  std::vector<std::thread> threads_;
};

inline std::string get_request(std::string_view path, std::string_view extra = "") {
  return "GET " + std::string(path) + " HTTP/1.1\r\nHost: test\r\n" + std::string(extra) + "\r\n";
}

// Polls `pred` until it holds or the timeout passes.
inline bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout = kWait) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

}  // namespace parley::testing
