// The worker protocol: every field of a generate request, the events, models, stats and errors
// survive a round trip; malformed input is refused with an error naming what is wrong.
#include "router/worker_protocol.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "grammar/grammar_compiler.h"
#include "net/sse.h"
#include "tokenizer/builtin_vocab.h"
#include "tokenizer/tokenizer.h"

namespace parley {
namespace {

GenerateRequest full_request() {
  GenerateRequest q;
  q.prompt = {1, 2, 3, 40000};
  q.sampling.temperature = 0.7f;
  q.sampling.top_k = 40;
  q.sampling.top_p = 0.9f;
  q.sampling.min_p = 0.05f;
  q.sampling.repetition_penalty = 1.1f;
  q.sampling.presence_penalty = 0.5f;
  q.sampling.frequency_penalty = -0.25f;
  q.sampling.penalty_last_n = 64;
  q.sampling.logit_bias = {{5, -100.0f}, {7, 2.5f}};
  q.sampling.seed = std::numeric_limits<std::uint64_t>::max();
  q.sampling.has_seed = true;
  q.sampling.n_logprobs = 5;
  q.max_tokens = 17;
  q.stop_token_ids = {9, 10};
  q.ignore_eos = true;
  q.tenant = "user-1";
  q.priority = Priority::kBatch;
  q.cache_scope = "acct:42";
  q.cache_shared_tokens = 2;
  return q;
}

CompiledGrammarPtr compiled(const GrammarSpec& spec) {
  static auto vocab = [] {
    auto md = builtin_vocab_metadata("bytes");
    EXPECT_TRUE(md.ok());
    GgufWriter w;
    for (auto& [k, v] : *md) w.set(k, v);
    static std::vector<std::byte> bytes = *w.write_memory();
    auto file = GgufFile::from_memory(bytes);
    EXPECT_TRUE(file.ok());
    auto t = Tokenizer::from_gguf(**file);
    EXPECT_TRUE(t.ok()) << t.status().to_string();
    return TokenVocabulary::create(**t);
  }();
  static GrammarCompiler compiler(vocab);
  auto g = compiler.compile(spec);
  EXPECT_TRUE(g.ok()) << g.status().to_string();
  return *g;
}

TEST(WorkerProtocolTest, GenerateRequestRoundTripsEveryField) {
  GenerateRequest q = full_request();
  GrammarSpec spec;
  spec.kind = GrammarKind::kJsonSchema;
  spec.text = R"({"type":"object","properties":{"a":{"type":"integer"}}})";
  spec.json.strict = true;
  spec.json.whitespace = JsonWhitespace::kCompact;
  spec.json.max_indent = 4;
  q.grammar = compiled(spec);
  q.grammar_triggers = {11};
  auto body = generate_request_to_json("tiny", "req-1", q);
  ASSERT_TRUE(body.ok()) << body.status().to_string();
  auto w = parse_generate_request(*body);
  ASSERT_TRUE(w.ok()) << w.status().to_string();
  EXPECT_EQ(w->model, "tiny");
  EXPECT_EQ(w->request_id, "req-1");
  const GenerateRequest& r = w->request;
  EXPECT_EQ(r.prompt, q.prompt);
  EXPECT_EQ(r.sampling.temperature, q.sampling.temperature);
  EXPECT_EQ(r.sampling.top_k, q.sampling.top_k);
  EXPECT_EQ(r.sampling.top_p, q.sampling.top_p);
  EXPECT_EQ(r.sampling.min_p, q.sampling.min_p);
  EXPECT_EQ(r.sampling.repetition_penalty, q.sampling.repetition_penalty);
  EXPECT_EQ(r.sampling.presence_penalty, q.sampling.presence_penalty);
  EXPECT_EQ(r.sampling.frequency_penalty, q.sampling.frequency_penalty);
  EXPECT_EQ(r.sampling.penalty_last_n, q.sampling.penalty_last_n);
  EXPECT_EQ(r.sampling.logit_bias, q.sampling.logit_bias);
  EXPECT_EQ(r.sampling.seed, q.sampling.seed);
  EXPECT_TRUE(r.sampling.has_seed);
  EXPECT_EQ(r.sampling.n_logprobs, 5);
  EXPECT_EQ(r.max_tokens, 17);
  EXPECT_EQ(r.stop_token_ids, q.stop_token_ids);
  EXPECT_TRUE(r.ignore_eos);
  EXPECT_EQ(r.tenant, "user-1");
  EXPECT_EQ(r.priority, Priority::kBatch);
  EXPECT_EQ(r.cache_scope, "acct:42");
  EXPECT_EQ(r.cache_shared_tokens, 2);
  EXPECT_EQ(r.grammar, nullptr);  // the worker compiles the spec
  EXPECT_EQ(r.grammar_triggers, q.grammar_triggers);
  ASSERT_TRUE(w->grammar.has_value());
  EXPECT_EQ(w->grammar->cache_key(), spec.cache_key());
}

TEST(WorkerProtocolTest, ChoiceGrammarAndNoSeedRoundTrip) {
  GenerateRequest q;
  q.prompt = {1};
  GrammarSpec spec;
  spec.kind = GrammarKind::kChoice;
  spec.choices = {"yes", "no", "ma\"ybe\n"};
  q.grammar = compiled(spec);
  auto w = parse_generate_request(*generate_request_to_json("m", "r", q));
  ASSERT_TRUE(w.ok()) << w.status().to_string();
  EXPECT_FALSE(w->request.sampling.has_seed);
  EXPECT_EQ(w->request.sampling.n_logprobs, -1);
  ASSERT_TRUE(w->grammar);
  EXPECT_EQ(w->grammar->cache_key(), spec.cache_key());
  // No grammar at all.
  q.grammar = nullptr;
  w = parse_generate_request(*generate_request_to_json("m", "r", q));
  ASSERT_TRUE(w.ok());
  EXPECT_FALSE(w->grammar);
}

TEST(WorkerProtocolTest, GrammarsBuiltInCodeTravelAsTheirRulesAndKey) {
  GenerateRequest q;
  q.prompt = {1};
  auto vocab = compiled(GrammarSpec{})->vocabulary_ptr();
  GrammarCompiler c(vocab);
  const auto build = []() -> Result<Grammar> {
    Grammar g;
    const RuleId root = g.add_rule("root");
    const RuleId item = g.add_rule("item");
    g.set_rule(item, g.alt({g.literal("a"), g.seq({g.literal("("), g.ref(item), g.literal(")")})}));
    const ExprId list = g.separated({{g.ref(item), 1, kUnbounded}, {g.special_token(300), 0, 1}}, g.literal(","), true);
    g.set_rule(root, g.seq({g.codepoints(std::vector<CodepointRange>{{U'α', U'ω'}}), g.repeat(list, 1, 3)}));
    g.set_root(root);
    return g;
  };
  auto g = c.compile("custom-tools:1", build);
  ASSERT_TRUE(g.ok()) << g.status().to_string();
  ASSERT_TRUE((*g)->built());
  q.grammar = *g;
  q.grammar_triggers = {300};
  auto body = generate_request_to_json("m", "r", q);
  ASSERT_TRUE(body.ok()) << body.status().to_string();
  auto w = parse_generate_request(*body);
  ASSERT_TRUE(w.ok()) << w.status().to_string();
  ASSERT_TRUE(w->built_grammar);
  EXPECT_FALSE(w->grammar);
  EXPECT_EQ(w->request.grammar_triggers, q.grammar_triggers);
  EXPECT_EQ(w->built_grammar->grammar.to_string(), build()->to_string());
  EXPECT_NE(w->built_grammar->key.find("custom-tools:1"), std::string::npos);
  EXPECT_TRUE(w->built_grammar->key.starts_with("built:"));
  // The worker compiles it like any grammar.
  auto again = c.compile(w->built_grammar->key, [&]() -> Result<Grammar> { return w->built_grammar->grammar; });
  ASSERT_TRUE(again.ok()) << again.status().to_string();
}

TEST(WorkerProtocolTest, MalformedBuiltGrammarsAreRefused) {
  const std::string head = R"({"model":"m","request_id":"r","prompt":[1],"sampling":{},"grammar_built":)";
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"key":"k","root":0,"rules":[["root",0]],"exprs":[{"k":2,"c":[0]}]})", "out of order"},  // a cycle
      {R"({"key":"k","root":1,"rules":[["root",0]],"exprs":[{"k":0}]})", "root rule"},
      {R"({"key":"k","root":0,"rules":[["root",3]],"exprs":[{"k":0}]})", "no expression"},
      {R"({"key":"k","root":0,"rules":[["root",0]],"exprs":[{"k":9}]})", "grammar_built.exprs[].k"},
      {R"({"key":"k","root":0,"rules":[["root",0]],"exprs":[{"k":1,"b":"zz"}]})", "hex"},
      {R"({"key":"k","root":0,"rules":[["root",0]],"exprs":[{"k":5,"r":4}]})", "names no rule"},
      {R"({"key":"k","root":0,"rules":[["root",1]],"exprs":[{"k":0},{"k":4,"c":[0],"min":3,"max":2}]})", "repetition"},
      {R"({"key":"k","root":0,"rules":[["root",0]],"exprs":[{"k":0,"x":1}]})", "unknown field"},
  };
  for (const auto& [grammar, needle] : bad) {
    auto w = parse_generate_request(head + grammar + "}");
    ASSERT_FALSE(w.ok()) << grammar;
    EXPECT_NE(w.status().message().find(needle), std::string_view::npos) << w.status().message();
  }
}

