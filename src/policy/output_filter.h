// OutputFilter: the output rules applied to a reply while it streams.
//
// The gateway feeds the reply as it is detokenized, in pieces of any size (a piece may end inside
// a UTF-8 character); each call appends to *emit what may be shown now. The filter holds back
// only what a match could still need: the tail of the text that is the start of some phrase
// (the phrase automaton's state), of some regex or detector match (PCRE2 partial matching,
// at most the rule's max_match_bytes), and an incomplete UTF-8 character. So a blocked phrase
// split across pieces is never emitted, not even its first byte, and text that cannot begin a
// match is released at once.
//
//   block   the text before the match is emitted, feed() returns kBlocked and cut() is the
//           match's byte offset in the reply; nothing more is ever emitted
//   redact  the match is emitted as "[redacted:<label>]"; a private key block without its END
//           line is masked up to the END line, or to the end of the reply
//   flag    recorded in matches(), the text is emitted as it is
//
// finish() ends the reply: everything held back is decided and released. A reply that makes the
// filter hold back more than max_stream_holdback_bytes (which text of real matches cannot do;
// thousands of zero-width characters inside a phrase could) is cut there, as a block.
//
// Thread safety: one filter per reply, used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/policy.h"

namespace parley::policy {

class OutputFilter {
 public:
  enum class State { kOpen, kBlocked };

  OutputFilter(std::shared_ptr<const Policy> policy, Role role, std::string model);

  State feed(std::string_view piece, std::string* emit);
  State finish(std::string* emit);

  State state() const { return blocked_ ? State::kBlocked : State::kOpen; }
  std::optional<std::uint64_t> cut() const { return cut_; }  // when blocked: reply offset of the match
  Action action() const { return action_; }                  // the most severe match so far
  // Every match so far, spans as byte offsets in the reply (not the emitted text).
  const std::vector<Match>& matches() const { return matches_; }
  std::uint64_t held_bytes() const { return received_ - emitted_; }

 private:
  State process(bool final, std::string* emit);
  bool skip_private_key(bool final);
  // *rescan: a private key block's END line was found while applying: the matches after it came
  // from a window that ran into the block, so the caller evaluates again from after the END line.
  State apply_matches(std::uint64_t window_begin, bool final, std::uint64_t* safe, std::string* emit, bool* rescan);
  State scan(bool final, std::string* emit, bool* rescan);
  void release(std::uint64_t upto, std::string* emit);
  void trim();
  std::string_view at(std::uint64_t begin, std::uint64_t end) const {
    return std::string_view(buf_).substr(begin - base_, end - begin);
  }

  std::shared_ptr<const Policy> policy_;
  Role role_;
  std::string model_;
  StreamBounds bounds_;
  PolicyScratch scratch_;
  Verdict verdict_;
  std::string buf_;              // the reply from base_ on: context, then what is not emitted yet
  std::uint64_t base_ = 0;       // reply offset of buf_[0]
  std::uint64_t emitted_ = 0;    // reply offset up to which text is decided (shown, masked or cut)
  std::uint64_t received_ = 0;   // reply bytes fed so far
  bool in_private_key_ = false;  // masking a private key block until its END line
  bool blocked_ = false;
  std::optional<std::uint64_t> cut_;
  Action action_ = Action::kNone;
  std::vector<Match> matches_;
};

}  // namespace parley::policy
