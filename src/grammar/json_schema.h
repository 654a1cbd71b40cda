// JSON Schema -> Grammar: the text a model writes is a JSON value valid against the schema.
// docs/grammar.md lists the supported keywords, what is approximated and what is refused.
//
// In short: type (and lists of types, and OpenAPI's nullable), properties / required /
// additionalProperties, enum / const, anyOf / oneOf (oneOf is compiled as anyOf), allOf (merged
// key by key), $ref to the document's $defs / definitions (any JSON pointer within the document,
// recursion included), items / prefixItems (and draft-7 array items with additionalItems),
// minItems / maxItems, string minLength / maxLength / pattern (regex subset of grammar/regex.h) /
// format (date, time, date-time, uuid, email, ipv4), number and integer minimum / maximum /
// exclusiveMinimum / exclusiveMaximum. Annotations (title, description, default, examples, ...)
// are ignored. Any other keyword is unsupported: with `strict` it is an error naming it, without,
// it is ignored (the output may then not satisfy it).
//
// Shape of the output: properties in the schema's order (optional ones may be left out; extra
// properties, where allowed, come last, with plain names other than the declared ones); an object
// schema that declares properties but not additionalProperties allows no others (as OpenAI's
// strict mode requires). Whitespace is compact, or (kFlexible) optional where pretty-printers put
// it: after { [ , : and before } ], each time nothing, one space, or a newline and up to
// max_indent spaces or tabs; never unbounded, so a model cannot spin in whitespace.
//
// Errors are kInvalidArgument with the detail "param" set to the JSON pointer of the offending
// place in the schema (e.g. "/properties/age/multipleOf"), so the API can name it.
#pragma once

#include <memory>
#include <string_view>

#include "base/result.h"
#include "grammar/grammar.h"
#include "grammar/grammar_limits.h"
#include "grammar/grammar_spec.h"

namespace parley {

// Adds JSON values to a grammar; several schemas can share one grammar (a tool-call grammar
// embeds each tool's parameters). Shared rules (strings, any value) are created once.
class JsonGrammarBuilder {
 public:
  JsonGrammarBuilder(Grammar& grammar, const JsonSchemaOptions& options, const GrammarLimits& limits);
  ~JsonGrammarBuilder();
  JsonGrammarBuilder(const JsonGrammarBuilder&) = delete;
  JsonGrammarBuilder& operator=(const JsonGrammarBuilder&) = delete;

  // A JSON value valid against `schema_json` (the schema as JSON text).
  Result<ExprId> schema(std::string_view schema_json);
  // Any JSON value; any JSON object.
  ExprId any_value();
  ExprId any_object();
  // Optional whitespace per the options.
  ExprId ws();
  // The JSON string literal whose content is `text` (escaped as JSON requires).
  ExprId string_literal(std::string_view text);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The grammar of JSON values valid against the schema.
Result<Grammar> json_schema_grammar(std::string_view schema_json, const JsonSchemaOptions& options = {},
                                    const GrammarLimits& limits = {});
// The grammar of any JSON object (OpenAI's json_object response format).
Grammar json_object_grammar(const JsonSchemaOptions& options = {});

}  // namespace parley