void expect_refused(const std::string& body, std::string_view needle) {
  auto w = parse_generate_request(body);
  ASSERT_FALSE(w.ok()) << body;
  EXPECT_EQ(w.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(w.status().message().find(needle), std::string_view::npos) << w.status().message();
}

TEST(WorkerProtocolTest, MalformedRequestsAreRefused) {
  const std::string ok = R"("model":"m","request_id":"r","sampling":{})";
  expect_refused("not json", "malformed JSON");
  expect_refused("[1]", "JSON object");
  expect_refused(R"({"request_id":"r","prompt":[1],"sampling":{}})", "'model' is required");
  expect_refused("{" + ok + "}", "'prompt' is required");
  expect_refused("{" + ok + R"(,"prompt":[]})", "'prompt' is empty");
  expect_refused("{" + ok + R"(,"prompt":[-1]})", "prompt[]");
  expect_refused("{" + ok + R"(,"prompt":[1.5]})", "prompt[]");
  expect_refused("{" + ok + R"(,"prompt":"hi"})", "'prompt' must be");
  expect_refused("{" + ok + R"(,"prompt":[1],"surprise":1})", "unknown field 'surprise'");
  expect_refused(R"({"model":"m","request_id":"r","prompt":[1],"sampling":{"temp":1}})", "sampling.temp");
  expect_refused(R"({"model":"m","request_id":"r","prompt":[1],"sampling":{"top_k":"5"}})", "sampling.top_k");
  expect_refused(R"({"model":"m","request_id":"r","prompt":[1],"sampling":{"seed":-1}})", "sampling.seed");
  expect_refused(R"({"model":"m","request_id":"r","prompt":[1],"sampling":{"n_logprobs":21}})", "n_logprobs");
  expect_refused(R"({"model":"m","request_id":"r","prompt":[1],"sampling":{"logit_bias":[[1]]}})", "logit_bias");
  expect_refused(R"({"model":"m","request_id":"r","prompt":[1],"sampling":{"temperature":1e300}})", "out of range");
  expect_refused("{" + ok + R"(,"prompt":[1],"max_tokens":-1})", "max_tokens");
  expect_refused("{" + ok + R"(,"prompt":[1],"priority":"urgent"})", "'priority' must be");
  expect_refused("{" + ok + R"(,"prompt":[1],"grammar":{"kind":"lisp"}})", "grammar.kind");
  expect_refused("{" + ok + R"(,"prompt":[1],"grammar_triggers":[3]})", "without 'grammar'");
  expect_refused("{" + ok + R"(,"prompt":[1],"tenant":")" + std::string(2000, 'x') + "\"}", "tenant");
  std::string deep = std::string(100, '[') + std::string(100, ']');
  expect_refused("{" + ok + R"(,"prompt":)" + deep + "}", "malformed JSON");
  WorkerProtocolLimits small;
  small.max_prompt_tokens = 2;
  auto w = parse_generate_request("{" + ok + R"(,"prompt":[1,2,3]})", small);
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.status().message().find("more than 2 tokens"), std::string_view::npos);
}

