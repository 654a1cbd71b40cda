// Streamed responses (SSE) written from other threads, client disconnects, slow readers, handlers
// that never finish, and stopping the server with streams in flight.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "net/http_client.h"
#include "net/http_server.h"
#include "net/sse.h"
#include "net_test_util.h"

namespace parley {
namespace {

using namespace std::chrono_literals;
using testing::Event;
using testing::get_request;
using testing::RawSocket;
using testing::Workers;

std::unique_ptr<HttpServer> start_server(HttpServerOptions options, HttpHandler handler) {
  options.port = 0;
  auto server = HttpServer::start(options, std::move(handler));
  EXPECT_TRUE(server.ok()) << server.status().to_string();
  return server.ok() ? std::move(server).value() : nullptr;
}

const HttpHeaders kSseHeaders = {{"Content-Type", "text/event-stream"}, {"Cache-Control", "no-cache"}};

TEST(HttpStream, EventsArriveWhileTheStreamIsStillBeingWritten) {
  Workers workers;
  Event client_saw_first;
  auto server = start_server({}, [&](HttpRequest, std::shared_ptr<HttpResponder> r) {
    workers.run([&, r] {
      r->start_stream(200, kSseHeaders);
      EXPECT_TRUE(r->write(format_sse_event(R"({"n":1})")));
      // The last event is written only once the client has the first: if the server held
      // bytes back (Nagle, buffering until finish), this would wait out kWait and fail.
      EXPECT_TRUE(client_saw_first.wait());
      EXPECT_TRUE(r->write(format_sse_event(R"({"n":2})")));
      EXPECT_TRUE(r->write(format_sse_event("[DONE]")));
      r->finish();
    });
  });
  HttpClient client;
  SseParser parser;
  std::vector<std::string> events;
  HttpClientRequest req;
  req.method = "POST";
  req.url = "http://127.0.0.1:" + std::to_string(server->port()) + "/v1/chat/completions";
  req.body = R"({"stream":true})";
  auto head = client.stream(req, {.on_head = [](const HttpResponse& h) { return h.status == 200; },
                                  .on_data =
                                      [&](std::string_view bytes) {
                                        return parser
                                            .feed(bytes,
                                                  [&](SseEvent e) {
                                                    events.push_back(e.data);
                                                    if (events.size() == 1) client_saw_first.set();
                                                  })
                                            .ok();
                                      }});
  ASSERT_TRUE(head.ok()) << head.status().to_string();
  EXPECT_EQ(head->header("Content-Type"), "text/event-stream");
  EXPECT_EQ(head->header("Transfer-Encoding"), "chunked");
  EXPECT_EQ(events, (std::vector<std::string>{R"({"n":1})", R"({"n":2})", "[DONE]"}));
}

// A handler on the I/O thread starts the stream, and another thread writes and finishes it while
// the handler is still running (the gateway's job with a remote engine): the calls take effect in
// the order they were made, so nothing is dropped as "before the stream started".
TEST(HttpStream, WritesFromAnotherThreadDuringTheHandlerFollowItsStart) {
  auto server = start_server({}, [&](HttpRequest, std::shared_ptr<HttpResponder> r) {
    r->start_stream(200, kSseHeaders);
    std::thread other([r] {
      EXPECT_TRUE(r->write(format_sse_event("one")));
      EXPECT_TRUE(r->write(format_sse_event("two")));
      r->finish();
    });
    other.join();
  });
  HttpClientRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(server->port()) + "/events";
  req.timeout = 10s;
  req.idle_timeout = 10s;
  std::string body;
  auto head = HttpClient().stream(req, {.on_head = nullptr, .on_data = [&](std::string_view bytes) {
                                          body.append(bytes);
                                          return true;
                                        }});
  ASSERT_TRUE(head.ok()) << head.status().to_string();
  EXPECT_EQ(body, "data: one\n\ndata: two\n\n");
}

TEST(HttpStream, ClientDisconnectMidStreamFiresOnDisconnectAndFailsWrites) {
  Workers workers;
  Event disconnected;
  std::atomic<bool> write_failed{false};
  std::atomic<int> callbacks{0};
  auto server = start_server({}, [&](HttpRequest, std::shared_ptr<HttpResponder> r) {
    r->on_disconnect([&] {
      ++callbacks;
      disconnected.set();
    });
    workers.run([&, r] {
      r->start_stream(200, kSseHeaders);
      r->write(format_sse_event("first"));
      EXPECT_TRUE(disconnected.wait());
      EXPECT_TRUE(r->disconnected());
      write_failed = !r->write(format_sse_event("too late"));
      r->finish();
    });
  });
  RawSocket s(server->port());
  ASSERT_TRUE(s.send(get_request("/stream")));
  ASSERT_TRUE(s.read_until_contains("data: first"));
  s.close();
  EXPECT_TRUE(disconnected.wait());
  workers.join();
  EXPECT_TRUE(write_failed.load());
  EXPECT_EQ(callbacks.load(), 1);
  EXPECT_TRUE(testing::eventually([&] { return server->connection_count() == 0; }));
}

TEST(HttpStream, ClientResetWhileTheHandlerIsStillWorkingIsNoticed) {
  Event disconnected;
  std::shared_ptr<HttpResponder> held;
  std::mutex mu;
  auto server = start_server({}, [&](HttpRequest, std::shared_ptr<HttpResponder> r) {
    r->on_disconnect([&] { disconnected.set(); });
    std::lock_guard<std::mutex> lock(mu);
    held = r;  // a long non-streaming generation
  });
  RawSocket s(server->port());
  ASSERT_TRUE(s.send("POST /v1/completions HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}"));
  ASSERT_TRUE(testing::eventually([&] {
    std::lock_guard<std::mutex> lock(mu);
    return held != nullptr;
  }));
  s.reset();
  EXPECT_TRUE(disconnected.wait());
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_TRUE(held->disconnected());
  // A callback registered after the fact runs at once.
  Event late;
  held->on_disconnect([&] { late.set(); });
  EXPECT_TRUE(late.wait());
  held->respond(200, {}, "nobody listens");  // harmless
}

TEST(HttpStream, PipelinedRequestArrivingDuringAResponseIsKept) {
  Workers workers;
  Event release;
  std::mutex mu;
  std::vector<std::string> seen;
  auto server = start_server({}, [&](HttpRequest req, std::shared_ptr<HttpResponder> r) {
    {
      std::lock_guard<std::mutex> lock(mu);
      seen.push_back(req.path);
    }
    if (req.path == "/slow") {
      workers.run([&, r] {
        EXPECT_TRUE(release.wait());
        r->respond(200, {}, "slow");
      });
    } else {
      r->respond(200, {}, req.path);
    }
  });
  RawSocket s(server->port());
  ASSERT_TRUE(s.send(get_request("/slow")));
  std::this_thread::sleep_for(20ms);
  ASSERT_TRUE(s.send(get_request("/second")));  // read by the disconnect watch, must not be lost
  std::this_thread::sleep_for(20ms);
  release.set();
  auto a = s.read_response();
  auto b = s.read_response();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->body, "slow");
  EXPECT_EQ(b->body, "/second");
  // The read that was pending while "/second" was parsed must land intact too.
  ASSERT_TRUE(s.send(get_request("/3")));
  auto c = s.read_response();
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->body, "/3");
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(seen, (std::vector<std::string>{"/slow", "/second", "/3"}));
}

