// HttpClient against HttpServer (and against sockets that misbehave): timeouts, cancellation,
// streaming, limits and errors.
#include "net/http_client.h"

#include <gtest/gtest.h>

#include <atomic>

#include "net/http_server.h"
#include "net/sse.h"
#include "net_test_util.h"

namespace parley {
namespace {

using namespace std::chrono_literals;
using testing::Event;
using testing::Workers;

class HttpClientTest : public ::testing::Test {
 protected:
  void start(HttpHandler handler) {
    HttpServerOptions options;
    options.port = 0;
    auto server = HttpServer::start(options, std::move(handler));
    ASSERT_TRUE(server.ok()) << server.status().to_string();
    server_ = std::move(server).value();
  }
  std::string url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + std::string(path);
  }

  Workers workers_;  // declared first: joined after the server is gone
  std::unique_ptr<HttpServer> server_;
  HttpClient client_;
};

TEST_F(HttpClientTest, StatusHeadersAndBodyOfAnyStatusComeBack) {
  start([](HttpRequest req, std::shared_ptr<HttpResponder> r) {
    r->respond(404, {{"X-Path", req.path}, {"X-Header", std::string(req.header("x-in"))}}, "missing");
  });
  auto r = client_.request("GET", url("/nope"), {{"X-In", "v"}});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->reason, "Not Found");
  EXPECT_EQ(r->header("x-path"), "/nope");
  EXPECT_EQ(r->header("X-Header"), "v");
  EXPECT_EQ(r->body, "missing");
}

TEST_F(HttpClientTest, HostNamesAreResolved) {
  start(
      [](HttpRequest req, std::shared_ptr<HttpResponder> r) { r->respond(200, {}, std::string(req.header("Host"))); });
  auto r = client_.request("GET", "http://localhost:" + std::to_string(server_->port()) + "/");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->body, "localhost:" + std::to_string(server_->port()));
}

TEST_F(HttpClientTest, ChunkedResponseIsCollectedByRequest) {
  start([this](HttpRequest, std::shared_ptr<HttpResponder> r) {
    workers_.run([r] {
      r->start_stream(200, {});
      for (int i = 0; i < 100; ++i) r->write(std::to_string(i) + ",");
      r->finish();
    });
  });
  auto r = client_.request("GET", url("/"));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  std::string want;
  for (int i = 0; i < 100; ++i) want += std::to_string(i) + ",";
  EXPECT_EQ(r->body, want);
}

TEST_F(HttpClientTest, HeadRequestReadsNoBody) {
  start([](HttpRequest, std::shared_ptr<HttpResponder> r) { r->respond(200, {}, "0123456789"); });
  auto r = client_.request("HEAD", url("/"));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->header("Content-Length"), "10");
  EXPECT_EQ(r->body, "");
}

TEST_F(HttpClientTest, LargeBodiesBothWays) {
  start([](HttpRequest req, std::shared_ptr<HttpResponder> r) { r->respond(200, {}, req.body + req.body); });
  std::string body(3 * 1024 * 1024, 'z');
  for (std::size_t i = 0; i < body.size(); i += 997) body[i] = static_cast<char>('a' + i % 26);
  auto r = client_.request("POST", url("/"), {}, body);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->body, body + body);

  HttpClientRequest req;
  req.method = "POST";
  req.url = url("/");
  req.body = body;
  req.max_body_bytes = body.size();
  EXPECT_EQ(client_.request(req).status().code(), ErrorCode::kResourceExhausted);
}

TEST_F(HttpClientTest, SlowServerIsDeadlineExceeded) {
  start([this](HttpRequest, std::shared_ptr<HttpResponder> r) {
    workers_.run([r] {
      std::this_thread::sleep_for(300ms);
      r->respond(200, {}, "late");
    });
  });
  auto r = client_.request("GET", url("/"), {}, {}, 50ms);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kDeadlineExceeded) << r.status().to_string();
}

TEST_F(HttpClientTest, StreamIdleTimeout) {
  start([this](HttpRequest, std::shared_ptr<HttpResponder> r) {
    workers_.run([r] {
      r->start_stream(200, {});
      r->write("a");
      std::this_thread::sleep_for(300ms);  // silence longer than the idle timeout
      r->write("b");
      r->finish();
    });
  });
  HttpClientRequest req;
  req.url = url("/");
  req.idle_timeout = 50ms;
  std::string got;
  auto r = client_.stream(req, {.on_data = [&](std::string_view d) {
                            got.append(d);
                            return true;
                          }});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(got, "a");
}

