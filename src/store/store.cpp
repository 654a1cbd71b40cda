// The backend-independent pieces of store.h: names, clocks, key usability, message paths.
#include "store/store.h"

#include <algorithm>
#include <unordered_map>

namespace parley::store {

Time system_now() {
  return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
}

std::string_view user_role_name(UserRole role) {
  return role == UserRole::kAdmin ? "admin" : "user";
}

std::string_view message_role_name(MessageRole role) {
  switch (role) {
    case MessageRole::kSystem:
      return "system";
    case MessageRole::kUser:
      return "user";
    case MessageRole::kAssistant:
      return "assistant";
    case MessageRole::kTool:
      return "tool";
  }
  return "user";
}

std::string_view message_status_name(MessageStatus status) {
  switch (status) {
    case MessageStatus::kComplete:
      return "complete";
    case MessageStatus::kStreaming:
      return "streaming";
    case MessageStatus::kStopped:
      return "stopped";
    case MessageStatus::kFiltered:
      return "filtered";
    case MessageStatus::kError:
      return "error";
    case MessageStatus::kInterrupted:
      return "interrupted";
  }
  return "complete";
}

MessageStatus parse_message_status(std::string_view name) {
  for (const MessageStatus s : {MessageStatus::kStreaming, MessageStatus::kStopped, MessageStatus::kFiltered,
                                MessageStatus::kError, MessageStatus::kInterrupted}) {
    if (message_status_name(s) == name) return s;
  }
  return MessageStatus::kComplete;
}

bool ApiKey::usable_at(Time now) const {
  if (revoked_at.has_value()) return false;
  return !expires_at.has_value() || now < *expires_at;
}

Result<std::vector<Message>> message_path(const MessageTree& tree, std::string_view leaf_id) {
  if (leaf_id.empty()) leaf_id = tree.conversation.current_leaf_id;
  std::vector<Message> path;
  if (leaf_id.empty()) return path;
  std::unordered_map<std::string_view, const Message*> by_id;
  by_id.reserve(tree.messages.size());
  for (const Message& m : tree.messages) by_id.emplace(m.id, &m);
  auto it = by_id.find(leaf_id);
  if (it == by_id.end()) return not_found_error("message {} is not in conversation {}", leaf_id, tree.conversation.id);
  // Parents precede children (by seq), so a walk up ends; the bound guards a corrupt tree.
  for (const Message* m = it->second; m != nullptr && path.size() <= tree.messages.size();) {
    path.push_back(*m);
    if (m->parent_id.empty()) break;
    auto p = by_id.find(m->parent_id);
    if (p == by_id.end()) return data_loss_error("message {} has a parent outside its conversation", m->id);
    m = p->second;
  }
  std::reverse(path.begin(), path.end());
  return path;
}

}  // namespace parley::store
