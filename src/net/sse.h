// Server-Sent Events (the text/event-stream format of the WHATWG HTML standard): framing for the
// server side and an incremental parser for the client side.
//
// Server:  responder->write(format_sse_event(json));          // "data: {...}\n\n"
// Client:  SseParser parser;
//          HttpClient::stream(..., on_data = [&](std::string_view bytes) {
//            return parser.feed(bytes, [&](SseEvent e) { ... }).ok();
//          });
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace parley {

struct SseEvent {
  std::string event = "message";  // the "event:" field; "message" when absent
  std::string data;               // "data:" lines joined with '\n'
  std::string id;                 // the last "id:" seen on the stream so far (it persists)
};

// One event as wire text: optional "event:" and "id:" lines, one "data:" line per line of
// `data` (CR, LF and CRLF all split), then the blank line that dispatches it. `event` and `id`
// must not contain line breaks (they are dropped from them).
std::string format_sse_event(std::string_view data, std::string_view event = {}, std::string_view id = {});

// A comment line (": keep-alive\n\n"-style heartbeat, ignored by parsers), kept intact as one line.
std::string format_sse_comment(std::string_view text);

// Incremental parser: bytes in, whole events out, whatever the bytes' split. Lines end with LF,
// CR or CRLF (even split across feeds); a UTF-8 BOM at the start is skipped; comments and
// unknown fields are ignored; an event with no data is not dispatched (per the standard);
// an unfinished event at end of stream is dropped. Not thread-safe.
class SseParser {
 public:
  // An event growing beyond `max_event_bytes` (its data so far plus the line being read, whatever
  // that line is) is an error: kResourceExhausted.
  explicit SseParser(std::size_t max_event_bytes = 16 * 1024 * 1024) : max_event_bytes_(max_event_bytes) {}

  // Calls `on_event` for each event completed by `bytes`. After an error the parser stays failed.
  Status feed(std::string_view bytes, const std::function<void(SseEvent)>& on_event);
  // The same, collecting the events.
  Result<std::vector<SseEvent>> feed(std::string_view bytes);

  // The "retry:" reconnection time in milliseconds, -1 if none was sent.
  long long retry_ms() const { return retry_ms_; }

 private:
  void process_line(std::string_view line, const std::function<void(SseEvent)>& on_event);

  std::size_t max_event_bytes_;
  Status failed_;
  std::string line_;  // the unfinished line
  std::string data_;  // data of the event being built, each line followed by '\n'
  std::string event_;
  std::string last_id_;
  long long retry_ms_ = -1;
  bool after_cr_ = false;  // the previous byte was CR: a following LF belongs to it
  bool started_ = false;   // past the optional BOM
};

}  // namespace parley
