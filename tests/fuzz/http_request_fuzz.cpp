// libFuzzer target for the HTTP server's request parsing (src/net: Beast's parser as the server
// drives it, target splitting and percent-decoding, framing checks, limits): a real HttpServer on
// loopback, started once, gets each input as the bytes of one connection (written in two pieces,
// the first byte picks where), then the client half-closes and reads until the server closes.
// Whatever the bytes: no crash; the server answers with HTTP/1.1 status lines or nothing and
// closes; handlers only see requests within the limits (path decoded, no body over the cap); and
// every connection is gone afterwards (nothing held per hostile client). Memory is bounded by
// libFuzzer's -rss_limit_mb. Build and run it with scripts/fuzz --target http_request.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "net/http_server.h"

namespace {

constexpr std::size_t kMaxHeader = 2048;
constexpr std::size_t kMaxBody = 4096;

void expect(bool cond, const char* what) {
  if (cond) return;
  std::fprintf(stderr, "http_request_fuzz: violated: %s\n", what);
  std::abort();
}

std::unique_ptr<parley::HttpServer>& server() {
  static std::unique_ptr<parley::HttpServer> s;
  return s;
}

void handle(parley::HttpRequest req, std::shared_ptr<parley::HttpResponder> r) {
  expect(req.body.size() <= kMaxBody, "bodies within the cap");
  expect(req.version == 10 || req.version == 11, "HTTP/1.0 or 1.1");
  expect(!req.method.empty(), "a method");
  expect(!req.path.empty() && (req.path.front() == '/' || req.path == "*"), "a path");
  expect(req.target.size() <= kMaxHeader, "the target within the head limit");
  r->respond(200, {{"Content-Type", "text/plain"}},
             std::to_string(req.path.size()) + ":" + std::to_string(req.body.size()));
}

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;  // the server may refuse and close early: fine
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Reads until the server closes (or resets); false when it keeps the connection open too long.
bool read_until_close(int fd, std::string* out) {
  char buf[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, 10'000);
    if (ready < 0 && errno == EINTR) continue;  // libFuzzer's -timeout alarm interrupts system calls
    if (ready <= 0) return false;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;
    if (out->size() < (1u << 20)) out->append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  parley::HttpServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.io_threads = 1;
  o.max_header_bytes = kMaxHeader;
  o.max_body_bytes = kMaxBody;
  o.header_timeout = std::chrono::milliseconds(5'000);
  o.body_timeout = std::chrono::milliseconds(5'000);
  o.max_body_bytes_per_address = kMaxBody;
  auto s = parley::HttpServer::start(o, handle);
  if (!s.ok()) {
    std::fprintf(stderr, "http_request_fuzz: cannot start the server: %s\n", s.status().to_string().c_str());
    std::abort();
  }
  server() = std::move(*s);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1 || size > 16384) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::size_t split = std::min<std::size_t>(data[0] * bytes.size() / 255, bytes.size());

  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  expect(fd >= 0, "a socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server()->port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc = 0;
  do {
    rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  } while (rc != 0 && errno == EINTR);
  expect(rc == 0 || errno == EISCONN, "connects");  // (a retried connect that had completed: EISCONN)
  if (write_all(fd, bytes.substr(0, split))) write_all(fd, bytes.substr(split));
  ::shutdown(fd, SHUT_WR);
  std::string response;
  expect(read_until_close(fd, &response), "the server closes a half-closed connection");
  ::close(fd);
  if (!response.empty()) {
    expect(response.rfind("HTTP/1.1 ", 0) == 0 && response.size() >= 12, "a status line");
    const int status = std::atoi(response.substr(9, 3).c_str());
    expect(status >= 100 && status <= 599, "a status code");
  }
  // Nothing stays behind: the connection is closed on the server's side too.
  for (int i = 0; i < 10'000 && server()->connection_count() != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  expect(server()->connection_count() == 0, "no connection left open");
  return 0;
}
