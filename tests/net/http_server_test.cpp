// HttpServer over real loopback sockets: round trips, keep-alive, pipelining, chunked bodies,
// HEAD, 100-continue, HTTP/1.0, and the protective limits (431, 413, 400, 408, 503).
#include "net/http_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>

#include "net/http_client.h"
#include "net_test_util.h"

namespace parley {
namespace {

using namespace std::chrono_literals;
using testing::Event;
using testing::get_request;
using testing::RawSocket;
using testing::Workers;

HttpServerOptions test_options() {
  HttpServerOptions o;
  o.port = 0;
  o.io_threads = 2;
  return o;
}

std::unique_ptr<HttpServer> start_server(HttpServerOptions options, HttpHandler handler) {
  auto server = HttpServer::start(options, std::move(handler));
  EXPECT_TRUE(server.ok()) << server.status().to_string();
  return server.ok() ? std::move(server).value() : nullptr;
}

// Answers "<method> <path> ?<query> [<body>]" at once.
void echo(HttpRequest req, std::shared_ptr<HttpResponder> r) {
  r->respond(200, {{"Content-Type", "text/plain"}, {"X-Remote", req.remote_address}},
             req.method + " " + req.path + " ?" + req.query + " [" + req.body + "]");
}

std::string url(const HttpServer& s, std::string_view path) {
  return "http://127.0.0.1:" + std::to_string(s.port()) + std::string(path);
}

TEST(HttpServer, GetAndPostRoundTrip) {
  auto server = start_server(test_options(), echo);
  ASSERT_NE(server, nullptr);
  EXPECT_NE(server->port(), 0);
  HttpClient client;
  auto get = client.request("GET", url(*server, "/hello/w%20orld?x=1&y=%20"));
  ASSERT_TRUE(get.ok()) << get.status().to_string();
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->body, "GET /hello/w orld ?x=1&y=%20 []");
  EXPECT_EQ(get->header("content-type"), "text/plain");
  EXPECT_EQ(get->header("X-Remote"), "127.0.0.1");
  EXPECT_FALSE(get->header("Date").empty());

  auto post = client.request("POST", url(*server, "/v1/chat/completions"), {{"Content-Type", "application/json"}},
                             R"({"model":"m"})");
  ASSERT_TRUE(post.ok()) << post.status().to_string();
  EXPECT_EQ(post->body, R"(POST /v1/chat/completions ? [{"model":"m"}])");
}

TEST(HttpServer, KeepAliveServesSeveralRequestsOnOneConnection) {
  auto server = start_server(test_options(), echo);
  RawSocket s(server->port());
  ASSERT_TRUE(s.connected());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(s.send(get_request("/n" + std::to_string(i))));
    auto r = s.read_response();
    ASSERT_TRUE(r.has_value()) << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "GET /n" + std::to_string(i) + " ? []");
    EXPECT_EQ(r->header("Connection"), "");
  }
  EXPECT_EQ(server->connection_count(), 1u);
  EXPECT_FALSE(s.closed());
}

TEST(HttpServer, PipelinedRequestsAreAnsweredInOrder) {
  Workers workers;
  std::atomic<int> in_flight{0};
  std::atomic<int> max_in_flight{0};
  auto server = start_server(test_options(), [&](HttpRequest req, std::shared_ptr<HttpResponder> r) {
    max_in_flight = std::max(max_in_flight.load(), ++in_flight);
    // The first answer is the slowest: order must come from the server, not from luck.
    const auto delay = req.path == "/1" ? 50ms : 0ms;
    workers.run([&, req = std::move(req), r, delay] {
      std::this_thread::sleep_for(delay);
      --in_flight;
      r->respond(200, {}, req.path + ":" + req.body);
    });
  });
  RawSocket s(server->port());
  std::string batch =
      get_request("/1") + "POST /2 HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc" + get_request("/3");
  ASSERT_TRUE(s.send(batch));
  for (const char* want : {"/1:", "/2:abc", "/3:"}) {
    auto r = s.read_response();
    ASSERT_TRUE(r.has_value()) << want;
    EXPECT_EQ(r->body, want);
  }
  EXPECT_EQ(max_in_flight.load(), 1);  // one request at a time per connection
}

TEST(HttpServer, ManyPipelinedRequestsBeyondTheReadAheadBound) {
  // More pipelined bytes than the server buffers while a response is pending: it must pause
  // reading and resume, losing nothing.
  Workers workers;
  auto options = test_options();
  options.max_header_bytes = 1024;
  auto server = start_server(options, [&](HttpRequest req, std::shared_ptr<HttpResponder> r) {
    workers.run([req = std::move(req), r] { r->respond(200, {}, req.path); });
  });
  RawSocket s(server->port());
  std::string batch;
  constexpr int kRequests = 300;
  for (int i = 0; i < kRequests; ++i) batch += get_request("/r" + std::to_string(i));
  ASSERT_GT(batch.size(), 8u * options.max_header_bytes);
  ASSERT_TRUE(s.send(batch));
  for (int i = 0; i < kRequests; ++i) {
    auto r = s.read_response();
    ASSERT_TRUE(r.has_value()) << i;
    ASSERT_EQ(r->body, "/r" + std::to_string(i));
  }
}

