// Structured output: a request's response_format as a grammar for the engine.
//
//   text (or none)  -> no grammar
//   json_object     -> any JSON object (grammar/json_schema.h: json_object_grammar)
//   json_schema     -> a JSON value valid against json_schema.schema (any JSON object when the
//                      schema is absent); `strict` makes unsupported keywords errors
//
// Compiled with the served model's GrammarCompiler, on the caller's thread: the gateway calls it
// from the request pool (never the engine thread). The compiler's cache makes a repeated format
// free. A schema the compiler refuses is kInvalidArgument with param "response_format" and a
// message naming the JSON pointer of the offending keyword, e.g. "/properties/age/multipleOf".
#pragma once

#include <optional>

#include "api/openai_request.h"
#include "base/result.h"
#include "grammar/grammar_compiler.h"

namespace parley {

// The spec the compiler gets for a format; nullopt for text.
std::optional<GrammarSpec> response_format_spec(const ResponseFormat& format);

// The grammar for a request's response_format: nullptr when unconstrained.
Result<CompiledGrammarPtr> response_format_grammar(GrammarCompiler& compiler,
                                                   const std::optional<ResponseFormat>& format);

}  // namespace parley
