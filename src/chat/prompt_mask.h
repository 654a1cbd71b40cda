// Masking the request's strings before a chat template renders them, so that control-token text
// in messages and tools stays plain text (tokenizer/content_mask.h explains the mechanism):
//
//   ContentMask mask = mask_request_strings(tokenizer, tmpl, &input)   // before render
//   prompt = tmpl.render(input)
//   tokenizer.encode(prompt, {.parse_special = true, .content_mask = &mask})
//
// Masked are all strings of the messages, the tools and the extra variables, at any depth
// (roles, names, contents, tool-call ids and arguments, tool schemas), dict keys included.
// bos_token and eos_token are the template's own markup and stay as they are.
#pragma once

#include "base/result.h"
#include "chat/chat_template.h"
#include "tokenizer/content_mask.h"
#include "tokenizer/tokenizer.h"

namespace parley::chat {

// Replaces input's request strings by their masked forms (unchanged strings, and the values
// holding only such strings, are kept as they are) and returns the mask. kInvalidArgument when
// the request uses every placeholder candidate.
Result<ContentMask> mask_request_strings(const Tokenizer& tokenizer, const ChatTemplate& tmpl, ChatInput* input);

}  // namespace parley::chat