TEST(HttpServer, ChunkedRequestBodyIsReassembled) {
  auto server = start_server(test_options(), echo);
  RawSocket s(server->port());
  ASSERT_TRUE(s.send("POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"));
  std::this_thread::sleep_for(20ms);  // the rest in a separate segment
  ASSERT_TRUE(s.send("7;ext=1\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\n"));
  auto r = s.read_response();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "POST /up ? [hello, world]");
}

TEST(HttpServer, HeadSendsLengthButNoBody) {
  auto server = start_server(test_options(), [](HttpRequest req, std::shared_ptr<HttpResponder> r) {
    r->respond(200, {}, req.method == "HEAD" ? "12345" : "get!");
  });
  RawSocket s(server->port());
  ASSERT_TRUE(s.send("HEAD / HTTP/1.1\r\nHost: t\r\n\r\n" + get_request("/")));
  auto head = s.read_response(/*head_request=*/true);
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->header("Content-Length"), "5");
  auto get = s.read_response();  // framing intact: the next response starts right after the head
  ASSERT_TRUE(get.has_value());
  EXPECT_EQ(get->body, "get!");
}

TEST(HttpServer, ExpectContinueGetsInterimResponseBeforeTheBody) {
  auto server = start_server(test_options(), echo);
  RawSocket s(server->port());
  ASSERT_TRUE(s.send("POST /e HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"));
  ASSERT_TRUE(s.read_until_contains("HTTP/1.1 100 Continue\r\n\r\n"));
  EXPECT_EQ(s.buffer(), "HTTP/1.1 100 Continue\r\n\r\n");
  s.buffer().clear();
  ASSERT_TRUE(s.send("data"));
  auto r = s.read_response();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "POST /e ? [data]");
}

TEST(HttpServer, ExpectContinueWithTooLargeBodyIs413WithoutContinue) {
  auto options = test_options();
  options.max_body_bytes = 100;
  auto server = start_server(options, echo);
  RawSocket s(server->port());
  ASSERT_TRUE(s.send("POST /e HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 101\r\n\r\n"));
  auto r = s.read_response();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 413);
  EXPECT_TRUE(s.wait_closed());
}

TEST(HttpServer, Http10ClosesUnlessKeepAliveIsAsked) {
  auto server = start_server(test_options(), echo);
  {
    RawSocket s(server->port());
    ASSERT_TRUE(s.send("GET /old HTTP/1.0\r\n\r\n"));
    auto r = s.read_response();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->body, "GET /old ? []");
    EXPECT_EQ(r->header("Connection"), "close");
    EXPECT_TRUE(s.wait_closed());
  }
  RawSocket s(server->port());
  ASSERT_TRUE(s.send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  auto r = s.read_response();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->header("Connection"), "keep-alive");
  ASSERT_TRUE(s.send("GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  r = s.read_response();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "GET /b ? []");
}

TEST(HttpServer, ConnectionCloseFromClientOrHandlerClosesAfterTheResponse) {
  auto server = start_server(test_options(), [](HttpRequest req, std::shared_ptr<HttpResponder> r) {
    HttpHeaders h;
    if (req.path == "/bye") h.emplace_back("Connection", "close");
    r->respond(200, std::move(h), "ok");
  });
  {
    RawSocket s(server->port());
    ASSERT_TRUE(s.send(get_request("/", "Connection: close\r\n") + get_request("/ignored")));
    auto r = s.read_response();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->header("Connection"), "close");
    EXPECT_TRUE(s.wait_closed());
    EXPECT_EQ(s.buffer(), "");  // the pipelined request after "close" was not answered
  }
  RawSocket s(server->port());
  ASSERT_TRUE(s.send(get_request("/bye")));
  auto r = s.read_response();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->header("Connection"), "close");
  EXPECT_TRUE(s.wait_closed());
}

TEST(HttpServer, OversizedHeadIs431) {
  auto options = test_options();
  options.max_header_bytes = 1024;
  auto server = start_server(options, echo);
  RawSocket s(server->port());
  ASSERT_TRUE(s.send(get_request("/", "X-Big: " + std::string(2000, 'a') + "\r\n")));
  auto r = s.read_response();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 431);
  EXPECT_EQ(r->header("Connection"), "close");
  EXPECT_EQ(r->header("Content-Type"), "application/json");
  EXPECT_NE(r->body.find(R"("type":"invalid_request_error","param":null,"code":null)"), std::string::npos) << r->body;
  EXPECT_TRUE(s.wait_closed());
}