TEST_F(HttpClientTest, CancelFromAnotherThreadEndsTheStreamAndTheServerNotices) {
  Event server_saw_disconnect;
  start([&](HttpRequest, std::shared_ptr<HttpResponder> r) {
    r->on_disconnect([&] { server_saw_disconnect.set(); });
    workers_.run([r] {
      r->start_stream(200, {{"Content-Type", "text/event-stream"}});
      while (r->write(format_sse_event("tok"))) std::this_thread::sleep_for(2ms);
    });
  });
  auto cancel = std::make_shared<HttpCancellation>();
  HttpClientRequest req;
  req.url = url("/");
  req.cancel = cancel;
  std::atomic<int> events{0};
  std::thread canceller;
  SseParser parser;
  auto r = client_.stream(req, {.on_data = [&](std::string_view d) {
                            EXPECT_TRUE(parser
                                            .feed(d,
                                                  [&](SseEvent) {
                                                    if (++events == 3)
                                                      canceller = std::thread([cancel] { cancel->cancel(); });
                                                  })
                                            .ok());
                            return true;
                          }});
  if (canceller.joinable()) canceller.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kCancelled) << r.status().to_string();
  EXPECT_GE(events.load(), 3);
  EXPECT_TRUE(server_saw_disconnect.wait());

  // Cancelled before it starts: returns at once.
  auto again = std::make_shared<HttpCancellation>();
  again->cancel();
  req.cancel = again;
  EXPECT_EQ(client_.request(req).status().code(), ErrorCode::kCancelled);
}

TEST_F(HttpClientTest, CallbackReturningFalseCancels) {
  start([](HttpRequest, std::shared_ptr<HttpResponder> r) { r->respond(500, {}, "no"); });
  HttpClientRequest req;
  req.url = url("/");
  auto r = client_.stream(req, {.on_head = [](const HttpResponse& h) { return h.status == 200; }});
  EXPECT_EQ(r.status().code(), ErrorCode::kCancelled);
}

TEST(HttpClient, UnreachableAndInvalidTargets) {
  HttpClient client;
  std::uint16_t closed_port = 0;
  {
    // A port that was just free: nothing listens there.
    HttpServerOptions options;
    options.port = 0;
    auto server = HttpServer::start(options, [](HttpRequest, std::shared_ptr<HttpResponder>) {});
    ASSERT_TRUE(server.ok());
    closed_port = (*server)->port();
  }
  auto refused = client.request("GET", "http://127.0.0.1:" + std::to_string(closed_port) + "/");
  EXPECT_EQ(refused.status().code(), ErrorCode::kUnavailable) << refused.status().to_string();
  EXPECT_EQ(client.request("GET", "not a url").status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(client.request("GET", "https://127.0.0.1/").status().code(), ErrorCode::kUnimplemented);
  EXPECT_EQ(client.request("GE T", "http://127.0.0.1:1/").status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(client.request("GET", "http://127.0.0.1:1/", {{"X", "a\r\nb"}}).status().code(),
            ErrorCode::kInvalidArgument);
}

TEST(HttpClient, GarbageFromTheServerIsUnavailable) {
  // A "server" that answers nonsense, then one that hangs up mid-body.
  for (const std::string& reply :
       {std::string("NOT HTTP AT ALL\r\n\r\n"), std::string("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")}) {
    HttpServerOptions options;
    options.port = 0;
    int listen_fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ASSERT_EQ(::listen(listen_fd, 1), 0);
    socklen_t len = sizeof(addr);
    ::getsockname(listen_fd, reinterpret_cast<sockaddr*>(&addr), &len);
    std::thread fake([&] {
      const int fd = ::accept(listen_fd, nullptr, nullptr);
      char buf[4096];
      (void)::recv(fd, buf, sizeof(buf), 0);
      (void)::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
      ::close(fd);
    });
    HttpClient client;
    auto r = client.request("GET", "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/");
    fake.join();
    ::close(listen_fd);
    EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable) << r.status().to_string();
  }
}

}  // namespace
}  // namespace parley