Result<EngineEvent> through_sse(const std::string& wire) {
  SseParser p;
  auto events = p.feed(wire);
  EXPECT_TRUE(events.ok());
  EXPECT_EQ(events->size(), 1u);
  return parse_worker_event(events->at(0).event, events->at(0).data);
}

TEST(WorkerProtocolTest, TokenEventsRoundTripWithLogprobs) {
  TokenEvent e;
  e.tokens = {3, 4};
  SampleResult a{.token = 3, .logprob = -0.125f, .top = {{3, -0.125f}, {8, -2.75f}}, .fallback = false};
  SampleResult b{.token = 4, .logprob = -std::numeric_limits<float>::infinity(), .top = {}, .fallback = true};
  e.logprobs = {a, b};
  auto back = through_sse(tokens_event_sse(e));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  const auto& t = std::get<TokenEvent>(*back);
  EXPECT_EQ(t.tokens, e.tokens);
  ASSERT_EQ(t.logprobs.size(), 2u);
  EXPECT_EQ(t.logprobs[0].token, 3);
  EXPECT_EQ(t.logprobs[0].logprob, -0.125f);
  EXPECT_EQ(t.logprobs[0].top, a.top);
  EXPECT_FALSE(t.logprobs[0].fallback);
  EXPECT_TRUE(std::isinf(t.logprobs[1].logprob));
  EXPECT_TRUE(t.logprobs[1].fallback);
  // Without logprobs.
  back = through_sse(tokens_event_sse(TokenEvent{.tokens = {1}, .logprobs = {}}));
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(std::get<TokenEvent>(*back).logprobs.empty());
}