TEST(HttpServer, OversizedBodyIs413DeclaredOrChunked) {
  auto options = test_options();
  options.max_body_bytes = 1000;
  auto server = start_server(options, echo);
  {
    RawSocket s(server->port());
    ASSERT_TRUE(s.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'x')));
    auto r = s.read_response();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 413);
    EXPECT_TRUE(s.wait_closed());
  }
  RawSocket s(server->port());
  std::string body = "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 20; ++i) body += "64\r\n" + std::string(100, 'y') + "\r\n";
  ASSERT_TRUE(s.send(body));
  auto r = s.read_response();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 413);
}

// A client that sends its whole body before it reads (fetch, curl) must get the 413, however far
// over the limit the body is: the server drains a declared body whole before it closes, since
// closing with unread input resets the connection and destroys the answer.
TEST(HttpServer, FarOversizedDeclaredBodyIsDrainedSoTheClientReads413) {
  auto options = test_options();
  options.max_body_bytes = 1000;
  auto server = start_server(options, echo);
  RawSocket s(server->port());
  const std::size_t size = 24u << 20;  // far beyond the limit and any socket buffer
  const std::string head = "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(size) + "\r\n\r\n";
  ASSERT_TRUE(s.send(head + std::string(size, 'x')));
  auto r = s.read_response();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 413);
  EXPECT_TRUE(s.wait_closed());
}

TEST(HttpServer, MalformedRequestsAre400WithOpenAiErrorBody) {
  auto server = start_server(test_options(), echo);
  const std::vector<std::string> bad = {
      "BLAH\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n",
      "GET /\x01 HTTP/1.1\r\nHost: t\r\n\r\n",
      "GET / HTTP/1.1\r\n\r\n",  // no Host
      "GET /%zz HTTP/1.1\r\nHost: t\r\n\r\n",
      "GET nopath HTTP/1.1\r\nHost: t\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: t\r\nBad Name: x\r\n\r\n",
  };
  for (const std::string& request : bad) {
    RawSocket s(server->port());
    ASSERT_TRUE(s.send(request));
    auto r = s.read_response();
    ASSERT_TRUE(r.has_value()) << request;
    EXPECT_EQ(r->status, 400) << request;
    EXPECT_EQ(r->header("Connection"), "close");
    EXPECT_EQ(r->body.rfind(R"({"error":{"message":")", 0), 0u) << r->body;
    EXPECT_TRUE(s.wait_closed()) << request;
  }
  RawSocket s(server->port());
  ASSERT_TRUE(s.send("GET / HTTP/1.1\r\nHost: t\r\nExpect: teapot\r\n\r\n"));
  auto r = s.read_response();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 417);
}

TEST(HttpServer, SlowHeadIs408AndClosed) {
  auto options = test_options();
  options.header_timeout = 200ms;
  auto server = start_server(options, echo);
  RawSocket s(server->port());
  ASSERT_TRUE(s.send("GET / HTTP/1.1\r\nHost: t\r\n"));  // ... and never the blank line
  auto r = s.read_response();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 408);
  EXPECT_TRUE(s.wait_closed());
}

TEST(HttpServer, SlowBodyIs408) {
  auto options = test_options();
  options.body_timeout = 200ms;
  auto server = start_server(options, echo);
  RawSocket s(server->port());
  ASSERT_TRUE(s.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc"));
  auto r = s.read_response();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 408);
  EXPECT_TRUE(s.wait_closed());
}

TEST(HttpServer, IdleConnectionsAreClosedQuietly) {
  auto options = test_options();
  options.keep_alive_idle_timeout = 150ms;
  options.header_timeout = 150ms;
  auto server = start_server(options, echo);
  RawSocket silent(server->port());  // connects and never says anything
  RawSocket idle(server->port());
  ASSERT_TRUE(idle.send(get_request("/")));
  ASSERT_TRUE(idle.read_response().has_value());
  EXPECT_TRUE(idle.wait_closed());
  EXPECT_EQ(idle.buffer(), "");
  EXPECT_TRUE(silent.wait_closed());
  EXPECT_EQ(silent.buffer(), "");
  EXPECT_TRUE(testing::eventually([&] { return server->connection_count() == 0; }));
}

