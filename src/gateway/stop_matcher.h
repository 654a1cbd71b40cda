// StopMatcher: finds stop strings in streamed text across token boundaries. Text is fed as it is
// detokenized; what comes back is safe to show: it never contains a stop string, and text that
// could still turn out to be the beginning of one is held back until it cannot. Once a stop
// string is found, everything from its start on is dropped.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace parley {

class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops);

  // Adds text; returns the part that may be emitted now. After a stop, returns "".
  std::string feed(std::string_view text);
  // At the end of generation: whatever was held back (nothing after a stop).
  std::string flush();
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::size_t max_len_ = 0;
  std::string pending_;
  bool stopped_ = false;
};

}  // namespace parley