TEST(WorkerProtocolTest, FinishEventRoundTrips) {
  FinishEvent f;
  f.reason = FinishReason::kError;
  f.message = "the model failed";
  f.prompt_tokens = 12;
  f.completion_tokens = 5;
  f.cached_prompt_tokens = 8;
  f.preemptions = 1;
  f.timings = {.queue_s = 0.5, .ttft_s = 0.75, .total_s = 1.25};
  auto back = through_sse(finish_event_sse(f));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  const auto& g = std::get<FinishEvent>(*back);
  EXPECT_EQ(g.reason, f.reason);
  EXPECT_EQ(g.message, f.message);
  EXPECT_EQ(g.prompt_tokens, 12);
  EXPECT_EQ(g.completion_tokens, 5);
  EXPECT_EQ(g.cached_prompt_tokens, 8);
  EXPECT_EQ(g.preemptions, 1);
  EXPECT_EQ(g.timings.queue_s, 0.5);
  EXPECT_EQ(g.timings.ttft_s, 0.75);
  EXPECT_EQ(g.timings.total_s, 1.25);
  for (FinishReason r : {FinishReason::kStop, FinishReason::kLength, FinishReason::kCancelled}) {
    f.reason = r;
    EXPECT_EQ(std::get<FinishEvent>(*through_sse(finish_event_sse(f))).reason, r);
  }
}

TEST(WorkerProtocolTest, MalformedEventsAreRefused) {
  EXPECT_FALSE(parse_worker_event("nope", "{}").ok());
  EXPECT_FALSE(parse_worker_event("tokens", "{}").ok());
  EXPECT_FALSE(parse_worker_event("tokens", R"({"tokens":[1],"logprobs":[]})").ok());
  EXPECT_FALSE(parse_worker_event("tokens", R"({"tokens":[-4]})").ok());
  EXPECT_FALSE(parse_worker_event("finish", R"({"reason":"bored"})").ok());
  EXPECT_FALSE(parse_worker_event("finish", R"({"reason":"stop","extra":1})").ok());
  EXPECT_FALSE(parse_worker_event("finish", "{").ok());
}