TEST(HttpServer, ConnectionsBeyondTheLimitGet503) {
  auto options = test_options();
  options.max_connections = 2;
  auto server = start_server(options, echo);
  std::vector<std::unique_ptr<RawSocket>> held;
  for (int i = 0; i < 2; ++i) {
    held.push_back(std::make_unique<RawSocket>(server->port()));
    ASSERT_TRUE(held.back()->send(get_request("/")));
    ASSERT_TRUE(held.back()->read_response().has_value());
  }
  {
    RawSocket extra(server->port());
    auto r = extra.read_response();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 503);
    EXPECT_EQ(r->header("Retry-After"), "1");
    EXPECT_TRUE(extra.wait_closed());
  }
  held.pop_back();  // a slot frees up
  EXPECT_TRUE(testing::eventually([&] { return server->connection_count() == 1; }));
  RawSocket again(server->port());
  ASSERT_TRUE(again.send(get_request("/")));
  auto r = again.read_response();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
}

TEST(HttpServer, ClientThatStopsReadingABigResponseIsCutByTheWriteTimeout) {
  auto options = test_options();
  options.write_timeout = 200ms;
  Event answered;
  auto server = start_server(options, [&](HttpRequest, std::shared_ptr<HttpResponder> r) {
    r->respond(200, {}, std::string(64 << 20, 'b'));  // far more than the socket buffers hold
    answered.set();
  });
  RawSocket s(server->port(), /*rcvbuf=*/4096);
  ASSERT_TRUE(s.send(get_request("/")));  // and never read
  ASSERT_TRUE(answered.wait());
  EXPECT_EQ(server->connection_count(), 1u);
  EXPECT_TRUE(testing::eventually([&] { return server->connection_count() == 0; }));
  EXPECT_LT(s.buffer().size(), 64u << 20);
}

TEST(HttpServer, HandlerThatThrowsGets500AndTheServerCarriesOn) {
  auto server = start_server(test_options(), [](HttpRequest req, std::shared_ptr<HttpResponder> r) {
    if (req.path == "/throw") throw std::runtime_error("boom");
    r->respond(200, {}, "fine");
  });
  HttpClient client;
  auto bad = client.request("GET", url(*server, "/throw"));
  ASSERT_TRUE(bad.ok()) << bad.status().to_string();
  EXPECT_EQ(bad->status, 500);
  EXPECT_NE(bad->body.find(R"("type":"server_error")"), std::string::npos);
  auto good = client.request("GET", url(*server, "/"));
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(good->body, "fine");
}

TEST(HttpServer, ResponderReleasedWithoutAnswerGives500) {
  Workers workers;
  auto server = start_server(test_options(), [&](HttpRequest req, std::shared_ptr<HttpResponder> r) {
    if (req.path == "/later") {
      workers.run([r]() mutable {
        std::this_thread::sleep_for(20ms);
        r.reset();  // forgot to answer, on another thread
      });
    }
    // "/now": dropped right here, on the I/O thread
  });
  HttpClient client;
  for (const char* path : {"/now", "/later"}) {
    auto r = client.request("GET", url(*server, path));
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(r->status, 500) << path;
  }
}

TEST(HttpServer, SecondResponseIsIgnored) {
  auto server = start_server(test_options(), [](HttpRequest, std::shared_ptr<HttpResponder> r) {
    r->respond(201, {}, "first");
    r->respond(202, {}, "second");
    r->start_stream(200, {});
    EXPECT_FALSE(r->write("x"));
  });
  RawSocket s(server->port());
  ASSERT_TRUE(s.send(get_request("/") + get_request("/")));
  for (int i = 0; i < 2; ++i) {
    auto r = s.read_response();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 201);
    EXPECT_EQ(r->body, "first");
  }
}

TEST(HttpServer, HeaderInjectionFromHandlerIsDropped) {
  auto server = start_server(test_options(), [](HttpRequest, std::shared_ptr<HttpResponder> r) {
    r->respond(200, {{"X-Ok", "1"}, {"X-Evil", "a\r\nSet-Cookie: x=1"}, {"Content-Length", "999"}}, "body");
  });
  RawSocket s(server->port());
  ASSERT_TRUE(s.send(get_request("/")));
  auto r = s.read_response();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->header("X-Ok"), "1");
  EXPECT_EQ(r->header("X-Evil"), "");
  EXPECT_EQ(r->header("Set-Cookie"), "");
  EXPECT_EQ(r->header("Content-Length"), "4");
  EXPECT_EQ(r->body, "body");
}

TEST(HttpServer, StartFailsCleanlyOnBadOptionsAndBusyPort) {
  auto first = start_server(test_options(), echo);
  auto options = test_options();
  options.port = first->port();
  auto busy = HttpServer::start(options, echo);
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.status().code(), ErrorCode::kIoError);

  options = test_options();
  options.io_threads = 0;
  EXPECT_EQ(HttpServer::start(options, echo).status().code(), ErrorCode::kInvalidArgument);
  options = test_options();
  options.tls_cert_file = "/nonexistent/cert.pem";
  options.tls_key_file = "/nonexistent/key.pem";
  EXPECT_EQ(HttpServer::start(options, echo).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(HttpServer::start(test_options(), nullptr).status().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace parley
