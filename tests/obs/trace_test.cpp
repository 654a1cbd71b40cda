#include "obs/trace.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <mutex>
#include <thread>

#include "net/http_server.h"
#include "obs/otlp_exporter.h"
#include "trace_collector.h"

namespace parley {
namespace {

constexpr std::string_view kHeader = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(Traceparent, ParsesTheW3cExampleAndFormatsItBack) {
  const auto c = parse_traceparent(kHeader);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(to_hex(c->trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(to_hex(c->span_id), "00f067aa0ba902b7");
  EXPECT_TRUE(c->sampled);
  EXPECT_EQ(format_traceparent(*c), kHeader);
  const auto unsampled = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  ASSERT_TRUE(unsampled.has_value());
  EXPECT_FALSE(unsampled->sampled);
  EXPECT_TRUE(parse_traceparent("  00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 ").has_value());
}

TEST(Traceparent, RefusesWhatTheSpecRefuses) {
  for (std::string_view bad : {
           "",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",        // no flags
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",     // upper case
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",     // zero trace id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",     // zero span id
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",     // version ff
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xy",  // version 00 has 4 fields
           "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",     // separators
           "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",     // not hex
           "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",    // a later version: '-' after flags
       }) {
    EXPECT_FALSE(parse_traceparent(bad).has_value()) << bad;
  }
  // A later version is read by its first four fields.
  EXPECT_TRUE(parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra").has_value());
}

TEST(Tracer, ChildrenJoinTheParentsTraceAndFollowItsSampledFlag) {
  testing::SpanCollector spans;
  auto tracer = spans.tracer({.sample_ratio = 1.0});
  const TraceContext parent = *parse_traceparent(kHeader);
  const TraceContext child = tracer->child_of(parent);
  EXPECT_EQ(child.trace_id, parent.trace_id);
  EXPECT_NE(child.span_id, parent.span_id);
  EXPECT_TRUE(child.sampled);
  TraceContext unsampled_parent = parent;
  unsampled_parent.sampled = false;
  const TraceContext quiet = tracer->child_of(unsampled_parent);
  EXPECT_FALSE(quiet.sampled);  // the caller decided: not recorded even at ratio 1
  const TraceContext root = tracer->child_of(std::nullopt);
  EXPECT_TRUE(root.valid());
  EXPECT_NE(root.trace_id, parent.trace_id);

  SpanTiming t{.context = child, .parent_span_id = parent.span_id};
  tracer->record(finish_span(t, "recorded", SpanKind::kServer));
  SpanTiming q{.context = quiet, .parent_span_id = parent.span_id};
  tracer->record(finish_span(q, "not recorded", SpanKind::kServer));
  tracer->flush();
  const std::vector<SpanRecord> got = spans.spans();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].name, "recorded");
  EXPECT_EQ(got[0].parent_span_id, parent.span_id);
  EXPECT_LE(got[0].start_unix_ns, got[0].end_unix_ns);
  EXPECT_EQ(tracer->exported(), 1u);
}

TEST(Tracer, RatioZeroSamplesNoNewTraceAndAFullQueueDrops) {
  auto none = Tracer::create({.sample_ratio = 0.0}, nullptr);
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(none->child_of(std::nullopt).sampled);

  // An exporter that blocks until released: the queue fills up behind it.
  struct Blocking final : SpanExporter {
    std::mutex mu;
    std::condition_variable cv;
    bool open = false;
    bool export_batch(const std::vector<SpanRecord>&) override {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return open; });
      return true;
    }
  };
  auto exporter = std::make_unique<Blocking>();
  Blocking* gate = exporter.get();
  auto tracer = Tracer::create({.max_queue = 4, .max_batch = 1, .flush_interval = std::chrono::milliseconds(1)},
                               std::move(exporter));
  const TraceContext c = tracer->child_of(std::nullopt);
  for (int i = 0; i < 20; ++i) tracer->record(finish_span(SpanTiming{.context = c}, "s", SpanKind::kInternal));
  {
    std::lock_guard lock(gate->mu);
    gate->open = true;
  }
  gate->cv.notify_all();
  tracer->flush();
  EXPECT_GT(tracer->dropped(), 0u);
  EXPECT_EQ(tracer->dropped() + tracer->exported(), 20u);
}

TEST(Tracer, StoppingWithADeadCollectorDropsTheRestAfterOneFailedExport) {
  struct Failing final : SpanExporter {
    explicit Failing(std::atomic<int>* calls) : calls(calls) {}
    bool export_batch(const std::vector<SpanRecord>&) override {
      // A collector that times out: long enough for the test to queue the rest and stop.
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      calls->fetch_add(1);
      return false;
    }
    std::atomic<int>* calls;
  };
  std::atomic<int> calls{0};
  {
    // The 100th span wakes the exporter thread, whose first export hangs while the other 150 are
    // queued and the tracer is destroyed.
    auto tracer =
        Tracer::create({.max_batch = 100, .flush_interval = std::chrono::hours(1)}, std::make_unique<Failing>(&calls));
    const TraceContext c = tracer->child_of(std::nullopt);
    for (int i = 0; i < 250; ++i) tracer->record(finish_span(SpanTiming{.context = c}, "s", SpanKind::kInternal));
  }  // the first export fails while stopping: the other 150 spans are dropped without a call
  EXPECT_EQ(calls.load(), 1);
}

TEST(OtlpHttpExporter, PostsOtlpJsonToTheCollector) {
  std::mutex mu;
  std::vector<std::pair<std::string, std::string>> posts;  // target, body
  std::string content_type;
  HttpServerOptions o;
  o.port = 0;
  auto server = HttpServer::start(o, [&](HttpRequest req, std::shared_ptr<HttpResponder> r) {
    {
      std::lock_guard lock(mu);
      posts.emplace_back(req.target, req.body);
      content_type = std::string(req.header("Content-Type"));
    }
    r->respond(200, {{"Content-Type", "application/json"}}, "{}");
  });
  ASSERT_TRUE(server.ok()) << server.status().to_string();
  auto exporter = OtlpHttpExporter::create(
      {.endpoint = "http://127.0.0.1:" + std::to_string((*server)->port()) + "/", .service_name = "parley-test"});
  ASSERT_TRUE(exporter.ok());
  auto tracer = Tracer::create({}, std::move(*exporter));
  const TraceContext parent = *parse_traceparent(kHeader);
  SpanTiming t{.context = tracer->child_of(parent), .parent_span_id = parent.span_id};
  SpanRecord r = finish_span(t, "generate", SpanKind::kClient);
  r.attributes = {{"parley.model", "m"}};
  r.int_attributes = {{"parley.prompt_tokens", 12}};
  r.error = true;
  r.status_message = "boom";
  tracer->record(std::move(r));
  tracer->flush();
  EXPECT_EQ(tracer->exported(), 1u);

  std::lock_guard lock(mu);
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].first, "/v1/traces");
  EXPECT_EQ(content_type, "application/json");
  const boost::json::value doc = boost::json::parse(posts[0].second);
  const auto& rs = doc.at("resourceSpans").as_array().at(0);
  EXPECT_EQ(rs.at("resource").at("attributes").at(0).at("value").at("stringValue"), "parley-test");
  const auto& span = rs.at("scopeSpans").at(0).at("spans").at(0);
  EXPECT_EQ(span.at("traceId"), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(span.at("parentSpanId"), "00f067aa0ba902b7");
  EXPECT_EQ(span.at("name"), "generate");
  EXPECT_EQ(span.at("kind"), 3);
  EXPECT_EQ(span.at("status").at("code"), 2);
  EXPECT_EQ(span.at("attributes").at(1).at("value").at("intValue"), "12");
  EXPECT_EQ(span.at("spanId").as_string().size(), 16u);
}

TEST(OtlpHttpExporter, RefusesANonHttpEndpointAndCountsAFailedExportAsDropped) {
  EXPECT_FALSE(OtlpHttpExporter::create({.endpoint = "https://collector:4318"}).ok());
  EXPECT_FALSE(OtlpHttpExporter::create({.endpoint = "collector"}).ok());
  // Nothing listens there: the batch is dropped, not retried forever.
  auto exporter = OtlpHttpExporter::create({.endpoint = "http://127.0.0.1:1", .timeout = std::chrono::seconds(2)});
  ASSERT_TRUE(exporter.ok());
  auto tracer = Tracer::create({}, std::move(*exporter));
  tracer->record(finish_span(SpanTiming{.context = tracer->child_of(std::nullopt)}, "s", SpanKind::kInternal));
  tracer->flush();
  EXPECT_EQ(tracer->dropped(), 1u);
}

}  // namespace
}  // namespace parley