TEST(WorkerProtocolTest, ModelsAndStatsRoundTrip) {
  std::vector<WorkerModelInfo> models{{"a", 256, 1700000000, true, "abc123"}, {"b", 4096, 0, false, ""}};
  auto back = parse_models(models_to_json(models));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(*back, models);
  EXPECT_FALSE(parse_models(R"({"models":[{"id":"","n_ctx":1}]})").ok());
  EXPECT_FALSE(parse_models(R"({"models":[{"id":"x"}]})").ok());

  WorkerStats s;
  s.draining = true;
  EngineStats e;
  e.waiting = 1;
  e.running = 2;
  e.kv_blocks_total = 3;
  e.kv_blocks_used = 4;
  e.kv_blocks_cached = 5;
  e.preemptions = 6;
  e.prompt_tokens = 7;
  e.prefix_hit_tokens = 8;
  e.generated_tokens = 9;
  e.steps = 10;
  e.requests_finished = 11;
  e.requests_rejected = 12;
  e.grammar_masks = 13;
  e.grammar_mask_seconds = 0.25;
  e.waiting_by_priority = {14, 15};
  e.running_by_priority = {16, 17};
  e.target_step_seconds = 0.125;
  e.steps_over_target = 18;
  e.step_seconds_total = 2.5;
  e.step_cost_error = 0.0625;
  e.step_cost_coefficients = {1e-3, 2e-5, 3e-4, 4.5};
  s.models = {{"a", e}};
  auto sb = parse_worker_stats(worker_stats_to_json(s));
  ASSERT_TRUE(sb.ok()) << sb.status().to_string();
  EXPECT_TRUE(sb->draining);
  ASSERT_EQ(sb->models.size(), 1u);
  const EngineStats& g = sb->models[0].second;
  EXPECT_EQ(sb->models[0].first, "a");
  EXPECT_EQ(g.waiting, 1);
  EXPECT_EQ(g.running, 2);
  EXPECT_EQ(g.kv_blocks_total, 3);
  EXPECT_EQ(g.kv_blocks_used, 4);
  EXPECT_EQ(g.kv_blocks_cached, 5);
  EXPECT_EQ(g.preemptions, 6);
  EXPECT_EQ(g.prompt_tokens, 7);
  EXPECT_EQ(g.prefix_hit_tokens, 8);
  EXPECT_EQ(g.generated_tokens, 9);
  EXPECT_EQ(g.steps, 10);
  EXPECT_EQ(g.requests_finished, 11);
  EXPECT_EQ(g.requests_rejected, 12);
  EXPECT_EQ(g.grammar_masks, 13);
  EXPECT_EQ(g.grammar_mask_seconds, 0.25);
  EXPECT_EQ(g.waiting_by_priority, e.waiting_by_priority);
  EXPECT_EQ(g.running_by_priority, e.running_by_priority);
  EXPECT_EQ(g.target_step_seconds, 0.125);
  EXPECT_EQ(g.steps_over_target, 18);
  EXPECT_EQ(g.step_seconds_total, 2.5);
  EXPECT_EQ(g.step_cost_error, 0.0625);
  EXPECT_EQ(g.step_cost_coefficients, e.step_cost_coefficients);
  EXPECT_FALSE(parse_worker_stats(R"({"models":{"a":{"running":-1}}})").ok());
}

