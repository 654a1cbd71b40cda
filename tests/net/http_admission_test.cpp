// HttpServer's protection before a request reaches its handler: Transfer-Encoding other than
// chunked (RFC 9112 6.3), the budgets of request bodies in flight per server and per client
// address, and the HeadHandler that admits or refuses a request from its head before its body is
// read (net/http_admission.h).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "net/http_server.h"
#include "net_test_util.h"

namespace parley {
namespace {

using namespace std::chrono_literals;
using testing::Event;
using testing::RawSocket;

HttpServerOptions test_options() {
  HttpServerOptions o;
  o.port = 0;
  o.io_threads = 2;
  return o;
}

std::atomic<int> g_handled{0};

void echo(HttpRequest req, std::shared_ptr<HttpResponder> r) {
  ++g_handled;
  const auto* tag = std::any_cast<std::string>(&req.context);
  r->respond(200, {{"Content-Type", "text/plain"}},
             req.method + " " + req.path + " [" + req.body + "]" + (tag ? " " + *tag : ""));
}

std::unique_ptr<HttpServer> start(HttpServerOptions o, HeadHandler head = nullptr) {
  auto server = HttpServer::start(o, echo, std::move(head));
  EXPECT_TRUE(server.ok()) << server.status().to_string();
  return server.ok() ? std::move(server).value() : nullptr;
}

// ---- Transfer-Encoding ----

TEST(HttpTransferEncoding, OnlyChunkedIsAcceptedOtherCodingsAre400AndClose) {
  auto server = start(test_options());
  // Each would otherwise be read as a bodiless POST followed by a second, smuggled request.
  const std::string smuggled = "GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n";
  struct Case {
    std::string te;
    int status;
  };
  const Case cases[] = {{"identity", 400},          {"gzip", 400},        {"xchunked", 400},
                        {"chunked, identity", 400}, {"chunked;q=1", 400}, {"gzip, chunked", 501}};
  for (const Case& c : cases) {
    g_handled = 0;
    RawSocket s(server->port());
    ASSERT_TRUE(s.send("POST /a HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: " + c.te + "\r\n\r\n" + smuggled));
    auto r = s.read_response();
    ASSERT_TRUE(r.has_value()) << c.te;
    EXPECT_EQ(r->status, c.status) << c.te;
    EXPECT_EQ(r->header("Connection"), "close") << c.te;
    EXPECT_TRUE(s.wait_closed()) << c.te;
    EXPECT_FALSE(s.read_response(false, 100ms).has_value()) << c.te << ": a second response";
    EXPECT_EQ(g_handled.load(), 0) << c.te;
  }
  {
    // Two fields are one list: "chunked" then "identity".
    RawSocket s(server->port());
    ASSERT_TRUE(
        s.send("POST /a HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n"));
    auto r = s.read_response();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 400);
  }
  {
    RawSocket s(server->port());
    ASSERT_TRUE(s.send("POST /a HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"));
    auto r = s.read_response();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 400);
  }
  // What held keeps holding: chunked (any case) works, and the connection stays usable.
  RawSocket s(server->port());
  ASSERT_TRUE(s.send("POST /a HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: Chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"));
  auto r = s.read_response();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "POST /a [abc]");
}

// ---- body budgets ----

TEST(HttpBodyBudget, OneAddressCannotHoldMoreThanItsShareOfBodiesInFlight) {
  auto o = test_options();
  o.max_body_bytes = 1000;
  o.max_body_bytes_per_address = 2500;
  o.max_body_bytes_in_flight = 100000;
  auto server = start(o);
  // Two stalled uploads of 1000 declared bytes fit; the third does not: 429 before it is read.
  RawSocket a(server->port()), b(server->port()), c(server->port());
  const std::string head = "POST /u HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n";
  ASSERT_TRUE(a.send(head + std::string(900, 'a')));
  ASSERT_TRUE(b.send(head + std::string(900, 'b')));
  std::this_thread::sleep_for(100ms);  // both heads are in
  ASSERT_TRUE(c.send(head));
  auto r = c.read_response();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 429);
  EXPECT_EQ(r->header("Retry-After"), "1");
  EXPECT_TRUE(c.wait_closed());
  // A stalled upload that goes away gives its share back.
  a.close();
  EXPECT_TRUE(b.send(std::string(100, 'b')));
  auto done = b.read_response();
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->status, 200);
  std::optional<RawSocket::Response> again;
  for (int i = 0; i < 50 && !(again && again->status == 200); ++i) {
    RawSocket d(server->port());
    ASSERT_TRUE(d.send(head + std::string(1000, 'd')));
    again = d.read_response();
    if (!again || again->status != 200) std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->status, 200);
}

TEST(HttpBodyBudget, ChunkedBodiesCountAsTheyArriveAndTheServerBudgetIs503) {
  auto o = test_options();
  o.max_body_bytes = 4000;
  o.max_body_bytes_per_address = 4000;
  o.max_body_bytes_in_flight = 4000;  // one address, so the server budget is hit together
  auto server = start(o);
  RawSocket a(server->port());
  ASSERT_TRUE(a.send("POST /u HTTP/1.1\r\nHost: t\r\nContent-Length: 3000\r\n\r\n"));
  std::this_thread::sleep_for(100ms);
  RawSocket b(server->port());
  std::string chunked = "POST /u HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 15; ++i) chunked += "64\r\n" + std::string(100, 'y') + "\r\n";
  ASSERT_TRUE(b.send(chunked));
  auto r = b.read_response();
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->status == 429 || r->status == 503) << r->status;
  EXPECT_FALSE(r->header("Retry-After").empty());
}

