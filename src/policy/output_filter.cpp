#include "policy/output_filter.h"

#include <algorithm>

#include "base/utf8.h"

namespace parley::policy {
namespace {

constexpr std::string_view kPemEnd = "-----END ";
constexpr std::string_view kPemBegin = "-----BEGIN ";

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
    if (dashes == std::string_view::npos && !final && rest.size() - end < kPemEndLineMax + 5) {
      emitted_ += end;  // wait for the rest of the END line
      return false;
    }
    emitted_ += end + 1;  // not an END line after all: look further
  }
}

OutputFilter::State OutputFilter::process(bool final, std::string* emit) {
  bool rescan = true;
  State state = State::kOpen;
  while (rescan && state == State::kOpen) {
    rescan = false;
    state = scan(final, emit, &rescan);
  }
  return state;
}

OutputFilter::State OutputFilter::scan(bool final, std::string* emit, bool* rescan) {
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
  if (apply_matches(window_begin, final, &safe, emit, rescan) == State::kBlocked) return State::kBlocked;
  if (in_private_key_ || *rescan) {
    trim();
    return State::kOpen;
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

// Applies the final matches of verdict_ in order, as redact() does on the whole text: the
// spans of overlapping redactions merge (a redaction that more text could still extend waits:
// *safe moves back to its start), and nothing from the first block on is shown.
OutputFilter::State OutputFilter::apply_matches(std::uint64_t window_begin, bool final, std::uint64_t* safe,
                                                std::string* emit, bool* rescan) {
  std::vector<Match>& ms = verdict_.matches;
  for (Match& m : ms) {
    m.span.begin += static_cast<std::uint32_t>(window_begin);
    m.span.end += static_cast<std::uint32_t>(window_begin);
  }
  const auto block = std::find_if(ms.begin(), ms.end(), [](const Match& m) { return m.action == Action::kBlock; });
  const std::uint64_t block_at = block == ms.end() ? UINT64_MAX : block->span.begin;
  for (std::size_t i = 0; i < ms.size() && ms[i].span.begin < block_at; ++i) {
    const Match& m = ms[i];
    if (m.action != Action::kRedact || m.span.begin < emitted_) {
      matches_.push_back(m);
      action_ = std::max(action_, m.action);
      continue;
    }
    std::uint64_t end = m.span.end;
    std::uint64_t open_from = m.open_ended ? m.span.begin : UINT64_MAX;  // masked to the END line from here
    std::size_t last = i;
    for (std::size_t j = i + 1; j < ms.size() && ms[j].span.begin < end && ms[j].span.begin < block_at; ++j) {
      if (ms[j].action == Action::kRedact) {
        if (ms[j].open_ended) open_from = std::min<std::uint64_t>(open_from, ms[j].span.begin);
        end = std::max<std::uint64_t>(end, ms[j].span.end);
      }
      last = j;
    }
    if (!final && open_from == UINT64_MAX && end > *safe && block_at == UINT64_MAX) {
      *safe = std::min(*safe, static_cast<std::uint64_t>(m.span.begin));  // may grow yet: wait for it
      break;
    }
    release(m.span.begin, emit);
    *emit += "[redacted:";
    *emit += m.label;
    *emit += ']';
    if (open_from != UINT64_MAX) {
      emitted_ = std::max(emitted_, open_from);
      // The END line is looked for after the BEGIN line, as the whole-text detector does: a BEGIN
      // line whose dashes run on into "---END ..." does not end there (private_key_block_end).
      const std::string_view header = at(emitted_, received_);
      if (header.starts_with(kPemBegin)) {
        const std::size_t close = header.find("-----", kPemBegin.size());
        if (close != std::string_view::npos) emitted_ += close + 5;
      }
      in_private_key_ = true;
      const bool closed = skip_private_key(final);
      // The group ran to the window's end (the block had no END line in it); with the END line
      // found now, the matches after it belong to the next scan, which sees them whole.
      for (std::size_t j = i; j <= last && (!closed || ms[j].span.begin < emitted_); ++j) {
        matches_.push_back(ms[j]);
        action_ = std::max(action_, ms[j].action);
      }
      if (closed) *rescan = true;
      return State::kOpen;
    }
    for (std::size_t j = i; j <= last; ++j) {
      matches_.push_back(ms[j]);
      action_ = std::max(action_, ms[j].action);
    }
    emitted_ = std::min(std::max<std::uint64_t>(emitted_, end), block_at);
    i = last;
  }
  if (block == ms.end()) return State::kOpen;
  matches_.push_back(*block);
  action_ = Action::kBlock;
  release(std::max<std::uint64_t>(block_at, emitted_), emit);
  blocked_ = true;
  cut_ = block_at;
  return State::kBlocked;
}

// Drops what is before the emitted point and its context, so a long reply keeps a small buffer.
void OutputFilter::trim() {
  const std::uint64_t keep_from = emitted_ > bounds_.context_bytes + 64 ? emitted_ - bounds_.context_bytes - 64 : 0;
  if (keep_from <= base_ || keep_from - base_ < 4096) return;
  buf_.erase(0, keep_from - base_);
  base_ = keep_from;
}

}  // namespace parley::policy
