#include "chat/prompt_mask.h"

#include <string_view>
#include <vector>

namespace parley::chat {
namespace {

void collect_strings(const Value& v, std::vector<std::string_view>* out) {
  switch (v.kind()) {
    case ValueKind::kString:
      out->push_back(v.str());
      return;
    case ValueKind::kList:
      for (const Value& item : v.items()) collect_strings(item, out);
      return;
    case ValueKind::kDict:
      for (const auto& [key, value] : v.dict().entries()) {
        collect_strings(key, out);
        collect_strings(value, out);
      }
      return;
    default:
      return;
  }
}

// `v` with its strings masked; *changed tells whether any was.
Result<Value> masked(const Value& v, ContentMask& mask, bool* changed) {
  *changed = false;
  switch (v.kind()) {
    case ValueKind::kString: {
      std::string out;
      ASSIGN_OR_RETURN(*changed, mask.mask(v.str(), &out));
      return *changed ? Value(std::move(out)).with_flags(v.flags()) : v;
    }
    case ValueKind::kList: {
      std::vector<Value> items;
      items.reserve(v.items().size());
      for (const Value& item : v.items()) {
        bool c = false;
        ASSIGN_OR_RETURN(Value m, masked(item, mask, &c));
        *changed = *changed || c;
        items.push_back(std::move(m));
      }
      return *changed ? Value::list(std::move(items)).with_flags(v.flags()) : v;
    }
    case ValueKind::kDict: {
      Dict d;
      for (const auto& [key, value] : v.dict().entries()) {
        bool ck = false;
        bool cv = false;
        ASSIGN_OR_RETURN(Value k, masked(key, mask, &ck));
        ASSIGN_OR_RETURN(Value m, masked(value, mask, &cv));
        *changed = *changed || ck || cv;
        d.set(std::move(k), std::move(m));
      }
      return *changed ? Value::dict(std::move(d)).with_flags(v.flags()) : v;
    }
    default:
      return v;
  }
}

Status mask_in_place(Value* v, ContentMask& mask) {
  bool changed = false;
  ASSIGN_OR_RETURN(Value m, masked(*v, mask, &changed));
  if (changed) *v = std::move(m);
  return ok_status();
}

}  // namespace

Result<ContentMask> mask_request_strings(const Tokenizer& tokenizer, const ChatTemplate& tmpl, ChatInput* input) {
  std::vector<std::string_view> inputs{tmpl.source(), input->bos_token, input->eos_token};
  collect_strings(input->messages, &inputs);
  collect_strings(input->tools, &inputs);
  for (const auto& [name, value] : input->extra) collect_strings(value, &inputs);
  ContentMask mask = ContentMask::create(tokenizer, inputs);
  RETURN_IF_ERROR(mask_in_place(&input->messages, mask));
  RETURN_IF_ERROR(mask_in_place(&input->tools, mask));
  for (auto& [name, value] : input->extra) RETURN_IF_ERROR(mask_in_place(&value, mask));
  return mask;
}

}  // namespace parley::chat