// ---- the head handler ----

TEST(HttpHeadHandler, RefusedRequestsAreAnsweredWithoutReadingTheBody) {
  std::atomic<int> heads{0};
  auto server = start(test_options(), [&](const HttpRequest& head, std::shared_ptr<HeadDecision> d) {
    ++heads;
    EXPECT_TRUE(head.body.empty());
    if (head.header("Authorization") != "Bearer ok") {
      d->refuse(401, {{"Content-Type", "application/json"}, {"X-Why", "no key"}}, R"({"error":"who are you"})");
    } else {
      d->admit(100, std::string("tag"));
    }
  });
  g_handled = 0;
  // Declares a large body and sends none of it: refused at once, not after the body timeout.
  RawSocket s(server->port());
  ASSERT_TRUE(s.send("POST /v1/chat HTTP/1.1\r\nHost: t\r\nContent-Length: 15728641\r\n\r\n"));
  auto r = s.read_response(false, 2000ms);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->header("X-Why"), "no key");
  EXPECT_EQ(r->header("Connection"), "close");
  EXPECT_EQ(r->body, R"({"error":"who are you"})");
  EXPECT_TRUE(s.wait_closed());
  EXPECT_EQ(g_handled.load(), 0);

  // Admitted: the body is read (within the route's limit) and the context reaches the handler.
  RawSocket ok(server->port());
  ASSERT_TRUE(ok.send("POST /x HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer ok\r\nContent-Length: 5\r\n\r\nhello"));
  auto a = ok.read_response();
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->status, 200);
  EXPECT_EQ(a->body, "POST /x [hello] tag");
  // Keep-alive goes on: the next request is admitted again.
  ASSERT_TRUE(ok.send("GET /y HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer ok\r\n\r\n"));
  auto b = ok.read_response();
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->body, "GET /y [] tag");

  // Over the admitted limit: 413 before the body is read.
  RawSocket big(server->port());
  ASSERT_TRUE(big.send("POST /x HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer ok\r\nContent-Length: 101\r\n\r\n"));
  auto c = big.read_response();
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->status, 413);
  // ... and a chunked one as it arrives.
  RawSocket chunked(server->port());
  std::string body = "POST /x HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer ok\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i) body += "40\r\n" + std::string(64, 'z') + "\r\n";
  ASSERT_TRUE(chunked.send(body));
  auto d = chunked.read_response();
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->status, 413);
  EXPECT_EQ(heads.load(), 5);
}

TEST(HttpHeadHandler, DecisionsMayComeLaterFromAnotherThreadAnd100ContinueWaitsForThem) {
  std::mutex mu;
  std::vector<std::shared_ptr<HeadDecision>> pending;
  Event asked;
  auto server = start(test_options(), [&](const HttpRequest&, std::shared_ptr<HeadDecision> d) {
    std::lock_guard<std::mutex> lock(mu);
    pending.push_back(std::move(d));
    asked.set();
  });
  RawSocket s(server->port());
  ASSERT_TRUE(s.send("POST /x HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"));
  ASSERT_TRUE(asked.wait());
  EXPECT_FALSE(s.read_until_contains("100 Continue", 200ms)) << "100 Continue before the decision";
  std::thread([&] {
    std::lock_guard<std::mutex> lock(mu);
    pending.back()->admit(10, std::string("later"));
  }).join();
  ASSERT_TRUE(s.read_until_contains("100 Continue"));
  s.buffer().clear();
  ASSERT_TRUE(s.send("abc"));
  auto r = s.read_response();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "POST /x [abc] later");
}

TEST(HttpHeadHandler, ADecisionDroppedOrNeverMadeDoesNotHangTheClient) {
  auto o = test_options();
  o.header_timeout = 300ms;
  std::vector<std::shared_ptr<HeadDecision>> kept;
  std::mutex mu;
  auto server = start(o, [&](const HttpRequest& head, std::shared_ptr<HeadDecision> d) {
    if (head.path == "/keep") {
      std::lock_guard<std::mutex> lock(mu);
      kept.push_back(std::move(d));  // never decided
    }                                // else dropped at once
  });
  RawSocket dropped(server->port());
  ASSERT_TRUE(dropped.send("GET /drop HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto r = dropped.read_response();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 500);
  RawSocket never(server->port());
  ASSERT_TRUE(never.send("GET /keep HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto n = never.read_response();
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->status, 503);
  EXPECT_FALSE(n->header("Retry-After").empty());
  EXPECT_TRUE(never.wait_closed());
  // Deciding after the connection is gone, and after the server stopped, is harmless.
  std::lock_guard<std::mutex> lock(mu);
  kept.back()->admit(10, {});
  server->stop();
  kept.back()->refuse(400, {}, "");
}

}  // namespace
}  // namespace parley
