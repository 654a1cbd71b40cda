// Runs Jinja2 (python3 + jinja2, configured as Hugging Face does) on a batch of template/context
// pairs through tests/chat/jinja_reference.py, so tests can compare our renderer with the real
// thing at test time.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "chat/value.h"

namespace parley::chat::testing {

struct ReferenceCase {
  std::string source;
  std::vector<std::pair<std::string, Value>> context;  // JSON-serialisable values only
};

struct ReferenceResult {
  bool ok = false;
  std::string output;  // when ok
  std::string error;   // when not: "ExceptionType: message"
};

struct ReferenceRun {
  std::string jinja2_version;
  std::vector<ReferenceResult> results;
};

// The fixed "now" both renderers use: 2024-09-03 10:30:00.
std::tm fixed_now();

// nullopt (with the reason in *why) when python3 or jinja2 is not available.
std::optional<ReferenceRun> run_jinja_reference(const std::vector<ReferenceCase>& cases, std::string* why);

}  // namespace parley::chat::testing