TEST(HttpStream, SlowReaderBeyondTheBufferLimitIsDropped) {
  Workers workers;
  Event disconnected;
  std::atomic<std::size_t> written{0};
  HttpServerOptions options;
  options.max_stream_buffer_bytes = 64 * 1024;
  auto server = start_server(options, [&](HttpRequest, std::shared_ptr<HttpResponder> r) {
    r->on_disconnect([&] { disconnected.set(); });
    workers.run([&, r] {
      r->start_stream(200, kSseHeaders);
      const std::string chunk = format_sse_event(std::string(16 * 1024, 'x'));
      // Loopback socket buffers hold a few MiB; past them the queue must hit the limit.
      while (written < (512u << 20) && r->write(chunk)) written += chunk.size();
      r->finish();
    });
  });
  RawSocket s(server->port(), /*rcvbuf=*/4096);
  ASSERT_TRUE(s.send(get_request("/stream")));  // and never read
  EXPECT_TRUE(disconnected.wait(10s));
  workers.join();
  EXPECT_LT(written.load(), 512u << 20);
}

TEST(HttpStream, StreamAbandonedMidwayIsCutNotTerminated) {
  auto server = start_server({}, [&](HttpRequest, std::shared_ptr<HttpResponder> r) {
    r->start_stream(200, kSseHeaders);
    r->write(format_sse_event("partial"));
    // The responder dies here without finish(): the client must not see a clean end.
  });
  HttpClient client;
  HttpClientRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(server->port()) + "/";
  std::string got;
  auto result = client.stream(req, {.on_data = [&](std::string_view d) {
                                got.append(d);
                                return true;
                              }});
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kUnavailable) << result.status().to_string();
  EXPECT_EQ(got, "data: partial\n\n");
}