// The placements a worker reports (?blocks_since=N): hashes as 16 hex digits, by model; absent
// unless asked for, so a gateway that does not ask parses the stats it always did.
TEST(WorkerProtocolTest, StatsCarryThePrefixBlocksWhenAsked) {
  WorkerStats s;
  s.models.emplace_back("tiny", EngineStats{});
  EXPECT_EQ(worker_stats_to_json(s).find("prefix_blocks"), std::string::npos);
  PlacementLog::Since b;
  b.seq = 42;
  b.models.emplace_back("tiny", std::vector<std::uint64_t>{0, 0xfedcba9876543210ULL, 7});
  s.prefix_blocks = b;
  const std::string j = worker_stats_to_json(s);
  EXPECT_NE(j.find(R"("fedcba9876543210")"), std::string::npos) << j;
  auto back = parse_worker_stats(j);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  ASSERT_TRUE(back->prefix_blocks.has_value());
  EXPECT_EQ(back->prefix_blocks->seq, 42u);
  ASSERT_EQ(back->prefix_blocks->models.size(), 1u);
  EXPECT_EQ(back->prefix_blocks->models[0].second, b.models[0].second);
  for (const char* bad : {R"({"draining":false,"models":{},"prefix_blocks":{"seq":1,"models":{"m":["xyz"]}}})",
                          R"({"draining":false,"models":{},"prefix_blocks":{"seq":1,"models":{"m":[12]}}})",
                          R"({"draining":false,"models":{},"prefix_blocks":{"seq":1,"models":{"m":"00"}}})",
                          R"({"draining":false,"models":{},"prefix_blocks":{"seq":1}})",
                          R"({"draining":false,"models":{},"prefix_blocks":{"seq":1,"models":{},"x":1}})"}) {
    EXPECT_FALSE(parse_worker_stats(bad).ok()) << bad;
  }
}

TEST(PlacementLogTest, NewEntriesSinceARepeatMovesToTheEndAndTheOldestGo) {
  PlacementLog log(5);
  const std::vector<std::uint64_t> first{1, 2, 3};
  log.record("a", first);
  auto all = log.since(0, 100);
  EXPECT_EQ(all.seq, 3u);
  ASSERT_EQ(all.models.size(), 1u);
  EXPECT_EQ(all.models[0].second, first);
  const std::vector<std::uint64_t> second{1, 2, 3, 4};  // the next turn: 1-3 again, 4 new
  log.record("a", second);
  auto fresh = log.since(3, 100);
  EXPECT_EQ(fresh.seq, 7u);
  EXPECT_EQ(fresh.models[0].second, second);  // refreshed, not repeated
  EXPECT_EQ(log.since(0, 100).models[0].second, second);
  const std::vector<std::uint64_t> other{9, 8};
  log.record("b", other);  // capacity 5: the oldest goes
  auto now = log.since(0, 100);
  ASSERT_EQ(now.models.size(), 2u);
  EXPECT_EQ(now.models[0].second, (std::vector<std::uint64_t>{2, 3, 4}));
  EXPECT_EQ(now.models[1].second, other);
  EXPECT_EQ(log.since(0, 1).models[0].second, (std::vector<std::uint64_t>{8}));  // the newest only
  EXPECT_TRUE(log.since(now.seq, 100).models.empty());
  // A caller ahead of the log (the worker restarted): everything.
  EXPECT_EQ(log.since(now.seq + 100, 100).models.size(), 2u);
}

TEST(WorkerProtocolTest, ErrorsRoundTripWithDetails) {
  Status st = resource_exhausted_error("queue full").with_detail("retry_after", "2");
  Status back = parse_error_body(worker_http_status(st.code()), error_to_json(st));
  EXPECT_EQ(back.code(), ErrorCode::kResourceExhausted);
  EXPECT_EQ(back.message(), "queue full");
  EXPECT_EQ(back.detail("retry_after"), "2");
  st = invalid_argument_error("too long")
           .with_detail("param", "messages")
           .with_detail("code", "context_length_exceeded");
  back = parse_error_body(400, error_to_json(st));
  EXPECT_EQ(back.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(back.detail("param"), "messages");
  EXPECT_EQ(back.detail("code"), "context_length_exceeded");
  // Not our body: the status alone.
  EXPECT_EQ(parse_error_body(503, "<html>").code(), ErrorCode::kUnavailable);
  EXPECT_EQ(parse_error_body(429, "").code(), ErrorCode::kResourceExhausted);
  EXPECT_EQ(worker_http_status(ErrorCode::kInvalidArgument), 400);
  EXPECT_EQ(worker_http_status(ErrorCode::kUnauthenticated), 401);
}

}  // namespace
}  // namespace parley
