// libFuzzer target for the tool-call output parsers (src/toolcall/output_parser.h): model output is
// untrusted text. The first byte picks the family, the reasoning syntax and whether calls are held;
// the second a split point. Whatever the text: no crash, calls start at indexes 0, 1, ... with
// their arguments after their start, and the events are the same fed whole, split in two, and
// byte by byte. Held (unconstrained) calls that come out are whole JSON objects. Build and run it
// with scripts/fuzz --target toolcall_parser.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "toolcall/json_scan.h"
#include "toolcall/output_parser.h"

namespace {

void expect(bool cond) {
  if (!cond) std::abort();
}

std::vector<parley::OutputEvent> run(const parley::OutputParserOptions& base,
                                     const std::vector<std::string_view>& pieces) {
  parley::OutputParserOptions o = base;
  int next = 0;
  o.new_id = [&next] { return "call_" + std::to_string(next++); };
  parley::OutputParser p(o);
  std::vector<parley::OutputEvent> merged;
  std::vector<parley::OutputEvent> ev;
  for (const std::string_view piece : pieces) {
    ev.clear();
    p.feed(piece, ev);
    for (parley::OutputEvent& e : ev) parley::append_event(merged, std::move(e));
  }
  ev.clear();
  p.finish(ev);
  for (parley::OutputEvent& e : ev) parley::append_event(merged, std::move(e));
  return merged;
}

bool same(const std::vector<parley::OutputEvent>& a, const std::vector<parley::OutputEvent>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].kind != b[i].kind || a[i].index != b[i].index || a[i].text != b[i].text || a[i].id != b[i].id)
      return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2 || size > 8192) return 0;
  const std::uint8_t mode = data[0];
  const std::size_t split_at = data[1];
  const std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);

  parley::OutputParserOptions o;
  o.family = static_cast<parley::ToolFamily>(mode % 11);
  o.parse_tools = (mode & 0x80) == 0;
  o.hold_calls = (mode & 0x40) == 0;
  o.reasoning = static_cast<parley::ReasoningSyntax>((mode >> 4) % 3);
  o.starts_in_reasoning = (mode & 0x08) != 0 && o.reasoning != parley::ReasoningSyntax::kNone;

  const std::vector<parley::OutputEvent> whole = run(o, {text});
  using Kind = parley::OutputEvent::Kind;
  std::int32_t started = 0;
  parley::ParsedOutput out;
  for (const parley::OutputEvent& e : whole) {
    if (e.kind == Kind::kToolCallStart) {
      expect(o.parse_tools && e.index == started++ && !e.text.empty());
    } else if (e.kind == Kind::kToolCallArguments) {
      expect(e.index == started - 1);
    }
    out.apply(e);
  }
  if (o.hold_calls) {
    for (const parley::ParsedToolCall& c : out.tool_calls) expect(parley::is_json_value(c.arguments));
  }
  const std::size_t k = std::min(split_at * text.size() / 255, text.size());
  expect(same(whole, run(o, {text.substr(0, k), text.substr(k)})));
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < text.size(); ++i) bytes.push_back(text.substr(i, 1));
  expect(same(whole, run(o, bytes)));
  return 0;
}
