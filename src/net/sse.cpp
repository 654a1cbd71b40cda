#include "net/sse.h"

#include <charconv>

namespace parley {

namespace {

// Appends `text` with line breaks removed: a field value that must stay on one line.
void append_single_line(std::string& out, std::string_view text) {
  for (char c : text) {
    if (c != '\r' && c != '\n') out.push_back(c);
  }
}

}  // namespace

std::string format_sse_event(std::string_view data, std::string_view event, std::string_view id) {
  std::string out;
  out.reserve(data.size() + event.size() + id.size() + 24);
  if (!event.empty()) {
    out += "event: ";
    append_single_line(out, event);
    out += '\n';
  }
  if (!id.empty()) {
    out += "id: ";
    append_single_line(out, id);
    out += '\n';
  }
  // Every line of data gets its own "data:" field; the parser joins them back with '\n'.
  std::size_t start = 0;
  while (true) {
    const std::size_t brk = data.find_first_of("\r\n", start);
    out += "data: ";
    out.append(data.substr(start, brk == std::string_view::npos ? std::string_view::npos : brk - start));
    out += '\n';
    if (brk == std::string_view::npos) break;
    start = brk + 1;
    if (data[brk] == '\r' && start < data.size() && data[start] == '\n') ++start;
  }
  out += '\n';
  return out;
}

std::string format_sse_comment(std::string_view text) {
  std::string out = ": ";
  append_single_line(out, text);
  out += "\n\n";
  return out;
}

Status SseParser::feed(std::string_view bytes, const std::function<void(SseEvent)>& on_event) {
  RETURN_IF_ERROR(failed_);
  if (!started_) {
    // The BOM may itself arrive split; wait until three bytes decide.
    static constexpr std::string_view kBom = "\xEF\xBB\xBF";
    line_.append(bytes);
    if (line_.size() < kBom.size() && kBom.substr(0, line_.size()) == line_) return ok_status();
    started_ = true;
    std::string pending = std::move(line_);
    line_.clear();
    std::string_view rest = pending;
    if (rest.substr(0, kBom.size()) == kBom) rest.remove_prefix(kBom.size());
    return feed(rest, on_event);
  }
  if (bytes.empty()) return ok_status();
  std::size_t pos = 0;
  if (after_cr_ && !bytes.empty() && bytes.front() == '\n') pos = 1;  // the LF of a split CRLF
  after_cr_ = false;
  while (pos < bytes.size()) {
    const std::size_t brk = bytes.find_first_of("\r\n", pos);
    if (brk == std::string_view::npos) {
      line_.append(bytes.substr(pos));
      break;
    }
    std::string_view line = bytes.substr(pos, brk - pos);
    if (!line_.empty()) {
      line_.append(line);
      line = line_;
    }
    // The same bound as on an unfinished line below (what is held: the event's data and the
    // line), so that where the network splits the stream does not decide whether it is refused.
    if (line.size() + data_.size() > max_event_bytes_) {
      failed_ = resource_exhausted_error("server-sent event larger than {} bytes", max_event_bytes_);
      return failed_;
    }
    process_line(line, on_event);
    line_.clear();
    pos = brk + 1;
    if (bytes[brk] == '\r') {
      if (pos < bytes.size() && bytes[pos] == '\n') {
        ++pos;
      } else if (pos == bytes.size()) {
        after_cr_ = true;
      }
    }
    RETURN_IF_ERROR(failed_);
  }
  if (line_.size() + data_.size() > max_event_bytes_) {
    failed_ = resource_exhausted_error("server-sent event larger than {} bytes", max_event_bytes_);
  }
  return failed_;
}

Result<std::vector<SseEvent>> SseParser::feed(std::string_view bytes) {
  std::vector<SseEvent> events;
  RETURN_IF_ERROR(feed(bytes, [&](SseEvent e) { events.push_back(std::move(e)); }));
  return events;
}

void SseParser::process_line(std::string_view line, const std::function<void(SseEvent)>& on_event) {
  if (line.empty()) {
    // A blank line dispatches the event being built; one without data is dropped.
    if (!data_.empty()) {
      data_.pop_back();  // the '\n' after the last data line
      SseEvent event;
      if (!event_.empty()) event.event = std::move(event_);
      event.data = std::move(data_);
      event.id = last_id_;
      on_event(std::move(event));
    }
    data_.clear();
    event_.clear();
    return;
  }
  if (line.front() == ':') return;  // comment
  const std::size_t colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (data_.size() + value.size() + 1 > max_event_bytes_) {
      failed_ = resource_exhausted_error("server-sent event larger than {} bytes", max_event_bytes_);
      return;
    }
    data_.append(value);
    data_.push_back('\n');
  } else if (field == "event") {
    event_ = std::string(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) last_id_ = std::string(value);
  } else if (field == "retry") {
    long long ms = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
    if (ec == std::errc() && end == value.data() + value.size() && !value.empty() && value.front() != '-') {
      retry_ms_ = ms;
    }
  }
}

}  // namespace parley
