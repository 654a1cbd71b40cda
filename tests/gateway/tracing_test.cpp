// Traces of the routes that generate (gateway/request_trace.h): the caller's traceparent is
// joined, and each stage is a span under the request's.
#include <gtest/gtest.h>

#include <thread>

#include "accounts_fixture.h"
#include "trace_collector.h"

namespace parley {
namespace {

using testing::AccountsTest;
using testing::Reply;
using testing::Session;

constexpr std::string_view kParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

class TracingTest : public AccountsTest {
 protected:
  void start_traced() {
    tracer_ = spans_.tracer();
    gateway_options_.tracer = tracer_;
    start();
  }
  void TearDown() override {
    AccountsTest::TearDown();
    gateway_options_.tracer.reset();  // the tracer exports into spans_: gone before it
    tracer_.reset();
  }
  // The span named `name`, waiting for it: a request's span is recorded as its response ends.
  std::optional<SpanRecord> wait_for(std::string_view name) {
    for (int i = 0; i < 200; ++i) {
      tracer_->flush();
      if (auto s = spans_.find(name)) return s;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return std::nullopt;
  }
  static std::int64_t int_attribute(const SpanRecord& s, std::string_view key) {
    for (const auto& [k, v] : s.int_attributes) {
      if (k == key) return v;
    }
    return -1;
  }

  testing::SpanCollector spans_;  // declared first: outlives the tracer and the gateway
  std::shared_ptr<Tracer> tracer_;
};

TEST_F(TracingTest, AChatJoinsTheCallersTraceWithASpanPerStage) {
  start_traced();
  const Session s = signup("a@example.com");
  const auto [id, key] = create_key(s);
  const Reply r =
      call("POST", "/v1/chat/completions",
           R"({"model":"tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":4,"ignore_eos":true})",
           {{"Authorization", "Bearer " + key}, {"traceparent", std::string(kParent)}});
  ASSERT_EQ(r.status, 200) << r.body;
  const auto request = wait_for("POST /v1/chat/completions");
  ASSERT_TRUE(request.has_value());
  const TraceContext parent = *parse_traceparent(kParent);
  EXPECT_EQ(request->parent_span_id, parent.span_id);
  EXPECT_EQ(request->kind, SpanKind::kServer);
  EXPECT_EQ(int_attribute(*request, "http.response.status_code"), 200);

  const auto auth = spans_.find("authenticate");
  const auto generate = spans_.find("generate");
  const auto queue = spans_.find("queue");
  const auto prefill = spans_.find("prefill");
  const auto decode = spans_.find("decode");
  ASSERT_TRUE(auth && generate && queue && prefill && decode);
  for (const SpanRecord* sp : {&*request, &*auth, &*generate, &*queue, &*prefill, &*decode}) {
    EXPECT_EQ(sp->context.trace_id, parent.trace_id) << sp->name;
    EXPECT_LE(sp->start_unix_ns, sp->end_unix_ns) << sp->name;
  }
  EXPECT_EQ(auth->parent_span_id, request->context.span_id);
  EXPECT_EQ(generate->parent_span_id, request->context.span_id);
  EXPECT_EQ(generate->kind, SpanKind::kClient);
  EXPECT_EQ(int_attribute(*generate, "parley.completion_tokens"), 4);
  for (const SpanRecord* sp : {&*queue, &*prefill, &*decode}) {
    EXPECT_EQ(sp->parent_span_id, generate->context.span_id) << sp->name;
    EXPECT_GE(sp->start_unix_ns, generate->start_unix_ns) << sp->name;
    EXPECT_LE(sp->end_unix_ns, generate->end_unix_ns) << sp->name;
  }
  EXPECT_LE(prefill->end_unix_ns, decode->start_unix_ns + 1000);  // prefill, then decode
}

TEST_F(TracingTest, ARequestWithoutContextStartsATraceAndOtherRoutesRecordNothing) {
  start_traced();
  const Session s = signup("a@example.com");
  const auto [id, key] = create_key(s);
  ASSERT_EQ(chat(key, 2).status, 200);
  const auto request = wait_for("POST /v1/chat/completions");
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(request->parent_span_id, SpanId{});  // a root
  EXPECT_TRUE(request->context.valid());
  // Sign-up, keys and the rest are not traced (only what generates).
  for (const SpanRecord& sp : spans_.spans()) {
    EXPECT_EQ(sp.context.trace_id, request->context.trace_id) << sp.name;
  }
}

TEST_F(TracingTest, AnUnsampledCallerIsNotRecorded) {
  start_traced();
  const Session s = signup("a@example.com");
  const auto [id, key] = create_key(s);
  const Reply r = call(
      "POST", "/v1/chat/completions", R"({"model":"tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":2})",
      {{"Authorization", "Bearer " + key}, {"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"}});
  ASSERT_EQ(r.status, 200);
  ASSERT_EQ(chat(key, 1).status, 200);  // a sampled one after it, to wait on
  ASSERT_TRUE(wait_for("POST /v1/chat/completions").has_value());
  for (const SpanRecord& sp : spans_.spans()) {
    EXPECT_NE(to_hex(sp.context.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736") << sp.name;
  }
}

TEST_F(TracingTest, AConversationReplyRecordsItsPersistSpan) {
  start_traced();
  const Session a = signup("a@example.com");
  const Reply created = as(a, "POST", "/api/conversations", "{}");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id(created.json.at("id").as_string());
  HttpHeaders h{{"Cookie", a.cookie}, {"X-CSRF-Token", a.csrf}, {"traceparent", std::string(kParent)}};
  const Reply sent = call("POST", "/api/conversations/" + id + "/messages", R"({"content":"hi","max_tokens":2})", h);
  ASSERT_EQ(sent.status, 200) << sent.body;
  const auto persist = wait_for("persist");
  const auto request = wait_for("POST /api/conversations/{id}/messages");
  ASSERT_TRUE(persist && request);
  EXPECT_EQ(persist->parent_span_id, request->context.span_id);
  EXPECT_EQ(request->parent_span_id, parse_traceparent(kParent)->span_id);
  EXPECT_FALSE(persist->error);
  EXPECT_TRUE(spans_.find("generate").has_value());
}

}  // namespace
}  // namespace parley
