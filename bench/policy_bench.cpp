// Moderation rules (src/policy): the cost of evaluating a request's text and of the streaming
// output filter, with the rules of a large deployment: 1,000 phrases (one automaton), 50 regexes
// and every built-in detector (PII and secrets).
//   build/bench/policy_bench
//   Policy/typical_200B/*      one ~200-byte chat message (per message)
//   Policy/large_100KB/*       a 100 KB document (per document)
//   OutputFilter/per_token     a ~4 KB reply fed in ~4-byte tokens (per token); none: no rules
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "policy/output_filter.h"
#include "policy/policy.h"

namespace parley::policy {
namespace {

constexpr std::string_view kSyllables[] = {"ka", "lo", "mi", "ne", "ru", "ta", "shi", "vo", "zem", "pra", "dul", "fen"};

std::vector<std::string> phrases(std::size_t n) {
  std::vector<std::string> out;
  std::uint32_t x = 7;
  for (std::size_t i = 0; i < n; ++i) {
    std::string p;
    const int words = 1 + static_cast<int>(i % 3);
    for (int w = 0; w < words; ++w) {
      if (w) p += ' ';
      for (int s = 0; s < 3; ++s) {
        x = x * 1664525u + 1013904223u;
        p += kSyllables[(x >> 16) % std::size(kSyllables)];
      }
    }
    out.push_back(p);
  }
  return out;
}

std::vector<RuleConfig> rules(bool with_phrases, bool with_regexes, bool with_detectors) {
  std::vector<RuleConfig> out;
  if (with_phrases) {
    RuleConfig r;
    r.name = "phrases";
    r.phrases = phrases(1000);
    r.action = Action::kBlock;
    out.push_back(r);
  }
  if (with_regexes) {
    for (int i = 0; i < 50; ++i) {
      RuleConfig r;
      r.name = "re" + std::to_string(i);
      r.kind = RuleKind::kRegex;
      r.action = Action::kFlag;
      switch (i % 5) {
        case 0:
          r.pattern = "\\bTICKET" + std::to_string(i) + "-\\d{4,8}\\b";
          break;
        case 1:
          r.pattern = "(?i)\\bproject\\s+code" + std::to_string(i) + "\\s*[:=]\\s*\\w{4,}";
          break;
        case 2:
          r.pattern = "\\border #" + std::to_string(i) + "\\d{6}\\b";
          break;
        case 3:
          r.pattern = "(?i)\\b(?:drop|truncate)\\s+table\\s+t" + std::to_string(i) + "\\b";
          break;
        default:
          r.pattern = "\\b[A-Z]{3}" + std::to_string(i) + "[0-9]{5}\\b";
          break;
      }
      out.push_back(r);
    }
  }
  if (with_detectors) {
    RuleConfig r;
    r.name = "pii";
    r.kind = RuleKind::kDetector;
    r.detectors = detectors_named("pii");
    r.action = Action::kRedact;
    out.push_back(r);
    r.name = "secrets";
    r.detectors = detectors_named("secrets");
    r.action = Action::kBlock;
    out.push_back(r);
  }
  return out;
}

std::shared_ptr<const Policy> make(bool p, bool r, bool d) {
  PolicyConfig c;
  c.rules = rules(p, r, d);
  auto policy = Policy::compile(c);
  if (!policy.ok()) std::abort();
  return *policy;
}

const std::string kTypical =
    "Hi! Could you help me rewrite this paragraph for our quarterly report? Revenue grew 12% over the last "
    "quarter, mostly in the EMEA region, and we expect the new pricing to land in March. Keep it short.";

std::string large_text() {
  const std::string para =
      "The committee met on Tuesday to review the draft — résumé attached, naïve estimates aside. "
      "Numbers: 1,204 units, 3.5% growth, order 1234 shipped; contact the team lead for details. ";
  std::string t;
  while (t.size() < 100 * 1024) t += para;
  return t;
}

void run_evaluate(benchmark::State& state, bool p, bool r, bool d, const std::string& text) {
  auto policy = make(p, r, d);
  PolicyScratch scratch;
  Verdict v;
  for (auto _ : state) {
    policy->evaluate(Stage::kInput, Role::kUser, "m", text, &scratch, &v);
    benchmark::DoNotOptimize(v);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}

void BM_Typical(benchmark::State& state, bool p, bool r, bool d) {
  run_evaluate(state, p, r, d, kTypical);
}
void BM_Large(benchmark::State& state, bool p, bool r, bool d) {
  static const std::string text = large_text();
  run_evaluate(state, p, r, d, text);
}

BENCHMARK_CAPTURE(BM_Typical, phrases_1000, true, false, false)->Name("Policy/typical_200B/phrases_1000");
BENCHMARK_CAPTURE(BM_Typical, regexes_50, false, true, false)->Name("Policy/typical_200B/regexes_50");
BENCHMARK_CAPTURE(BM_Typical, detectors, false, false, true)->Name("Policy/typical_200B/detectors_all");
BENCHMARK_CAPTURE(BM_Typical, all, true, true, true)->Name("Policy/typical_200B/all");
BENCHMARK_CAPTURE(BM_Large, phrases_1000, true, false, false)->Name("Policy/large_100KB/phrases_1000");
BENCHMARK_CAPTURE(BM_Large, regexes_50, false, true, false)->Name("Policy/large_100KB/regexes_50");
BENCHMARK_CAPTURE(BM_Large, detectors, false, false, true)->Name("Policy/large_100KB/detectors_all");
BENCHMARK_CAPTURE(BM_Large, all, true, true, true)->Name("Policy/large_100KB/all")->Unit(benchmark::kMillisecond);

void BM_Stream(benchmark::State& state, bool any_rules) {
  auto policy = any_rules ? make(true, true, true) : make(false, false, false);
  std::string reply;
  while (reply.size() < 4096) reply += kTypical + " ";
  std::size_t tokens = 0;
  std::string out;
  for (auto _ : state) {
    OutputFilter f(policy, Role::kAssistant, "m");
    out.clear();
    for (std::size_t i = 0; i < reply.size(); i += 4) {
      f.feed(std::string_view(reply).substr(i, 4), &out);
      ++tokens;
    }
    f.finish(&out);
    benchmark::DoNotOptimize(out);
  }
  state.counters["per_token"] =
      benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK_CAPTURE(BM_Stream, all, true)->Name("OutputFilter/per_token/all")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Stream, none, false)->Name("OutputFilter/per_token/none")->Unit(benchmark::kMillisecond);

void BM_Compile(benchmark::State& state) {
  const std::vector<RuleConfig> r = rules(true, true, true);
  for (auto _ : state) {
    PolicyConfig c;
    c.rules = r;
    benchmark::DoNotOptimize(Policy::compile(c));
  }
}
BENCHMARK(BM_Compile)->Name("Policy/compile/all")->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace parley::policy

BENCHMARK_MAIN();
