// libFuzzer target for the Server-Sent Events reader of the HTTP client (src/net/sse.h): a remote
// worker's or upstream's stream is untrusted bytes. The first byte picks split points; the rest is
// the stream. Whatever the bytes: no crash; the same events and the same outcome whether the
// bytes come whole, in three pieces or byte by byte (an error may only come earlier or later
// within the same event); no event beyond the size limit; and format_sse_event() text reads back
// as the one event it frames. Build and run it with scripts/fuzz --target sse.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "net/sse.h"

namespace {

constexpr std::size_t kMaxEvent = 512;

void expect(bool cond, const char* what) {
  if (cond) return;
  std::fprintf(stderr, "sse_fuzz: violated: %s\n", what);
  std::abort();
}

struct Outcome {
  std::vector<parley::SseEvent> events;
  bool ok = true;
  long long retry_ms = -1;
};

Outcome run(const std::vector<std::string_view>& pieces) {
  parley::SseParser parser(kMaxEvent);
  Outcome out;
  for (const std::string_view piece : pieces) {
    const parley::Status s = parser.feed(piece, [&](parley::SseEvent e) { out.events.push_back(std::move(e)); });
    if (!s.ok()) {
      expect(s.code() == parley::ErrorCode::kResourceExhausted && !s.message().empty(),
             "errors are kResourceExhausted");
      out.ok = false;
      break;
    }
  }
  out.retry_ms = parser.retry_ms();
  return out;
}

bool same_event(const parley::SseEvent& a, const parley::SseEvent& b) {
  return a.event == b.event && a.data == b.data && a.id == b.id;
}

// One outcome's events are a prefix of the other's (a failure may stop one of them earlier).
void expect_consistent(const Outcome& a, const Outcome& b) {
  expect(a.ok == b.ok, "same outcome however split");
  if (a.ok) expect(a.events.size() == b.events.size(), "same events however split");
  const std::size_t n = std::min(a.events.size(), b.events.size());
  for (std::size_t i = 0; i < n; ++i) expect(same_event(a.events[i], b.events[i]), "same events however split");
  if (a.ok) expect(a.retry_ms == b.retry_ms, "same retry however split");
}

std::string normalise_breaks(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      out += '\n';
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1 || size > 8192) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const Outcome whole = run({text});
  for (const parley::SseEvent& e : whole.events) expect(e.data.size() <= kMaxEvent, "events within the limit");

  const std::size_t a = std::min<std::size_t>(data[0] % 16 * text.size() / 16, text.size());
  const std::size_t b = std::min<std::size_t>(a + (data[0] >> 4) * (text.size() - a) / 16, text.size());
  expect_consistent(whole, run({text.substr(0, a), text.substr(a, b - a), text.substr(b)}));
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < text.size(); ++i) bytes.push_back(text.substr(i, 1));
  expect_consistent(whole, run(bytes));

  // What the server side writes reads back as the one event.
  const std::string_view payload = text.substr(0, std::min<std::size_t>(text.size(), kMaxEvent / 2));
  parley::SseParser reader(kMaxEvent);
  const auto back = reader.feed(parley::format_sse_event(payload));
  expect(back.ok() && back->size() == 1 && (*back)[0].data == normalise_breaks(payload), "format_sse_event reads back");
  return 0;
}
