// libFuzzer target for moderation rule evaluation (src/policy): any text, evaluated with phrase
// rules (spelled-out letters included), a regex and every detector. Checks that spans lie inside
// the text, in order, and that the streaming filter, fed the text cut where the input says,
// emits exactly what the whole-text verdict says (the redacted text, or the text before the
// first block), private key blocks included (tests/policy/pem_stream_test.cpp has the inputs
// that once disagreed near an END line). Build and run it with scripts/fuzz --target policy_eval.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "policy/output_filter.h"
#include "policy/policy.h"

namespace {

using namespace parley::policy;

void expect(bool cond) {
  if (!cond) std::abort();
}

std::shared_ptr<const Policy> make_policy() {
  PolicyConfig c;
  RuleConfig block;
  block.name = "block";
  block.phrases = {"password", "secret sauce", "ｄｒｏｐ"};
  block.spacing = true;
  block.action = Action::kBlock;
  RuleConfig redact;
  redact.name = "redact";
  redact.phrases = {"ass", "word", "é"};
  redact.whole_words = false;
  redact.action = Action::kRedact;
  RuleConfig re;
  re.name = "re";
  re.kind = RuleKind::kRegex;
  re.pattern = R"(T-\d{2,5}\b|(?i)x+y)";
  re.action = Action::kRedact;
  RuleConfig det;
  det.name = "det";
  det.kind = RuleKind::kDetector;
  for (const char* g : {"pii", "secrets"}) {
    for (const Detector d : detectors_named(g)) det.detectors.push_back(d);
  }
  det.action = Action::kRedact;
  c.rules = {block, redact, re, det};
  return *Policy::compile(c);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::shared_ptr<const Policy> policy = make_policy();
  if (size < 1) return 0;
  const std::size_t piece = 1 + data[0] % 16;  // the first byte says how the stream is cut
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const Verdict v = policy->evaluate(Stage::kOutput, Role::kAssistant, "m", text);
  std::uint32_t last = 0;
  std::uint64_t block_at = text.size();
  for (const Match& m : v.matches) {
    expect(m.span.begin < m.span.end && m.span.end <= text.size());
    expect(m.span.begin >= last);
    last = m.span.begin;
    if (m.action == Action::kBlock && block_at == text.size()) block_at = m.span.begin;
  }
  std::string expected;
  if (v.action == Action::kBlock) {
    Verdict before = v;
    std::erase_if(before.matches, [&](const Match& m) { return m.span.begin >= block_at; });
    expected = redact(text.substr(0, block_at), before);
  } else {
    expected = redact(text, v);
  }
  OutputFilter f(policy, Role::kAssistant, "m");
  std::string out;
  for (std::size_t i = 0; i < text.size() && f.state() == OutputFilter::State::kOpen; i += piece) {
    f.feed(text.substr(i, piece), &out);
    expect(expected.compare(0, out.size(), out) == 0);  // never emits what it must take back
  }
  f.finish(&out);
  expect(out == expected);
  expect((f.state() == OutputFilter::State::kBlocked) == (v.action == Action::kBlock));
  return 0;
}