TEST(HttpStream, Http10StreamEndsByClosing) {
  Workers workers;
  auto server = start_server({}, [&](HttpRequest, std::shared_ptr<HttpResponder> r) {
    workers.run([r] {
      r->start_stream(200, kSseHeaders);
      r->write("one ");
      r->write("two");
      r->finish();
    });
  });
  RawSocket s(server->port());
  ASSERT_TRUE(s.send("GET / HTTP/1.0\r\n\r\n"));
  auto r = s.read_response();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->header("Transfer-Encoding"), "");
  EXPECT_EQ(r->body, "one two");
}

TEST(HttpStream, KeepAliveContinuesAfterAFinishedStream) {
  Workers workers;
  auto server = start_server({}, [&](HttpRequest req, std::shared_ptr<HttpResponder> r) {
    workers.run([req = std::move(req), r] {
      r->start_stream(200, kSseHeaders);
      r->write(format_sse_event(req.path));
      r->finish();
      EXPECT_FALSE(r->write("after finish"));
      EXPECT_FALSE(r->disconnected());
    });
  });
  RawSocket s(server->port());
  for (const char* path : {"/a", "/b"}) {
    ASSERT_TRUE(s.send(get_request(path)));
    auto r = s.read_response();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->body, std::string("data: ") + path + "\n\n");
  }
  // HEAD of a stream: the head only, and the connection stays usable.
  ASSERT_TRUE(s.send("HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n" + get_request("/c")));
  auto head = s.read_response(/*head_request=*/true);
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->header("Transfer-Encoding"), "chunked");
  auto next = s.read_response();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->body, "data: /c\n\n");
}

TEST(HttpStream, StopWithStreamsInFlightEndsThemAndFiresCallbacks) {
  Workers workers;
  std::atomic<int> started{0};
  std::atomic<int> callbacks{0};
  auto server = start_server({}, [&](HttpRequest, std::shared_ptr<HttpResponder> r) {
    r->on_disconnect([&] { ++callbacks; });
    workers.run([&, r] {
      r->start_stream(200, kSseHeaders);
      ++started;
      while (r->write(format_sse_event("tick"))) std::this_thread::sleep_for(1ms);
    });
  });
  constexpr int kStreams = 4;
  std::vector<std::unique_ptr<RawSocket>> clients;
  for (int i = 0; i < kStreams; ++i) {
    clients.push_back(std::make_unique<RawSocket>(server->port()));
    ASSERT_TRUE(clients.back()->send(get_request("/")));
  }
  // Plus an idle keep-alive connection and one halfway through a request head.
  RawSocket idle(server->port());
  RawSocket partial(server->port());
  ASSERT_TRUE(partial.send("GET / HTTP/1.1\r\n"));
  ASSERT_TRUE(testing::eventually([&] { return started.load() == kStreams; }));
  for (auto& c : clients) ASSERT_TRUE(c->read_until_contains("data: tick"));
  server->stop();
  EXPECT_EQ(callbacks.load(), kStreams);
  workers.join();  // every writer saw write() == false
  for (auto& c : clients) EXPECT_TRUE(c->wait_closed());
  EXPECT_TRUE(idle.wait_closed());
  EXPECT_TRUE(partial.wait_closed());
  EXPECT_EQ(server->connection_count(), 0u);
  server.reset();
}

TEST(HttpStream, GracefulStopLetsResponsesInFlightFinish) {
  Workers workers;
  Event in_handler;
  auto server = start_server({}, [&](HttpRequest, std::shared_ptr<HttpResponder> r) {
    in_handler.set();
    workers.run([r] {
      std::this_thread::sleep_for(100ms);
      r->respond(200, {}, "finished");
    });
  });
  RawSocket s(server->port());
  RawSocket idle(server->port());
  ASSERT_TRUE(s.send(get_request("/")));
  ASSERT_TRUE(in_handler.wait());
  server->stop(5s);
  auto r = s.read_response();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "finished");
  EXPECT_EQ(r->header("Connection"), "close");
  EXPECT_TRUE(idle.wait_closed());
}

TEST(HttpStream, ResponderOutlivingTheServerIsHarmless) {
  std::shared_ptr<HttpResponder> kept;
  Event got;
  auto server = start_server({}, [&](HttpRequest, std::shared_ptr<HttpResponder> r) {
    kept = r;
    got.set();
  });
  RawSocket s(server->port());
  ASSERT_TRUE(s.send(get_request("/")));
  ASSERT_TRUE(got.wait());
  server.reset();
  EXPECT_TRUE(kept->disconnected());
  kept->start_stream(200, {});
  EXPECT_FALSE(kept->write("x"));
  Event called;
  kept->on_disconnect([&] { called.set(); });
  EXPECT_TRUE(called.is_set());  // at once, on this thread
  kept->finish();
  kept.reset();
}

}  // namespace
}  // namespace parley
