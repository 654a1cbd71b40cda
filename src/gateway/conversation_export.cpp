#include "gateway/conversation_export.h"

namespace parley {
namespace {

constexpr std::size_t kMaxFileStemChars = 100;

std::string_view role_heading(store::MessageRole role) {
  switch (role) {
    case store::MessageRole::kSystem:
      return "**System**";
    case store::MessageRole::kUser:
      return "**User**";
    case store::MessageRole::kAssistant:
      return "**Assistant**";
    case store::MessageRole::kTool:
      return "**Tool**";
  }
  return "**User**";
}

bool file_name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == ' ' || c == '-';
}

}  // namespace

std::string export_markdown(std::string_view title, const std::vector<store::Message>& path) {
  std::string out = "# ";
  std::string heading(title);
  for (char& c : heading) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  out += heading.find_first_not_of(' ') == std::string::npos ? "Conversation" : heading;
  out += "\n";
  for (const store::Message& m : path) {
    out += "\n";
    out += role_heading(m.role);
    if (m.role == store::MessageRole::kAssistant && !m.model.empty()) out += " (" + m.model + ")";
    out += "\n\n";
    out += m.content;
    if (!m.content.empty() && m.content.back() != '\n') out += "\n";
    // A reply that did not end normally says so (the JSON export has its `status`).
    if (m.status == store::MessageStatus::kInterrupted || m.status == store::MessageStatus::kStreaming) {
      out += "\n*(interrupted: this reply was cut short)*\n";
    }
  }
  return out;
}

std::string export_file_name(std::string_view title, std::string_view extension) {
  std::string stem;
  for (const char c : title) {
    if (!file_name_char(c)) continue;  // bytes of other characters too (every UTF-8 byte of them is >= 0x80)
    if (c == ' ' && (stem.empty() || stem.back() == ' ')) continue;
    stem += c;
    if (stem.size() == kMaxFileStemChars) break;
  }
  while (!stem.empty() && (stem.back() == ' ' || stem.back() == '.')) stem.pop_back();
  while (!stem.empty() && (stem.front() == '.' || stem.front() == ' ')) stem.erase(0, 1);
  if (stem.empty()) stem = "conversation";
  return stem + "." + std::string(extension);
}

}  // namespace parley
