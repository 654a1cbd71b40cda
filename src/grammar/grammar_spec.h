// GrammarSpec: a constraint on the output as the API states it (a JSON Schema, any JSON object,
// a regex, a list of choices, a GBNF grammar), independent of any vocabulary. The gateway builds
// one from a request; GrammarCompiler (grammar/grammar_compiler.h) compiles it for a vocabulary;
// a remote worker gets it over the wire (router/worker_protocol.h) and compiles it for its own.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace parley {

enum class JsonWhitespace { kCompact, kFlexible };

struct JsonSchemaOptions {
  bool strict = false;
  JsonWhitespace whitespace = JsonWhitespace::kFlexible;
  std::int32_t max_indent = 20;  // kFlexible: spaces or tabs after a newline
};

enum class GrammarKind { kJsonSchema, kJsonObject, kRegex, kChoice, kGbnf };

struct GrammarSpec {
  GrammarKind kind = GrammarKind::kJsonObject;
  std::string text;                  // kJsonSchema: the schema (JSON); kRegex: the pattern; kGbnf: the grammar
  std::vector<std::string> choices;  // kChoice: the output is exactly one of these strings
  JsonSchemaOptions json;            // kJsonSchema, kJsonObject

  // Identifies the spec (kind, text, choices, options) for the cache.
  std::string cache_key() const;
};

}  // namespace parley
