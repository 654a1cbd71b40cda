#include "policy/output_filter.h"

#include <algorithm>

#include "base/utf8.h"

namespace parley::policy {
namespace {

constexpr std::string_view kPemEnd = "-----END ";
constexpr std::size_t kPemEndLineMax = 80;  // "-----END ENCRYPTED PRIVATE KEY-----" and room

// Moves `pos` back to the start of the UTF-8 character it is inside (bytes before base are gone).
std::uint64_t char_start(std::string_view buf, std::uint64_t base, std::uint64_t pos) {
  while (pos > base && pos - base < buf.size() && (static_cast<unsigned char>(buf[pos - base]) & 0xC0) == 0x80) --pos;
  return pos;
}

}  // namespace

OutputFilter::OutputFilter(std::shared_ptr<const Policy> policy, Role role, std::string model)
    : policy_(std::move(policy)), role_(role), model_(std::move(model)) {
  bounds_ = policy_->stream_bounds(Stage::kOutput, role_, model_);
}

OutputFilter::State OutputFilter::feed(std::string_view piece, std::string* emit) {
  if (blocked_) return State::kBlocked;
  buf_.append(piece);
  received_ += piece.size();
  return process(false, emit);
}

OutputFilter::State OutputFilter::finish(std::string* emit) {
  if (blocked_) return State::kBlocked;
  return process(true, emit);
}

void OutputFilter::release(std::uint64_t upto, std::string* emit) {
  if (upto <= emitted_) return;
  emit->append(at(emitted_, upto));
  emitted_ = upto;
}

// Inside a private key block being masked: skips to just after its END line. False while the END
// line has not arrived: everything is consumed but what could be the start of it.
bool OutputFilter::skip_private_key(bool final) {
  for (;;) {
    const std::string_view rest = at(emitted_, received_);
    const std::size_t end = rest.find(kPemEnd);
    if (end == std::string_view::npos) {
      const std::size_t keep = final ? 0 : std::min(rest.size(), kPemEnd.size() - 1);
      emitted_ = received_ - keep;
      return false;
    }
    const std::size_t dashes = rest.find("-----", end + kPemEnd.size());
    if (dashes != std::string_view::npos && dashes - end <= kPemEndLineMax) {
      emitted_ += dashes + 5;
      in_private_key_ = false;
      return true;
    }
    if (dashes == std::string_view::npos && !final && rest.size() - end <= kPemEndLineMax) {
      emitted_ += end;  // wait for the rest of the END line
      return false;
    }
    emitted_ += end + 1;  // not an END line after all: look further
  }
}

OutputFilter::State OutputFilter::process(bool final, std::string* emit) {
  if (in_private_key_ && !skip_private_key(final)) {
    trim();
    return State::kOpen;
  }
  if (!bounds_.any) {
    release(received_, emit);
    trim();
    return State::kOpen;
  }
  std::uint64_t complete = received_;
  if (!final) complete -= utf8_incomplete_suffix_length(at(emitted_, received_));
  const std::uint64_t window_begin =
      char_start(buf_, base_, emitted_ > base_ + bounds_.context_bytes ? emitted_ - bounds_.context_bytes : base_);
  const std::string_view window = at(window_begin, complete);
  const std::size_t from = emitted_ - window_begin;
  std::uint64_t safe = complete;
  if (final) {
    policy_->evaluate_from(Stage::kOutput, role_, model_, window, from, &scratch_, &verdict_);
  } else {
    std::size_t hold = window.size();
    policy_->evaluate_partial(Stage::kOutput, role_, model_, window, from, &scratch_, &verdict_, &hold);
    safe = std::max<std::uint64_t>(emitted_, window_begin + hold);
  }
  for (Match m : verdict_.matches) {
    m.span.begin += static_cast<std::uint32_t>(window_begin);
    m.span.end += static_cast<std::uint32_t>(window_begin);
    if (m.span.begin < emitted_ && m.action != Action::kBlock) continue;  // inside a masked span
    matches_.push_back(m);
    action_ = std::max(action_, m.action);
    if (m.action == Action::kBlock) {
      release(std::max<std::uint64_t>(m.span.begin, emitted_), emit);
      blocked_ = true;
      cut_ = emitted_;
      return State::kBlocked;
    }
    if (m.action != Action::kRedact) continue;
    release(m.span.begin, emit);
    *emit += "[redacted:";
    *emit += m.label;
    *emit += ']';
    if (m.open_ended) {
      emitted_ = m.span.begin;
      in_private_key_ = true;
      skip_private_key(final);
      if (in_private_key_) {
        trim();
        return State::kOpen;
      }
    } else {
      emitted_ = std::max<std::uint64_t>(emitted_, m.span.end);
    }
  }
  release(std::max(safe, emitted_), emit);
  if (received_ - emitted_ > policy_->config().max_stream_holdback_bytes) {
    blocked_ = true;
    cut_ = emitted_;
    return State::kBlocked;
  }
  trim();
  return State::kOpen;
}

// Drops what is before the emitted point and its context, so a long reply keeps a small buffer.
void OutputFilter::trim() {
  const std::uint64_t keep_from = emitted_ > bounds_.context_bytes + 64 ? emitted_ - bounds_.context_bytes - 64 : 0;
  if (keep_from <= base_ || keep_from - base_ < 4096) return;
  buf_.erase(0, keep_from - base_);
  base_ = keep_from;
}

}  // namespace parley::policy
